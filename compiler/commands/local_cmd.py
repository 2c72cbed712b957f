"""Run a local AWS emulator (moto's server) for `--local`: `up` starts it on a free loopback
port in the background and records it in .shipspec/local.json, `down` stops it, `status` says
whether it answers. Everything is loopback-only and uses throw-away credentials."""

from __future__ import annotations

NAME = "local"
HELP = "start, stop or check the local AWS emulator used by --local"


def configure(p) -> None:
    p.add_argument("action", choices=("up", "down", "status"), help="up | down | status")


def run(args, console) -> int:
    from .. import localemu

    root = console.root
    if args.action == "up":
        state, started = localemu.up(root)
        verb = "started" if started else "already running"
        console.error(f"local emulator {verb} at {state.endpoint} (pid {state.pid}); "
                      f"use --local with plan, apply and bootstrap; `shipspec local down` stops it")
        console.print(state.endpoint)
        return 0
    if args.action == "down":
        state = localemu.down(root)
        console.error("local emulator stopped" + (f" (pid {state.pid})" if state else "") if state
                      else "no local emulator recorded in " + localemu.STATE_FILE)
        return 0
    state, ok = localemu.status(root)
    if state is None:
        console.print("not running")
        return 1
    console.print(f"{'running' if ok else 'not answering'}: {state.endpoint} (pid {state.pid})")
    return 0 if ok else 1
