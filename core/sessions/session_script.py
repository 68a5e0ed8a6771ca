"""A recorded session written as a plain Python script that uses only the mpi4casa API.

The script starts as many servers as the session had (or uses an mpiexec job's), with the session's
preload (`PRELOAD`, if it had one), refuses to run
if it targets a server the session does not have, then pushes each command in the order it was
sent, with its target and parameters as literals, blocking where the original blocked, so that
FIFO order and parallelism are the same. It waits for every response before stopping.

Code that ran on rank 0 itself (the Client target, a script run in the panel) runs again in a
client-side worker of the script's own (`core.console`), in its place and to its end before the
next push; the commands that code pushed are not written, since running it pushes them again.

A push keeps its time limit and retries; one that was stopped without a limit gets its recorded
duration as its limit (`RecordedPush.replay_limit`), so the script stops it where it was stopped.
"""
from __future__ import annotations

import ast
import datetime
from pathlib import Path
from typing import Any

from core import __version__
from core.events import CLIENT_RANK
from core.sessions.recorded import RecordedPush

SKIPPABLE = ("interrupted", "cancelled")

TEMPLATE = '''\
"""mpipanel session saved {date} with mpipanel {version}.

Recorded with {servers} server(s) in {launch_mode} launch mode; {count} command(s).
Run it with `python {name}` (spawns the servers) or `mpiexec -n {world} python -m core {name}`.
"""
from core import MPICommandClient, MPIEnvironment
{preload_line}
SERVERS = {servers}
TARGETED = {targeted}

client = MPICommandClient(servers=None if MPIEnvironment.mpi_world_size > 1 else SERVERS{preload_argument})
client.set_log_mode({log_mode!r})
client.start_services()
available = MPIEnvironment.mpi_server_rank_list()
missing = [rank for rank in TARGETED if rank not in available]
if missing:
    client.stop_services()
    raise SystemExit(f"this script targets server {{missing[0]}}, but this session has "
                     f"{{len(available)}} server(s): {{available}}")
{console_start}
ids = []
{pushes}
client.get_command_response(ids, block=True)
{console_stop}client.stop_services()
'''

CONSOLE_START = """
from core.console.host import ConsoleHost

console = ConsoleHost(client)  # rank 0's client-side worker, for the session's client-side code
"""


def choose(pushes: list[RecordedPush], only_successful: bool = False,
           include_interrupted_cancelled: bool = True) -> list[RecordedPush]:
    """The pushes a script keeps: all, only the fully successful ones, with or without the
    interrupted and cancelled ones."""
    kept = []
    for push in pushes:
        if only_successful and push.status != "done":
            continue
        if not include_interrupted_cancelled and push.status in SKIPPABLE:
            continue
        kept.append(push)
    return kept


def render(pushes: list[RecordedPush], header: dict[str, Any], name: str = "session.py") -> str:
    """The script for `pushes`; raises ValueError naming a parameter that has no literal form."""
    for push in pushes:
        push.parameter_values()
    pushes = [push for push in pushes if not push.pushed_by_client_code]
    servers = len(header.get("servers") or []) or header.get("servers_count") or 1
    targeted = sorted({rank for push in pushes for rank in _ranks(push.target)} - {CLIENT_RANK})
    preload = header.get("preload")
    console = any(push.on_client for push in pushes)
    return TEMPLATE.format(
        date=datetime.datetime.now().astimezone().isoformat(timespec="minutes"), version=__version__,
        servers=servers, launch_mode=header.get("launch_mode", "spawn"), count=len(pushes), name=name,
        world=servers + 1, targeted=targeted, log_mode=header.get("log_mode", "redirect"),
        preload_line="" if preload is None else f"\nPRELOAD = {_string_literal(preload)}\n",
        preload_argument="" if preload is None else ", preload=PRELOAD",
        console_start=CONSOLE_START if console else "", console_stop="console.close()\n" if console else "",
        pushes="\n".join(_push_line(push) for push in pushes))


def save(path: str | Path, pushes: list[RecordedPush], header: dict[str, Any]) -> Path:
    path = Path(path)
    path.write_text(render(pushes, header, path.name), encoding="utf-8")
    return path


def _ranks(target) -> list[int]:
    if target is None:
        return []
    return [target] if isinstance(target, int) else list(target)


def _push_line(push: RecordedPush) -> str:
    arguments = [_string_literal(push.command)]
    limit = push.replay_limit()
    if push.on_client:
        arguments += _shared_arguments(push, limit)
        return f"console.run({', '.join(arguments)}).result()"
    if push.block:
        arguments.append("block=True")
    if push.target is not None:
        arguments.append(f"target_server={push.target!r}")
    arguments += _shared_arguments(push, limit)
    if push.retries:
        arguments.append(f"retries={push.retries!r}")
    call = f"client.push_command_request({', '.join(arguments)})"
    return call if push.block else f"ids += {call}"


def _shared_arguments(push: RecordedPush, limit: float | None) -> list[str]:
    """The keyword arguments a push and code run on the client share: parameters, the shown
    text, the time limit to replay it with."""
    arguments = [] if push.parameters is None else [f"parameters={_parameters_literal(push)}"]
    arguments += [] if push.shown is None else [f"shown={_string_literal(push.shown)}"]
    return arguments + ([] if limit is None else [f"timeout={round(limit, 3)!r}"])


def _parameters_literal(push: RecordedPush) -> str:
    items = ", ".join(f"{name!r}: {encoded['literal']}" for name, encoded in push.parameters.items())
    return f"{{{items}}}"


def _string_literal(text: str) -> str:
    """A readable literal: triple-quoted for a multi-line command when that reads back exactly."""
    if "\n" in text:
        candidate = f'"""{text}"""'
        try:
            if ast.literal_eval(candidate) == text:
                return candidate
        except (SyntaxError, ValueError):
            pass
    return repr(text)
