"""Regenerate schema/service.schema.json from the models."""

from __future__ import annotations

HELP = "regenerate schema/service.schema.json"


def configure(p) -> None:
    p.add_argument("--stdout", action="store_true", help="print the schema instead of writing it")


def run(args, console) -> int:
    from ..schema import SCHEMA_PATH, schema_bytes
    from ..writer import write_file_atomic

    data = schema_bytes()
    if args.stdout:
        console.print(data.decode())
        return 0
    changed = write_file_atomic(console.root / SCHEMA_PATH, data)
    console.error(f"{SCHEMA_PATH} {'updated' if changed else 'is up to date'}")
    return 0
