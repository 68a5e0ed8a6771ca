"""A small valid session log and script, for the tests that break them."""
from __future__ import annotations

SESSION = {"event": "session", "mpipanel": "0.1.0", "servers": [1, 2], "launch_mode": "spawn", "preload": None}
QUEUED = {"event": "queued", "id": 1, "push": 1, "command": "a + b", "target": None, "server": None,
          "block": False, "parameters": {"a": {"literal": "1"}, "b": {"summary": {"type": "int", "repr": "2"}}},
          "origin": None, "time": 1.0}
FINISHED = {"event": "finished", "id": 1, "server": 1, "status": "done", "successful": True, "mode": "eval",
            "ret": {"literal": "3"}, "traceback": None, "namespace_reset": False, "time_start": 1.0, "time_end": 2.0}
VALID_LOG = [SESSION, QUEUED, FINISHED]
VALID_SCRIPT = """\
SERVERS = 2
PRELOAD = 'import math'
client.push_command_request('x = 1', target_server=[1, 2])
ids += client.push_command_request('a + b', block=True, target_server=1, parameters={'a': 1, 'b': [2, 3]})
console.run('print(1)', {'k': 'v'}).result()
"""
