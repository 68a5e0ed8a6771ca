"""Loaded by every process of a `tools/round_trip_stamps.py` session (first on its PYTHONPATH).

Each process notes `(what, time.perf_counter_ns(), tag)`: every envelope `receive` returns
("recv"), the start and end of every `Peer.send` ("send0", "send1"), and the entry and exit of
the functions `ROUND_TRIP_WRAP` names ("Class.name>", "Class.name<"). The notes go to
`ROUND_TRIP_STAMPS/PID.json` every 2,000 notes and at exit. Without `ROUND_TRIP_STAMPS` it does
nothing.
"""
import atexit
import importlib
import json
import os
import sys
import time

NOTES: list = []


def _dump(path: str) -> None:
    with open(path, "w") as out:
        json.dump({"argv": sys.argv, "stamps": NOTES}, out)


def note(what: str, tag: int = 0) -> None:
    NOTES.append((what, time.perf_counter_ns(), tag))
    if len(NOTES) % 2000 == 0:
        _dump(_PATH)


def _stamp_transport() -> None:
    transport = importlib.import_module("core.wire.transport")
    receive, send = transport.receive, transport.Peer.send

    def stamped_receive(*args, **kwargs):
        message = receive(*args, **kwargs)
        if message is not None:
            note("recv", int(message[1]))
        return message

    def stamped_send(self, tag, *args, **kwargs):
        note("send0", int(tag))
        send(self, tag, *args, **kwargs)
        note("send1", int(tag))

    transport.Peer.send = stamped_send
    for user in ("core.client.engine", "core.server.rank"):  # they import `receive` by name
        importlib.import_module(user).receive = stamped_receive


def _wrap(spec: str) -> None:
    module_name, _, qualname = spec.partition(":")
    owner_name, _, name = qualname.rpartition(".")
    owner = importlib.import_module(module_name)
    for part in filter(None, owner_name.split(".")):
        owner = getattr(owner, part)
    function = getattr(owner, name)

    def wrapper(*args, **kwargs):
        note(qualname + ">")
        try:
            return function(*args, **kwargs)
        finally:
            note(qualname + "<")

    setattr(owner, name, wrapper)


if os.environ.get("ROUND_TRIP_STAMPS"):
    _PATH = os.path.join(os.environ["ROUND_TRIP_STAMPS"], f"{os.getpid()}.json")
    _stamp_transport()
    for _spec in filter(None, os.environ.get("ROUND_TRIP_WRAP", "").split(",")):
        _wrap(_spec)
    atexit.register(_dump, _PATH)
