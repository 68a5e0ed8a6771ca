"""How a casampi request travels as an mpipanel command, and how it is shown to the user.

A request travels as `COMMAND` with one parameter, `REQUEST_NAME` = (command, mode, parameters)
(`core.casampi.private.MPICommandServer.run_request` unpacks it on the server). That wire form is
what a session log records and replays; the window shows the request as its sender wrote it
(`shown_command`), so that CASA's parallel tasks read `flagdata(vis='….0003.ms', mode='manual')`
in the history instead of one identical wrapper line per sub-MS.
"""
from __future__ import annotations

from typing import Any

REQUEST_NAME = "_casampi_request_"
COMMAND = ("__import__('core.casampi.private.MPICommandServer', fromlist=['run_request'])"
           ".run_request(globals())")


def shown_command(command: str, parameters: dict[str, Any] | None) -> str:
    """`command` as its sender wrote it: a casampi request's own command, and a call `f()` that
    casampi evaluates as `f(**parameters)` (casatasks' ParallelTaskHelper) written out with them."""
    request = parameters.get(REQUEST_NAME) if command == COMMAND and isinstance(parameters, dict) else None
    if not (isinstance(request, tuple) and len(request) == 3):
        return command
    inner, mode, inner_parameters = request
    call = inner.strip()
    if mode == "eval" and isinstance(inner_parameters, dict) and inner_parameters and call.endswith("()"):
        arguments = ", ".join(f"{name}={value!r}" for name, value in inner_parameters.items())
        return f"{call[:-2]}({arguments})"
    return inner
