"""The `shipspec` command line: parse arguments, run one command, format and print.

Commands live in `compiler.cli.commands.<name>`; each module has `HELP`, `configure(parser)`
and `run(args, ctx) -> int`. Modules are imported lazily-light: heavy libraries
(boto3, cfn-lint, moto) are imported inside `run`, never at module level.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import importlib
import os
import pkgutil
import re
import sys
import threading
from pathlib import Path
from typing import Sequence

from .. import __version__
from ..core.diagnostics import SpecError, format_diagnostics
from ..core.errors import ShipspecError, UsageError
from .console import Console, find_root


def _command_modules() -> list[str]:
    from . import commands

    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))


_COMMAND_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _named_command(argv: Sequence[str]) -> str | None:
    """The module of the command `argv` names, found without building every command's parser, or
    None when argv needs the whole parser (help, --version, an unknown or abbreviated option before
    the command, no command, an unknown command: their messages list every command)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--root":
            i += 2
            continue
        if arg == "--debug" or arg.startswith("--root="):
            i += 1
            continue
        if arg.startswith("-") or not _COMMAND_WORD.fullmatch(arg):
            return None  # `./build`, `BUILD`: argparse says what the commands are
        from . import commands

        for name in (arg.replace("-", "_"), arg.replace("-", "_") + "_cmd"):
            if not name.startswith("_") and (Path(commands.__file__).parent / f"{name}.py").is_file():
                if getattr(importlib.import_module(f"compiler.cli.commands.{name}"), "NAME", name) == arg:
                    return name
        return None
    return None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # exit status 2, no traceback, a hint
        self.print_usage(sys.stderr)
        raise UsageError(f"{self.prog}: {message}")


def build_parser(width: int | None = None, only: str | None = None) -> tuple[argparse.ArgumentParser, dict]:
    """The parser and command modules; `width` fixes the help width (for generated docs). `only`
    (a module `_named_command` found) leaves out the other commands: building all of them is a
    tenth of a one-service build's time, and a command's own parsing does not depend on them."""
    fmt = functools.partial(argparse.HelpFormatter, width=width) if width else argparse.HelpFormatter
    parser = _Parser(prog="shipspec", formatter_class=fmt, description="Compile service specs into ECS delivery pipelines, "
                     "preview them as CloudFormation change sets, and apply them.")
    parser.add_argument("--version", action="version", version=f"shipspec {__version__}")
    parser.add_argument("--root", type=Path, help="repository root (default: nearest ancestor holding services/)")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = {}
    for name in [only] if only else _command_modules():
        mod = importlib.import_module(f"compiler.cli.commands.{name}")
        cmd = getattr(mod, "NAME", name)
        p = sub.add_parser(cmd, help=mod.HELP, description=(mod.__doc__ or mod.HELP).strip(), formatter_class=fmt)
        p.add_argument("--root", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        mod.configure(p)
        modules[cmd] = mod
    return parser, modules


def diagnostics_format(args: argparse.Namespace) -> str:
    fmt = getattr(args, "format", None)
    if fmt in ("json", "github", "text"):
        return fmt
    if fmt is None and os.environ.get("GITHUB_ACTIONS") == "true":
        return "github"
    return "json" if fmt == "json" else "text"


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    console = console or Console()
    args = None
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser, modules = build_parser(only=_named_command(argv))
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help(console.out)
            return 2
        mod = modules[args.command]
        root = find_root(args.root) if getattr(mod, "NEEDS_ROOT", True) else (args.root or Path.cwd())
        return int(mod.run(args, console.bind(root)) or 0)
    except SpecError as exc:
        fmt = diagnostics_format(args) if args else "text"
        text = format_diagnostics(exc.diagnostics, fmt)
        if fmt == "json":
            console.print(text)
        else:
            console.error(text)
            n = sum(1 for d in exc.diagnostics if d.severity == "error")
            console.error(f"{n} error{'s' if n != 1 else ''}; nothing was written or deployed.")
        return 1
    except UsageError as exc:
        console.error(str(exc))
        return 2
    except ShipspecError as exc:
        console.error(f"error: {exc}")
        return exc.status
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except Exception as exc:  # never a traceback unless asked for
        if args is not None and getattr(args, "debug", False):
            raise
        console.error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)")
        return 1


def entry() -> None:
    """The console script and `python -m compiler`: run `main`, then leave at once.

    An interpreter's normal exit tears down every module and object, which costs a build at 500
    services about 30 ms and a one-service build about 15 (docs/performance.md). What that exit
    would still do for us is done here first: atexit handlers (worker pools, temporary folders,
    the standard library's own) and flushing both streams; a flush that fails is exit status 120,
    as in CPython, and said on stderr. Threads that are not daemons still running (none of our commands
    leaves one) get the normal exit, which waits for them."""
    status = main()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started without that stream (as CPython's own exit skips it)
            continue
        try:
            stream.flush()
        except (OSError, ValueError) as exc:  # a closed pipe, a full disk, a closed stream
            status = 120
            if stream is sys.stdout and sys.stderr is not None:
                try:
                    sys.stderr.write(f"error: the output could not be written: {exc}\n")
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    entry()
