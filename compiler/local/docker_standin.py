"""A stand-in `docker` for builds run on this machine against the local emulator (`shipspec local run`
puts it first on a build's PATH; the buildspec tests use it too). It builds nothing and runs nothing:
it checks what docker would check, records each call, and pushes an image *manifest* to the emulator's ECR.

- `login --username AWS --password-stdin REGISTRY`: reads the password (it must not be empty) and
  remembers the registry as logged in.
- `build [-f FILE] [-t TAG]... [--build-arg K=V]... [other flags] CONTEXT`: the context must be a
  directory and the Dockerfile (`-f`, relative to the working directory, default CONTEXT/Dockerfile) a
  file, as docker requires; the image's id is a digest of the Dockerfile, the build arguments and the
  context's files; its size is the context's size. Each tag names it.
- `tag SOURCE TARGET`: another name for a built image.
- `push REF`: the image must have been built (or tagged) here, and its registry logged in to, as docker
  requires; the manifest goes to ECR (`PutImage`, the registry's account and repository from REF, the
  endpoint and credentials from the environment). Pushing the same image again is not an error.
- `pull`, `images`, `version`, `info`: recorded, nothing else. Any other command fails and says so.

State (logins and built images) is one JSON file, `$DOCKER_STANDIN_STATE` (default `.docker-standin.json`
in the working directory); with `$DOCKER_LOG` set, each call is appended to it as a JSON line
`{"argv": [...], "stdin": ...}` (stdin only for login). Standard library and boto3 only: it runs as a
program (`python3 docker_standin.py ARGS`), never imported by shipspec.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

REGISTRY = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
VALUE_FLAGS = {"-f", "--file", "-t", "--tag", "--build-arg", "--target", "--platform", "--label", "--cache-from",
               "--progress", "--network", "--secret", "--ssh", "--iidfile", "--output", "-o"}


def fail(message: str, status: int = 1) -> None:
    sys.stderr.write(f"{message}\n")
    sys.exit(status)


def state_path() -> Path:
    return Path(os.environ.get("DOCKER_STANDIN_STATE") or ".docker-standin.json")


def load() -> dict:
    try:
        return json.loads(state_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"logins": [], "images": {}}


def save(state: dict) -> None:
    state_path().write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")


def record(argv: list[str], stdin: str | None = None) -> None:
    log = os.environ.get("DOCKER_LOG")
    if log:
        entry: dict = {"argv": argv}
        if stdin is not None:
            entry["stdin"] = stdin
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")


def login(args: list[str], state: dict) -> None:
    password = sys.stdin.read()
    record(["login", *args], password)
    positional, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("-u", "--username", "-p", "--password"):
            skip = True
        elif not arg.startswith("-"):
            positional.append(arg)
    registry = positional[0] if positional else "docker.io"
    if "--password-stdin" not in args:
        fail("docker stand-in: login reads the password from stdin (--password-stdin)")
    if not password.strip():
        fail("Error: Cannot perform an interactive login from a non TTY device")
    if registry and registry not in state["logins"]:
        state["logins"].append(registry)
    save(state)
    print("Login Succeeded")


def build(args: list[str], state: dict) -> None:
    record(["build", *args])
    dockerfile, tags, build_args, positional = None, [], [], []
    i = 0
    while i < len(args):
        arg = args[i]
        name, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in VALUE_FLAGS:
            value = inline if inline else (args[i + 1] if i + 1 < len(args) else "")
            i += 1 if inline else 2
            if name in ("-f", "--file"):
                dockerfile = value
            elif name in ("-t", "--tag"):
                tags.append(value)
            elif name == "--build-arg":
                build_args.append(value)
            continue
        if arg.startswith("-"):
            i += 1
            continue
        positional.append(arg)
        i += 1
    if len(positional) != 1:
        fail('ERROR: "docker buildx build" requires exactly 1 argument.')
    context = Path(positional[0])
    if not context.is_dir():
        fail(f"ERROR: unable to prepare context: path {positional[0]!r} not found")
    path = Path(dockerfile) if dockerfile else context / "Dockerfile"
    if not path.is_file():
        fail(f"ERROR: failed to solve: failed to read dockerfile: open {path}: no such file or directory")
    digest = hashlib.sha256(path.read_bytes())
    size = 0
    for f in sorted(p for p in context.rglob("*") if p.is_file() and ".git" not in p.parts):
        data = f.read_bytes()
        size += len(data)
        digest.update(str(f.relative_to(context)).encode() + b"\0" + hashlib.sha256(data).digest())
    for arg in build_args:
        digest.update(b"\0arg\0" + arg.encode())
    image = {"id": digest.hexdigest(), "size": max(size, 1), "dockerfile": str(path), "build_args": build_args}
    for tag in tags:
        state["images"][tag] = image
    save(state)
    print(f"Successfully built {image['id'][:12]}")
    for tag in tags:
        print(f"Successfully tagged {tag}")


def split_ref(ref: str) -> tuple[str, str, str]:
    """registry, repository, tag of REF (tag `latest` when none is given)."""
    host, _, rest = ref.partition("/")
    repo, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    return host, repo, tag or "latest"


def push(args: list[str], state: dict) -> None:
    record(["push", *args])
    refs = [a for a in args if not a.startswith("-")]
    if len(refs) != 1:
        fail('"docker push" requires exactly 1 argument.')
    ref = refs[0]
    image = state["images"].get(ref)
    if image is None:
        fail(f"An image does not exist locally with the tag: {ref}")
    host, repo, tag = split_ref(ref)
    match = REGISTRY.match(host)
    if not match:
        fail(f"docker stand-in: {host} is not an ECR registry; the stand-in pushes to ECR only")
    if host not in state["logins"]:
        fail(f"no basic auth credentials (run docker login {host} first)")
    account, region = match.groups()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": image["size"],
                           "digest": f"sha256:{image['id']}"},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": image["size"],
                            "digest": f"sha256:{hashlib.sha256(image['id'].encode()).hexdigest()}"}]}
    import boto3
    from botocore.exceptions import ClientError

    ecr = boto3.client("ecr", region_name=region)
    print(f"The push refers to repository [{host}/{repo}]")
    try:
        ecr.describe_repositories(registryId=account, repositoryNames=[repo])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            fail(f"name unknown: The repository with name '{repo}' does not exist in the registry with id '{account}'")
        raise
    try:
        pushed = ecr.put_image(registryId=account, repositoryName=repo, imageManifest=json.dumps(manifest),
                               imageTag=tag)["image"]
        digest = pushed["imageId"].get("imageDigest", "")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code != "ImageAlreadyExistsException":
            fail(f"push {ref}: {code}: {exc.response.get('Error', {}).get('Message', '')}")
        digest = "(already pushed)"
    print(f"{tag}: digest: {digest} size: {image['size']}")


def main(argv: list[str]) -> None:
    if not argv:
        fail("Usage: docker COMMAND (the shipspec stand-in: login, build, tag, push)")
    command, args = argv[0], argv[1:]
    state = load()
    if command == "login":
        login(args, state)
    elif command == "build" or (command == "buildx" and args[:1] == ["build"]):
        build(args[1:] if command == "buildx" else args, state)
    elif command == "tag":
        record(argv)
        if len(args) != 2 or args[0] not in state["images"]:
            fail(f"Error response from daemon: No such image: {args[0] if args else ''}")
        state["images"][args[1]] = state["images"][args[0]]
        save(state)
    elif command == "push":
        push(args, state)
    elif command in ("pull", "images", "version", "info"):
        record(argv)
    else:
        record(argv)
        fail(f"docker stand-in: `docker {command}` is not modelled on the local emulator (it builds no "
             "image and runs no container)")


if __name__ == "__main__":
    main(sys.argv[1:])
