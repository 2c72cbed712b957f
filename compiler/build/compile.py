"""From a validated project to the complete set of generated files and stacks (pure)."""

from __future__ import annotations

import functools
from typing import Callable, Iterable

from ..core import jsonfmt
from ..spec import naming
from ..spec.models import ServiceConfig
from .ir import Artifact, BuildOutput, Stack
from .render import cfn

LAMBDA_DIR = "generated/_lambda/notify"
INDEX_PATH = "generated/index.json"


def render_service(c: ServiceConfig, spec_file: str, lambda_key: str) -> tuple[list[Artifact], list[Stack]]:
    """Every file and stack of one service in one environment."""
    from .render import follow_script, notification, pipeline, service_files, stages
    from .render.agent_config import agent_config_artifacts

    d = naming.service_dir(c)
    stacks = naming.stack_names(c)
    env = c.environment
    header = cfn.GENERATED_HEADER.format(source=spec_file)
    files = [
        Artifact(f"{d}/codepipeline.yml", cfn.render_template(pipeline.render_pipeline(c), header)),
        Artifact(f"{d}/codepipeline-status-notification.yml",
                 cfn.render_template(notification.render_notification(c, lambda_key), header)),
        # exactly the text embedded in the CodeBuild projects (buildspec: inline), or what the
        # service repository keeps under codepipeline/ (buildspec: repo)
        Artifact(f"{d}/buildspec.yml", service_files.build_buildspec(c).encode("utf-8")),
        Artifact(f"{d}/updatespec.yml", service_files.update_buildspec(c).encode("utf-8")),
        Artifact(f"{d}/update_taskdefinition.sh", service_files.update_script(c).encode("utf-8")),
        # the Deploy step: follow the rollout UpdateService started (embedded, or codepipeline/ for repo)
        Artifact(f"{d}/{follow_script.DEPLOY_BUILDSPEC}", follow_script.deploy_buildspec(c).encode("utf-8")),
        Artifact(f"{d}/{follow_script.FOLLOW_SCRIPT}", follow_script.follow_script(c).encode("utf-8")),
        # the inline buildspec of each custom stage action, for review
        *(Artifact(path, text.encode("utf-8")) for path, text in stages.buildspec_files(c)),
    ]
    files += agent_config_artifacts(c)  # EC2 launch type only
    tags = naming.service_tags(c)
    boot = naming.BOOTSTRAP_STACK
    out_stacks = [
        Stack(stacks[naming.PIPELINE], "pipeline", env.account, env.region, f"{d}/codepipeline.yml",
              c.name, env.name, (boot,), False, tags),
        Stack(stacks[naming.NOTIFICATION], "notification", env.account, env.region,
              f"{d}/codepipeline-status-notification.yml", c.name, env.name,
              (boot, stacks[naming.PIPELINE]), True, tags),
    ]
    return files, out_stacks


def render_bootstraps(targets: Iterable[tuple[str, str]]) -> tuple[list[Artifact], list[Stack]]:
    from .render import bootstrap

    files, stacks = [], []
    for account, region in sorted(set(targets)):
        path = f"{naming.bootstrap_dir(account, region)}/bootstrap.yml"
        header = cfn.GENERATED_HEADER.format(source="the environments of services/*.yaml")
        files.append(Artifact(path, cfn.render_template(bootstrap.render_bootstrap(account, region), header)))
        stacks.append(Stack(naming.BOOTSTRAP_STACK, "bootstrap", account, region, path,
                            tags=((naming.BOOTSTRAP_TAG, "true"),)))
    return files, stacks


def lambda_files() -> tuple[list[Artifact], str]:
    """The notification Lambda's file under generated/ (a new list each call) and its package's
    S3 key (a hash of a deflated zip: kept with the installation, `cache.installed_value`)."""
    handler, key = _lambda()
    return [handler], key


@functools.lru_cache(maxsize=1)
def _lambda() -> tuple[Artifact, str]:
    from . import cache
    from .lambda_zip import handler_source, lambda_key

    return Artifact(f"{LAMBDA_DIR}/handler.py", handler_source()), cache.installed_value("lambda_key", lambda_key)


def index_entry(stacks: Iterable[Stack]) -> dict | None:
    """What generated/index.json says of one (service, environment) besides its files: the
    service, environment, account, region and stack names by kind, from its (non-bootstrap)
    stacks; None when it has none. A build's state keeps this instead of the stacks
    (compiler/build/delta.py)."""
    entry = None
    for st in stacks:
        if st.kind == "bootstrap":
            continue
        if entry is None:
            entry = {"service": st.service, "environment": st.environment, "account": st.account,
                     "region": st.region, "stacks": {}}
        entry["stacks"][st.kind] = st.name
    return entry


def index_artifact(artifacts: list[Artifact], stacks: list[Stack], kept: Iterable[dict] = ()) -> Artifact:
    """generated/index.json. `kept`: `index_entry`s of services given without their stacks."""
    sha = {a.path: a.sha256 for a in artifacts}
    services: dict = {}
    for e in kept:
        services.setdefault(e["service"], {})[e["environment"]] = {
            "account": e["account"], "region": e["region"], "stacks": dict(e["stacks"]), "files": {}}
    for st in stacks:
        if st.kind == "bootstrap":
            continue
        entry = services.setdefault(st.service, {}).setdefault(st.environment, {
            "account": st.account, "region": st.region, "stacks": {}, "files": {}})
        entry["stacks"][st.kind] = st.name
    for a in artifacts:
        parts = a.path.split("/")
        if len(parts) >= 4 and parts[1] in services and parts[2] in services[parts[1]]:
            services[parts[1]][parts[2]]["files"][a.path] = sha[a.path]
    bootstraps = {f"{st.account}-{st.region}": {"account": st.account, "region": st.region, "stack": st.name,
                                               "file": st.template_path, "sha256": sha[st.template_path]}
                  for st in stacks if st.kind == "bootstrap"}
    lam = {a.path: sha[a.path] for a in artifacts if a.path.startswith(LAMBDA_DIR)}
    doc = {"version": 1, "services": services, "bootstrap": bootstraps, "lambda": lam}
    return Artifact(INDEX_PATH, (jsonfmt.dumps_plain(doc) + "\n").encode("utf-8"))  # = json.dumps(indent=2, sort_keys=True)


def compile_project(project, render: Callable[..., tuple[list[Artifact], list[Stack]]] | None = None) -> BuildOutput:
    """All artifacts and stacks for a validated Project, sorted by path/stack.

    `render` stands in for `render_service` (same arguments, same result); a project loaded
    through compiler/build/incremental.py carries one (`renderer`) that reuses unchanged services' files."""
    render = render or getattr(project, "renderer", None) or render_service
    artifacts, lambda_key = lambda_files()
    stacks: list[Stack] = []
    for s in project.services:
        files, st = render(s.config, s.file, lambda_key)
        artifacts += files
        stacks += st
    boot_files, boot_stacks = render_bootstraps((s.config.environment.account, s.config.environment.region)
                                                for s in project.services)
    artifacts += boot_files
    stacks = boot_stacks + stacks
    artifacts.append(index_artifact(artifacts, stacks))
    return BuildOutput(tuple(sorted(artifacts, key=lambda a: a.path)), tuple(stacks))
