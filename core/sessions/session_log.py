"""The session log: every command and its outcome, appended as JSON Lines while they happen.

One file per client, in the platform's user state directory (`platformdirs`, or
`$MPIPANEL_STATE_DIR`), which only its user can enter (`core.private_files`: directories 0700,
files 0600, never written through a symlink). Each line is written and flushed as the event happens, so a client that
crashes or is killed loses nothing already logged. Lines:

    {"event": "session", "mpipanel": "0.1.0", "started": "...", "launch_mode": "spawn", "servers": [1, 2], ...}
    {"event": "queued", "id": 3, "push": 3, "command": "a + b", "target": null, "server": null,
     "block": false, "parameters": {"a": {"literal": "1"}, "b": {"literal": "2"}}, "origin": "typed",
     "shown": null, "time_limit": null, "retries": 0, "time": ...}
    {"event": "retried", "id": 3, "attempt": 2, "server": 1, "reason": "The worker process ...", "time": ...}
    {"event": "finished", "id": 3, "server": 1, "status": "done", "successful": true,
     "ret": {"literal": "3"}, "traceback": null, "mode": "eval", "time_start": ..., "time_end": ...,
     "provisional": false, "stack": null}

Values are literals where they have a short one, else summaries (`core.sessions.literals`). Code run
on rank 0 itself (`core.console`) is logged as a command of server 0, in order with the rest; the
commands it pushes say so in their `origin` ('client', 'script:LINE'). `shown` is the text the
sender gave to show for the command, or null (logs written before it existed have no `shown`, nor
`time_limit` and `retries`). A command whose server timed out has a `provisional` 'timeout' line;
if the server came back, a second `finished` line of the same id has its real outcome: the last
one counts. An 'expired' command's line carries its `stack` when its time limit was reached.
"""
from __future__ import annotations

import datetime
import json
import os
import threading
from pathlib import Path
from typing import Any

from core import __version__
from core.private_files import open_private_append, private_directory

from core.sessions import literals
from core.events import CommandFinished, CommandQueued, CommandRetried, Event

_LINE = json.JSONEncoder(default=repr, check_circular=False)
"""One encoder for every line (`json.dumps` with an argument builds one a call: 2 µs of 7)."""

PARAMETER_LIMIT = 1_000_000
"""Characters of a parameter's literal kept (so that it can be replayed); larger: summarised."""


def state_dir() -> Path:
    override = os.environ.get("MPIPANEL_STATE_DIR")
    if override:
        return Path(override)
    import platformdirs
    return Path(platformdirs.user_state_dir("mpipanel"))


def new_log_path() -> Path:
    """A name for a new session log, in the state directory's `sessions`, made private first."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    private_directory(state_dir())
    return private_directory(state_dir() / "sessions") / f"session-{stamp}-{os.getpid()}.jsonl"


def encode_parameters(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    if parameters is None:
        return None
    return {name: literals.encode(value, PARAMETER_LIMIT) for name, value in parameters.items()}


class SessionLog:
    """An event subscriber that appends the session to `path` (made 0600; never through a symlink)."""

    def __init__(self, path: Path, header: dict[str, Any]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = os.fdopen(open_private_append(self.path), "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._write({"event": "session", "mpipanel": __version__,
                     "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                     **header})

    def __call__(self, event: Event) -> None:
        if isinstance(event, CommandQueued):
            self._write({"event": "queued", "id": event.id, "push": event.push, "command": event.command,
                         "target": event.push_target, "server": event.target, "block": event.block,
                         "parameters": encode_parameters(event.parameters), "origin": event.origin,
                         "shown": event.shown, "time_limit": event.time_limit, "retries": event.retries,
                         "time": event.time})
        elif isinstance(event, CommandRetried):
            self._write({"event": "retried", "id": event.id, "attempt": event.attempt, "server": event.server,
                         "reason": event.reason, "time": event.time})
        elif isinstance(event, CommandFinished):
            response = event.response
            self._write({"event": "finished", "id": response["id"], "server": response["server"],
                         "status": response["status"], "successful": response["successful"],
                         "mode": response["mode"], "ret": literals.encode(response["ret"]),
                         "traceback": response["traceback"], "namespace_reset": response["namespace_reset"],
                         "time_start": response["time_start"], "time_end": response["time_end"],
                         "provisional": event.provisional, "stack": response.get("stack")})

    def _write(self, line: dict[str, Any]) -> None:
        text = _LINE.encode(line) + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(text)
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
