"""Replay a recorded session and compare each new result with the recorded one.

    python -m core.replay SESSION.jsonl --check          (spawns the recorded number of servers)
    mpiexec -n N python -m core.replay SESSION.jsonl --check

`Replay` does the work for the GUI's replay panel too, on any frontend of a session
(`core.frontends.frontend.SessionFrontend`: the window's own session or one it is attached to):
one push at a time (blocking pushes are waited for before the next, as they were when recorded),
and a readable difference per server. Each push runs with the time limit it had, or, if it was
stopped (interrupted, expired) without one, with its recorded duration as its limit
(`RecordedPush.replay_limit`); stopped again, it matches its recording. Client-side code (pushes
to `CLIENT_RANK`) runs again in the session's client-side worker (`core.console`), to its end
before the next push; what that code pushed is left out, as running it pushes it again.
"""
from __future__ import annotations

import argparse
import sys
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.events import CLIENT_RANK
from core.sessions import literals
from core.sessions.file_checks import SessionFileError
from core.sessions.recorded import STOPPED, RecordedPush, read_session


@dataclass
class Comparison:
    """How one server's new response compares with what was recorded."""

    server: int | None
    difference: str | None
    """None when it matches; else what differs."""
    recorded: bool = True
    """False when there is nothing to compare with (a script records no results)."""

    @property
    def matches(self) -> bool:
        return self.difference is None


def compare(push: RecordedPush, responses: list[dict[str, Any]]) -> list[Comparison]:
    """Compare new responses with the push's recorded outcomes, server by server, in order."""
    recorded = sorted(push.outcomes, key=lambda outcome: outcome.id)
    comparisons = []
    for index, response in enumerate(responses):
        if index >= len(recorded):
            comparisons.append(Comparison(response["server"], None, recorded=False))
            continue
        old = recorded[index]
        if old.status in STOPPED and response["status"] == "expired":
            difference = None  # stopped where it was stopped, by the limit its recording gave it
        elif old.status != response["status"]:
            difference = f"status {response['status']} != recorded {old.status}"
        elif not old.successful:
            difference = _failure_difference(old.traceback, response["traceback"])
        else:
            difference = literals.difference(old.ret, response["ret"])
        comparisons.append(Comparison(response["server"], difference))
    return comparisons


def _failure_difference(old: str | None, new: str | None) -> str | None:
    """Failures match when they end with the same exception line."""
    def last(text: str | None) -> str:
        lines = (text or "").strip().splitlines()
        return lines[-1] if lines else ""
    return None if last(old) == last(new) else f"{last(new)!r} != recorded {last(old)!r}"


def targeted_ranks(pushes: list[RecordedPush]) -> list[int]:
    ranks = set()
    for push in pushes:
        if push.target is not None:
            ranks.update([push.target] if isinstance(push.target, int) else push.target)
    return sorted(ranks - {CLIENT_RANK})


class Replay:
    """A recorded session to run again through a frontend of a running session."""

    def __init__(self, frontend, pushes: list[RecordedPush]):
        """`frontend`: a `SessionFrontend`; a replay needs its `submit` and its servers."""
        self.frontend = frontend
        self.pushes = [push for push in pushes if not push.pushed_by_client_code]
        self.futures: list[list[Future] | None] = [None] * len(self.pushes)
        self.check_servers()

    def check_servers(self) -> None:
        """Refuse, before anything runs, a session that targets servers this one lacks."""
        available = list(self.frontend.info.servers)
        missing = [rank for rank in targeted_ranks(self.pushes) if rank not in available]
        if missing:
            raise ValueError(f"the session targets server {missing[0]}, but this session has "
                             f"{len(available)} server(s): {available}")

    def submit(self, index: int) -> list[Future]:
        """Send push `index` again; never blocks. Its futures are kept in `futures[index]`."""
        push = self.pushes[index]
        target = [CLIENT_RANK] if push.on_client else push.target
        self.futures[index] = self.frontend.submit(push.command, target, push.parameter_values(), origin="replay",
                                                   shown=push.shown, timeout=push.replay_limit(),
                                                   retries=push.retries)
        return self.futures[index]

    def run(self, start: int = 0, stop: int | None = None, timeout: float | None = None) -> None:
        """Replay pushes start..stop-1 in order, waiting for a blocking one as the recording did,
        then for all of them. For scripts and headless checks; the GUI uses `submit`."""
        sent = []
        for index in range(start, len(self.pushes) if stop is None else stop):
            futures = self.submit(index)
            sent += futures
            if self.pushes[index].waits:
                for future in futures:
                    future.result(timeout)
        for future in sent:
            future.result(timeout)

    def comparisons(self, index: int) -> list[Comparison] | None:
        """Push `index` compared with its recording, once all its new responses are in."""
        futures = self.futures[index]
        if futures is None or not all(future.done() for future in futures):
            return None
        return compare(self.pushes[index], [future.result() for future in futures])


def _report(replay: Replay, out) -> int:
    """Print one line per server per push; return the number of mismatches."""
    mismatches = 0
    for index, push in enumerate(replay.pushes):
        command = push.command.strip().splitlines()[0] if push.command.strip() else ""
        for comparison in replay.comparisons(index) or []:
            if not comparison.recorded:
                verdict = "no recorded result"
            elif comparison.matches:
                verdict = "matches"
            else:
                verdict = f"DIFFERS: {comparison.difference}"
                mismatches += 1
            print(f"{index + 1:4d}  server {comparison.server}  {command[:50]!r}: {verdict}", file=out)
    return mismatches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.replay", description=__doc__.splitlines()[0])
    parser.add_argument("session", type=Path, help="a session log (.jsonl) or a saved session script (.py)")
    parser.add_argument("--check", action="store_true",
                        help="compare every result with the recorded one; exit 1 on any difference")
    parser.add_argument("--servers", type=int, help="servers to spawn (default: as recorded)")
    args = parser.parse_args(argv)
    try:
        header, pushes = read_session(args.session)
    except SessionFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read {args.session}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    from core.client.command_client import MPICommandClient
    from core.environment import MPIEnvironment
    from core.frontends.host import SessionHost
    from core.frontends.local import LocalFrontend
    servers = None if MPIEnvironment.launch_mode == "mpiexec" else (
        args.servers or len(header.get("servers") or []) or header.get("servers_count") or None)
    with MPICommandClient(servers=servers, session_log=False, preload=header.get("preload")) as client:
        host = SessionHost(client, info_kind="replay", program=str(args.session))
        try:
            replay = Replay(LocalFrontend(host, label="replay"), pushes)
            replay.run()
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            host.close()  # its client-side worker goes before the client stops
        mismatches = _report(replay, sys.stdout) if args.check else 0
    if args.check:
        print(f"{len(replay.pushes)} command(s) replayed; {mismatches} result(s) differ from the recording")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
