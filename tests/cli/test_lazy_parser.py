"""`main` builds only the parser of the command argv names: the same arguments, the same errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from compiler.cli.main import _named_command, build_parser

SAME = [
    ["build"], ["build", "--no-cache", "--format", "json"], ["--root", ".", "validate", "photo-thumbs"],
    ["--debug", "check"], ["--root=.", "lint", "--changed-since", "HEAD"], ["plan-gate", "--plan", "p.json"],
    ["ci-roles", "--help-not-an-option-here"], ["import", "--stack", "x"], ["local", "up"],
    ["status", "--all"], ["diff", "news-web"],
]


@pytest.mark.parametrize("argv", SAME, ids=lambda a: " ".join(a))
def test_the_one_command_parser_parses_like_the_whole_one(argv, capsys):
    only = _named_command(argv)
    assert only is not None
    results = []
    for parser, _ in (build_parser(), build_parser(only=only)):
        try:
            results.append(("ok", vars(parser.parse_args(argv))))
        except BaseException as exc:  # usage errors and --help exits: the same either way
            results.append((type(exc).__name__, str(exc)))
    assert results[0] == results[1]


@pytest.mark.parametrize("argv", [[], ["--help"], ["-h"], ["--version"], ["--ro", ".", "build"], ["bogus"],
                                  ["--root"], ["-x", "build"], ["_common"], ["import_cmd"], ["local_cmd"],
                                  ["./build"], ["../main"], ["BUILD"], ["build.py"], ["commands/check"]])
def test_help_version_unknown_and_abbreviated_use_the_whole_parser(argv):
    assert _named_command(argv) is None


def test_a_build_does_not_import_the_other_commands():
    code = ("import sys; from compiler.cli.main import _named_command, build_parser; "
            "build_parser(only=_named_command(['build'])); "
            "print(sorted(m for m in sys.modules if m.startswith('compiler.cli.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "compiler.cli.commands.build" in out and "compiler.cli.commands.plan'" not in out, out


@pytest.mark.parametrize("command", ["./build", "../main", "BUILD", "commands/check"])
def test_a_path_for_a_command_is_a_usage_error(command, capsys):
    from compiler.cli.main import main

    assert main([command]) == 2
    assert "invalid choice" in capsys.readouterr().err
