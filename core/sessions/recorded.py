"""A session as a list of pushes, read from the live client, from a session log, or from a script.

A push is one `push_command_request` call: one command text, its parameters, the target as
given, blocking or not, and the outcome on each server it reached. Saving a script and replaying
a session both work on this form, whatever it was read from. A script is read with `ast`, never
run: only calls of `push_command_request` (and the `console.run` of client-side code) whose arguments
are literals count.

Code that ran on rank 0 itself (`core.console`, target `CLIENT_RANK`) is a push too, in its place;
the commands it pushed are kept with their origin but not replayed: running that code again
pushes them again.

A push keeps its time limit, and a push that was stopped (interrupted or expired) without one is
given its recorded duration as its limit when it runs again (`replay_limit`): a replayed
`time.sleep(30)` that was interrupted after 2 s stops after about 2 s, as it did.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.events import CLIENT_RANK
from core.sessions import file_checks, literals
from core.sessions.file_checks import SessionFileError
from core.sessions.session_log import encode_parameters


STOPPED = ("interrupted", "expired")
"""The statuses of a command stopped before its end: replayed, it is stopped after as long."""
REPLAY_MARGIN = 1.0
REPLAY_MARGIN_SHARE = 0.1
"""A stopped command replays with a limit of its duration plus the larger of these (seconds, and a
share of the duration): a replay on a busier machine must not stop it sooner than it was."""


@dataclass
class Outcome:
    id: int
    server: int | None
    status: str
    successful: bool
    ret: dict[str, Any] | None = None
    """`core.sessions.literals.encode` of the result."""
    traceback: str | None = None
    duration: float | None = None
    """Seconds it ran (`time_end - time_start`), where that was recorded."""


@dataclass
class RecordedPush:
    command: str
    target: int | list[int] | None
    block: bool
    parameters: dict[str, dict[str, Any]] | None
    """Each value as `core.sessions.literals.encode` made it."""
    outcomes: list[Outcome] = field(default_factory=list)
    origin: str | None = None
    """Who sent it (`core.events.CommandQueued.origin`)."""
    shown: str | None = None
    """The text to show for it (`core.events.CommandQueued.shown`); None: the command itself."""
    time_limit: float | None = None
    retries: int = 0

    @property
    def on_client(self) -> bool:
        """Code that ran on rank 0 itself, in the client-side worker."""
        return self.target == CLIENT_RANK

    @property
    def pushed_by_client_code(self) -> bool:
        """Pushed by client-side code or a script: replaying that code pushes it again."""
        return self.origin is not None and (self.origin == "client" or self.origin.startswith("script:"))

    @property
    def waits(self) -> bool:
        """Replayed to its end before the next push: it blocked, or it is client-side code (whose
        pushes belong before whatever came next)."""
        return self.block or self.on_client

    @property
    def status(self) -> str:
        """'done' when every server succeeded, else the first other status ('queued' if none yet)."""
        if not self.outcomes:
            return "queued"
        bad = [o.status for o in self.outcomes if o.status != "done"]
        return bad[0] if bad else "done"

    def replay_limit(self) -> float | None:
        """The time limit to run it with again: its own, else, when it was stopped (interrupted,
        or expired), its longest recorded duration plus a margin (`REPLAY_MARGIN`); else None."""
        if self.time_limit is not None:
            return self.time_limit
        stopped = [outcome.duration for outcome in self.outcomes
                   if outcome.status in STOPPED and outcome.duration is not None]
        if not stopped:
            return None
        longest = max(stopped)
        return longest + max(REPLAY_MARGIN, REPLAY_MARGIN_SHARE * longest)

    def parameter_values(self) -> dict[str, Any] | None:
        """The parameters as values; raises ValueError naming one that has no literal form."""
        if self.parameters is None:
            return None
        values = {}
        for name, encoded in self.parameters.items():
            if "literal" not in encoded:
                raise ValueError(f"parameter {name!r} of command {self.command!r} has no literal form "
                                 f"({encoded['summary']['type']}), so it cannot be replayed")
            values[name] = ast.literal_eval(encoded["literal"])
        return values


def from_records(records) -> list[RecordedPush]:
    """The pushes of a live client (`client.commands`), in the order they were made."""
    pushes: dict[int, RecordedPush] = {}
    for record in records:
        push = pushes.get(record.push)
        if push is None:
            push = pushes[record.push] = RecordedPush(record.command, record.push_target, record.block,
                                                      encode_parameters(record.parameters), origin=record.origin,
                                                      shown=record.shown, time_limit=record.time_limit,
                                                      retries=record.retries)
        if record.response is not None:
            response = record.response
            push.outcomes.append(Outcome(record.id, response["server"], response["status"],
                                         response["successful"], literals.encode(response["ret"]),
                                         response["traceback"], _duration(response)))
    return list(pushes.values())


def _duration(fields: dict[str, Any]) -> float | None:
    start, end = fields.get("time_start"), fields.get("time_end")
    return None if start is None or end is None else max(0.0, end - start)


def read_log(path: str | Path) -> tuple[dict[str, Any], list[RecordedPush]]:
    """The header and the pushes of a session log (lines cut short by a crash are skipped).

    Raises SessionFileError naming the line for anything else it cannot use."""
    header: dict[str, Any] = {}
    pushes: dict[int, RecordedPush] = {}
    push_of: dict[int, int] = {}
    for number, line in enumerate(file_checks.read_text(path).splitlines(), 1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        except RecursionError:
            raise SessionFileError(path, number, "JSON nested too deeply") from None
        kind = file_checks.check_log_entry(path, number, entry)
        if kind == "session":
            header = entry
        elif kind == "queued":
            push_of[entry["id"]] = entry["push"]
            if entry["push"] not in pushes:
                pushes[entry["push"]] = RecordedPush(entry["command"], entry["target"], entry["block"],
                                                     entry["parameters"], origin=entry.get("origin"),
                                                     shown=entry.get("shown"), time_limit=entry.get("time_limit"),
                                                     retries=entry.get("retries", 0))
        elif kind == "finished" and entry["id"] in push_of:
            outcomes = pushes[push_of[entry["id"]]].outcomes
            outcomes[:] = [outcome for outcome in outcomes if outcome.id != entry["id"]]  # the last one counts
            outcomes.append(Outcome(entry["id"], entry["server"], entry["status"], entry["successful"], entry["ret"],
                                    entry["traceback"], _duration(entry)))
    if not header:
        raise SessionFileError(path, None, "not an mpipanel session log (no session line)")
    return header, list(pushes.values())


def read_script(path: str | Path) -> tuple[dict[str, Any], list[RecordedPush]]:
    """The pushes of a saved session script, read with `ast` (the script is not run).

    The header holds `servers_count` when the script sets `SERVERS = N`, as saved scripts do, and
    `preload` when it sets `PRELOAD = '...'`. Raises SessionFileError naming the line of a call
    or setting whose arguments are not literals of the types they must have.
    """
    text = file_checks.read_text(path)
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise SessionFileError(path, exc.lineno, f"not Python: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SessionFileError(path, None, f"not Python that can be read: {type(exc).__name__}") from None
    header: dict[str, Any] = {}
    calls = []
    for node in ast.walk(tree):
        names = [getattr(t, "id", None) for t in node.targets] if isinstance(node, ast.Assign) else []
        if names in (["SERVERS"], ["PRELOAD"]):
            value = file_checks.script_literal(path, node.value, names[0])
            file_checks.check_script_value(path, node.lineno, names[0], value, file_checks.SCRIPT_SETTINGS)
            header["servers_count" if names == ["SERVERS"] else "preload"] = value
        elif isinstance(node, ast.Call) and (getattr(node.func, "attr", None) == "push_command_request"
                                             or _is_console_run(node.func)):
            calls.append(node)
    calls.sort(key=lambda call: (call.lineno, call.col_offset))
    return header, [_push_of(path, call) for call in calls]


def _is_console_run(func: ast.expr) -> bool:
    return (isinstance(func, ast.Attribute) and func.attr == "run"
            and getattr(func.value, "id", None) == "console")


def _push_of(path: str | Path, call: ast.Call) -> RecordedPush:
    on_client = _is_console_run(call.func)
    names = ("command", "parameters") if on_client else ("command", "block", "target_server", "parameters")
    function = "console.run" if on_client else "push_command_request"
    if len(call.args) > len(names):
        raise SessionFileError(path, call.lineno, f"{function} takes at most {len(names)} positional arguments")
    arguments = dict(zip(names, call.args))
    keywords = ("origin", "shown", "timeout") if on_client else ("origin", "shown", "timeout", "retries")
    for keyword in call.keywords:
        if keyword.arg not in (*names, *keywords):
            raise SessionFileError(path, call.lineno, f"{function} has no argument "
                                                      f"{keyword.arg or '**' + ast.unparse(keyword.value)}")
        arguments[keyword.arg] = keyword.value
    if "command" not in arguments:
        raise SessionFileError(path, call.lineno, f"{function} has no command")
    values = {}
    for name, node in arguments.items():
        values[name] = file_checks.script_literal(path, node, f"{function}'s {name}")
        file_checks.check_script_value(path, call.lineno, name, values[name], file_checks.SCRIPT_ARGUMENTS)
    target = CLIENT_RANK if on_client else values.get("target_server")
    parameters = values.get("parameters")
    return RecordedPush(values["command"], list(target) if isinstance(target, tuple) else target,
                        values.get("block", False),
                        None if parameters is None else {name: literals.encode(value, None)  # inf: not replayable
                                                         for name, value in parameters.items()},
                        shown=values.get("shown"), time_limit=values.get("timeout"), retries=values.get("retries", 0))


def read_session(path: str | Path) -> tuple[dict[str, Any], list[RecordedPush]]:
    """A session log (.jsonl) or a saved script (.py); SessionFileError for one that cannot be
    read as such (OSError for a file that cannot be read at all)."""
    try:
        return read_script(path) if str(path).endswith(".py") else read_log(path)
    except MemoryError:
        raise SessionFileError(path, None, "too large to read into memory") from None
