"""How a casampi request travels as an mpipanel command, and the text that shows it.

A request travels as `COMMAND` with one parameter, `REQUEST_NAME` = (command, mode, parameters)
(`core.casampi.private.MPICommandServer.run_request` unpacks it on the server). That wire form is
what is sent, logged and replayed; the adapter gives each push the text to show for it
(`shown_command`, the push's `shown`), so that CASA's parallel tasks read
`flagdata(vis='….0003.ms', mode='manual')` in the window's history instead of one identical
wrapper line per sub-MS, and the window needs to know nothing of this layer.
"""
from __future__ import annotations

from typing import Any

REQUEST_NAME = "_casampi_request_"
COMMAND = ("__import__('core.casampi.private.MPICommandServer', fromlist=['run_request'])"
           ".run_request(globals())")


def request_parameters(command: str, mode: str, parameters: dict[str, Any] | None) -> dict[str, Any]:
    """The parameters of the `COMMAND` that carries the request."""
    return {REQUEST_NAME: (command, mode, parameters)}


def shown_command(command: str, mode: str, parameters: dict[str, Any] | None) -> str:
    """The request as its sender wrote it: its own command, and a call `f()` that casampi
    evaluates as `f(**parameters)` (casatasks' ParallelTaskHelper) written out with them."""
    call = command.strip()
    if mode == "eval" and isinstance(parameters, dict) and parameters and call.endswith("()"):
        arguments = ", ".join(f"{name}={value!r}" for name, value in parameters.items())
        return f"{call[:-2]}({arguments})"
    return command
