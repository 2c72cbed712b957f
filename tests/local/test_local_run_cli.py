"""`shipspec local run` refuses what is not the local emulator, and bad usage, before it runs anything."""

from __future__ import annotations

from unittest import mock

from support.cli import run_cli
from support.plan import make_repo

SERVICES = ("_defaults", "news-web")


def test_refuses_without_a_running_emulator(tmp_path):
    root = make_repo(tmp_path, "http://127.0.0.1:9", SERVICES)  # recorded, but nothing answers
    r = run_cli("local", "run", "news-web", "--env", "stg", root=root)
    assert r.status == 1 and "local run runs pipelines in the local emulator only" in r.err
    assert "run `shipspec local up`" in r.err


def test_refuses_an_endpoint_that_is_not_loopback(tmp_path):
    root = make_repo(tmp_path, "http://10.20.30.40:4566", SERVICES)
    with mock.patch("compiler.local.emulator.healthy", return_value=True), \
            mock.patch("compiler.ops.clients.client_factory", side_effect=AssertionError("no clients")):
        r = run_cli("local", "run", "news-web", "--env", "stg", root=root)
    assert r.status == 1 and "not a loopback address" in r.err and "10.20.30.40" in r.err


def test_bad_usage(tmp_path):
    root = make_repo(tmp_path, "http://127.0.0.1:9", SERVICES)
    assert run_cli("local", "run", "news-web", root=root).status == 2  # --env is required
    assert run_cli("local", "run", "news-web", "--env", "stg", "--approve", "--reject", root=root).status == 2
    r = run_cli("local", "run", "news-web", "--env", "stg", "--tools", str(tmp_path / "nowhere"), root=root)
    assert r.status == 2 and "not a directory" in r.err
    r = run_cli("local", "run", "news-web", "--env", "stg", "--source", "a", "--source", "b", root=root)
    assert r.status == 2 and "the primary source is given twice" in r.err
    r = run_cli("local", "run", "news-web", "--env", "qa", root=root)
    assert r.status == 1 and "no environment 'qa'" in r.err
