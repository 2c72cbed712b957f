"""Regenerate schema/service.schema.json and the README's generated reference sections from the models."""

from __future__ import annotations

HELP = "regenerate schema/service.schema.json and the README references"


def configure(p) -> None:
    p.add_argument("--stdout", action="store_true", help="print the schema instead of writing it")


def run(args, console) -> int:
    from ...build.writer import write_file_atomic
    from ...spec.schema import SCHEMA_PATH, schema_bytes
    from ..docs import README, update_readme

    data = schema_bytes()
    if args.stdout:
        console.print(data.decode())
        return 0
    changed = write_file_atomic(console.root / SCHEMA_PATH, data)
    console.error(f"{SCHEMA_PATH} {'updated' if changed else 'is up to date'}")
    readme = console.root / README
    if readme.exists():
        changed = write_file_atomic(readme, update_readme(readme.read_text(encoding="utf-8")).encode("utf-8"))
        console.error(f"{README} references {'updated' if changed else 'are up to date'}")
    return 0
