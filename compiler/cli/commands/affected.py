"""List the (service, environment) pairs a change affects, compared with the merge base of
REF and HEAD (uncommitted changes in the work tree count too). Orphans -- stacks whose spec or
environment is gone -- are listed for a person to remove; nothing is ever deleted."""

from __future__ import annotations

import json

from ...core.errors import UsageError

HELP = "list the services and environments changed since a git ref (for CI)"


def configure(p) -> None:
    p.add_argument("--since", required=True, metavar="REF",
                   help="compare with the merge base of REF and HEAD (e.g. origin/main or the PR base SHA)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--shard", metavar="I/N", default="",
                   help="only the I-th of N disjoint slices (1-based); a service's environments stay together")


def run(args, console) -> int:
    from ...deploy.affected import affected, as_dict, parse_shard, shard, text_lines

    selected = None
    if args.shard:
        try:
            index, total = parse_shard(args.shard)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    result = affected(console.root, args.since)
    if args.shard:
        selected = shard(result.pairs, index, total)
    if args.format == "json":
        console.print(json.dumps(as_dict(result, args.since, selected, args.shard), indent=2, sort_keys=True))
        return 0
    lines = text_lines(result, selected)
    if lines:
        console.print("\n".join(lines))
    n = len(result.pairs if selected is None else selected)
    console.error(f"{n} affected pair{'s' if n != 1 else ''}"
                  + (f" in shard {args.shard}" if args.shard else "")
                  + (f", {len(result.orphans)} orphan(s)" if result.orphans else "")
                  + f" since {args.since} (merge base {result.base[:12]})")
    return 0
