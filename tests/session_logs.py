"""What a session log says, for tests that compare a frontend's history with it."""
from __future__ import annotations

import json


def logged_history(text: str) -> list[list]:
    """Every command of a session log's text: [id, command, server, status, origin], in id order."""
    commands: dict[int, list] = {}
    for line in text.splitlines():
        entry = json.loads(line)
        if entry["event"] == "queued":
            commands[entry["id"]] = [entry["id"], entry["command"], None, "queued", entry["origin"]]
        elif entry["event"] == "finished":
            commands[entry["id"]][2:4] = [entry["server"], entry["status"]]
    return [commands[i] for i in sorted(commands)]


def replica_history(client) -> list[list]:
    """The same rows from an attached client's replica of the session."""
    return client.read(lambda model: [[e.id, e.command, e.server, str(e.status), e.origin]
                                      for e in model.history.values()])
