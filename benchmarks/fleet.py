"""A synthetic but realistic fleet for the benchmark: N service specs in a scratch repository.

Services cycle through every source provider (codestar with trigger paths and additional
sources, github-token, codecommit, s3), 1-3 environments spread over several accounts and
regions, EC2 and FARGATE, approvals, secrets and notifications -- the shapes a media
organisation's repositories have. Deterministic: the same N gives the same files.
"""

from __future__ import annotations

from pathlib import Path

ACCOUNTS = ("111111111111", "222222222222", "333333333333", "444444444444")
REGIONS = ("ap-northeast-1", "us-east-1", "eu-west-1")
ENV_NAMES = ("dev", "stg", "prod")
TEAMS = ("news", "video", "photo", "audio", "live", "ads")

DEFAULTS = """\
# Organisation-wide defaults (synthetic benchmark fleet).
tags:
  owner: platform-team
source:
  provider: codestar
  connection_arn: arn:aws:codeconnections:ap-northeast-1:111111111111:connection/0a1b2c3d-1111-4e5f-8a9b-000000000001
notifications:
  events: [FAILED, SUCCEEDED]
"""


def service_name(i: int) -> str:
    return f"{TEAMS[i % len(TEAMS)]}-svc-{i:04d}"


def environment_count(i: int) -> int:
    return 1 + i % 3


def pair_count(n: int) -> int:
    """(service, environment) pairs of an n-service fleet, without loading it: the benchmark's own
    process stays small (a child's ru_maxrss starts at its parent's resident set on Linux, and a
    large parent makes every spawn slower)."""
    return sum(environment_count(i) for i in range(n))


def _environments(i: int, provider: str) -> list[str]:
    count = environment_count(i)
    lines = ["environments:"]
    for k, env in enumerate(ENV_NAMES[3 - count:]):
        account = ACCOUNTS[(i + k) % len(ACCOUNTS)]
        region = REGIONS[(i // 3 + k) % len(REGIONS)]
        lines += [f"  {env}:", f'    account: "{account}"', f"    region: {region}"]
        if provider == "codestar":
            lines += ["    source:",
                      f"      connection_arn: arn:aws:codeconnections:{region}:{account}:connection/"
                      f"0a1b2c3d-{k}{k}{k}{k}-4e5f-8a9b-00000000000{k}"]
            if env != "prod":
                lines.append("      branch: develop")
        if env == "prod":
            lines += ["    deploy:", "      approval: true"]
        if i % 4 == 0:
            lines += ["    service:", "      secrets:",
                      f"        DB_PASSWORD: arn:aws:secretsmanager:{region}:{account}:secret:{service_name(i)}/db-AbCdEf"]
    return lines


def _source(i: int, name: str, team: str) -> tuple[str, list[str]]:
    provider = ("codestar", "codestar", "github-token", "codecommit", "s3")[i % 5]
    lines = ["source:", f"  provider: {provider}"]
    if provider in ("codestar", "github-token"):
        lines.append(f"  repository: example-corp/{name}")
    elif provider == "codecommit":
        lines += [f"  repository: {name}", "  connection_arn: null"]
    else:
        lines += [f"  repository: example-artifacts-{team}/{name}/source.zip", "  connection_arn: null"]
    if provider == "github-token":
        lines += ["  connection_arn: null", "  branch: master", "  token_secret:", "    id: cicd/github-token"]
    if provider == "codestar" and i % 2 == 0:
        lines.append('  trigger_paths: ["app/**", "Dockerfile", "package.json"]')
    if provider == "codestar" and i % 3 != 2:
        lines += ["  additional:", "    - name: config", f"      repository: example-corp/{team}-config"]
        if i % 3 == 0:
            lines += ["    - name: assets", "      provider: s3",
                      f"      repository: example-artifacts-{team}/{name}/assets.zip"]
    return provider, lines


def spec_text(i: int, revision: int = 0) -> str:
    """Spec number i; a different `revision` changes one value (a one-line edit)."""
    name = service_name(i)
    team = TEAMS[i % len(TEAMS)]
    ec2 = i % 3 == 1
    provider, source = _source(i, name, team)
    lines = [f"# Synthetic service {i} ({provider}).", f"name: {name}",
             f"description: {team} service {i}", "tags:", f"  team: media-{team}", *source,
             "build:", f"  ecr_repository: media/{name}", f"  keep_images: {20 + revision}",
             "  build_args:", "    NODE_ENV: production",
             f"  compute_type: BUILD_GENERAL1_{'MEDIUM' if i % 2 else 'SMALL'}"]
    if i % 5 == 2:
        lines.append("  buildspec: repo")
    lines += ["service:", f"  cluster: media-{team}{'-ec2' if ec2 else ''}", "  container: app",
              f"  launch_type: {'EC2' if ec2 else 'FARGATE'}", "  environment:", "    LOG_LEVEL: info",
              f"    SERVICE_INDEX: \"{i}\""]
    if i % 4 == 1:
        lines += ["  cpu: 512", "  memory: 1024"]
    lines += ["notifications:", "  events: [FAILED, SUCCEEDED]", f"  emails: [{team}-ops@example.com]"]
    if i % 6 == 5:
        lines.append("  slack_webhook_secret: chat/slack-webhook")
    lines += _environments(i, provider)
    return "\n".join(lines) + "\n"


def write_fleet(root: Path, n: int) -> list[Path]:
    """Write services/_defaults.yaml and n specs under root; return the spec paths."""
    services = root / "services"
    services.mkdir(parents=True, exist_ok=True)
    (services / "_defaults.yaml").write_text(DEFAULTS, encoding="utf-8")
    paths = []
    for i in range(n):
        p = services / f"{service_name(i)}.yaml"
        p.write_text(spec_text(i), encoding="utf-8")
        paths.append(p)
    return paths


def touch_spec(root: Path, i: int, revision: int) -> Path:
    """Rewrite spec i with a one-value change."""
    p = root / "services" / f"{service_name(i)}.yaml"
    p.write_text(spec_text(i, revision), encoding="utf-8")
    return p
