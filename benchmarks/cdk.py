"""AWS CDK (Python) for the benchmark's comparison: its own virtual environment, the app, its input.

CDK is not a dependency of shipspec: the benchmark installs `aws-cdk-lib` (pinned below, the one
place) with pip into a virtual environment of its own under a cache directory, once, and reuses it.
CDK's Python library drives the jsii runtime on Node.js, so `node` (18 or later) must be on PATH.
Whatever is missing, `prepare` says why and the benchmark reports the CDK rows as skipped.

The app (`benchmarks/cdk_app.py`) synthesises one stack per (service, environment) pair of the
benchmark's own synthetic fleet (`benchmarks/fleet.py`): `pairs` reads the same specs and derives
each pair's parameters, the way shipspec's `_defaults.yaml` and environment layers would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from benchmarks.fleet import DEFAULTS, spec_text
from benchmarks.proc import Run, run_command

CDK_VERSION = "2.275.0"
PINS = (f"aws-cdk-lib=={CDK_VERSION}", "constructs==10.8.1")
NODE_MIN = 18  # aws-cdk-lib's jsii runtime
INSTALL_TIMEOUT = 1800
APP = Path(__file__).with_name("cdk_app.py")


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shipspec-bench"


@dataclass(frozen=True)
class Cdk:
    """CDK's virtual environment, or why there is none (`skipped`)."""
    python: Path | None
    node: str = ""  # `node --version`
    skipped: str = ""

    def describe(self) -> str:
        return f"skipped: {self.skipped}" if self.skipped else f"aws-cdk-lib {CDK_VERSION} on node {self.node}"


def prepare(cache: Path, log=print) -> Cdk:
    """CDK's venv under `cache` (installed when missing), checked by importing aws_cdk; never raises."""
    node = shutil.which("node")
    if not node:
        return Cdk(None, skipped="node is not on PATH (CDK's Python library runs on Node.js)")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
        major = int(version.lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return Cdk(None, skipped=f"`node --version` failed: {exc}")
    if major < NODE_MIN:
        return Cdk(None, node=version, skipped=f"node {version} is older than {NODE_MIN}, which aws-cdk-lib needs")
    venv = cache / f"cdk-{CDK_VERSION}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = " ".join(PINS) + "\n"
    try:
        if not stamp.is_file() or stamp.read_text(encoding="utf-8") != wanted:
            log(f"installing {' '.join(PINS)} into {venv} (once; a few minutes)")
            cache.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=600)
            subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PINS],
                           check=True, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            stamp.write_text(wanted, encoding="utf-8")
        subprocess.run([str(python), "-c", "import aws_cdk, constructs"], check=True, capture_output=True,
                       text=True, timeout=600, env=synth_env())
    except subprocess.CalledProcessError as exc:
        tail = (exc.stderr or "").strip().splitlines()[-3:] if isinstance(exc.stderr, str) else []
        return Cdk(None, node=version, skipped=f"installing or importing aws-cdk-lib failed: {' | '.join(tail) or exc}")
    except (OSError, subprocess.SubprocessError) as exc:
        return Cdk(None, node=version, skipped=f"installing aws-cdk-lib failed: {exc}")
    return Cdk(python, node=version)


def synth_env() -> dict[str, str]:
    """The environment of a synth: the caller's, without AWS credentials or profiles (a synth with
    explicit accounts and regions needs none) and without our snapshot on PYTHONPATH."""
    drop = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "PYTHONPATH", "PYTHONPYCACHEPREFIX")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update({"JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1", "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
                "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "1", "JSII_DEPRECATED": "quiet",
                "CDK_DISABLE_VERSION_CHECK": "1", "AWS_EC2_METADATA_DISABLED": "true"})
    return env


@dataclass(frozen=True)
class Source:
    name: str
    provider: str
    repository: str
    branch: str
    connection_arn: str = ""
    token_secret: str = ""


@dataclass(frozen=True)
class Pair:
    """One (service, environment) pair's parameters: what one CDK stack is built from."""
    service: str
    env: str
    pipeline: str
    account: str
    region: str
    source: Source
    additional: tuple[Source, ...]
    trigger_paths: tuple[str, ...]
    ecr_repository: str
    keep_images: int
    compute_type: str
    build_args: dict[str, str]
    environment: dict[str, str]
    cluster: str
    approval: bool
    secrets: dict[str, str]
    emails: tuple[str, ...]
    events: tuple[str, ...]
    slack_secret: str
    tags: dict[str, str]


def _source(raw: dict, env_raw: dict, defaults: dict, name: str) -> Source:
    merged = {**defaults, **raw, **env_raw}
    provider = merged.get("provider", "codestar")
    token = merged.get("token_secret") or {}
    return Source(name=name, provider=provider, repository=merged["repository"],
                  branch=str(merged.get("branch") or "main"), connection_arn=merged.get("connection_arn") or "",
                  token_secret=token.get("id", "") if isinstance(token, dict) else str(token))


def pairs(count: int) -> list[Pair]:
    """The first `count` (service, environment) pairs of the benchmark fleet, in fleet order."""
    defaults = yaml.safe_load(DEFAULTS)
    out: list[Pair] = []
    i = 0
    while len(out) < count:
        spec = yaml.safe_load(spec_text(i))
        i += 1
        src, build, svc = spec["source"], spec["build"], spec["service"]
        notify = {**defaults.get("notifications", {}), **spec.get("notifications", {})}
        for env, raw in spec["environments"].items():
            if len(out) == count:
                break
            env_source = raw.get("source") or {}
            main = _source(src, env_source, defaults["source"], "Source")
            extra = tuple(_source({"provider": main.provider, "connection_arn": main.connection_arn, **a},
                                  {}, {}, a["name"]) for a in src.get("additional", []))
            out.append(Pair(
                service=spec["name"], env=env, pipeline=f"{spec['name']}-{env}", account=str(raw["account"]),
                region=raw["region"], source=main, additional=extra,
                trigger_paths=tuple(src.get("trigger_paths", ())), ecr_repository=build["ecr_repository"],
                keep_images=int(build["keep_images"]), compute_type=build["compute_type"],
                build_args={k: str(v) for k, v in build.get("build_args", {}).items()},
                environment={k: str(v) for k, v in svc.get("environment", {}).items()}, cluster=svc["cluster"],
                approval=bool((raw.get("deploy") or {}).get("approval")),
                secrets={k: str(v) for k, v in ((raw.get("service") or {}).get("secrets") or {}).items()},
                emails=tuple(notify.get("emails", ())), events=tuple(notify.get("events", ())),
                slack_secret=notify.get("slack_webhook_secret", ""),
                tags={**defaults.get("tags", {}), **spec.get("tags", {})}))
    return out


def write_app(where: Path, count: int) -> Path:
    """`app.py` and `stacks.json` (the first `count` pairs) in `where`; returns the app."""
    where.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(APP, where / "app.py")
    (where / "stacks.json").write_text(json.dumps([asdict(p) for p in pairs(count)], indent=1) + "\n",
                                       encoding="utf-8")
    return where / "app.py"


def synth(cdk: Cdk, app: Path, timeout: float = 1800) -> Run:
    """One synth of `app` into a fresh `cdk.out` beside it, measured like a shipspec command."""
    assert cdk.python is not None, cdk.skipped
    out = app.parent / "cdk.out"
    shutil.rmtree(out, ignore_errors=True)
    return run_command([str(cdk.python), str(app), str(out)], app.parent, synth_env(), timeout)


def stacks_written(app: Path) -> int:
    """How many stack templates the last synth wrote (a check that it did the work)."""
    return len(list((app.parent / "cdk.out").glob("*.template.json")))
