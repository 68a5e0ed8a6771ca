"""casampi's `MPICommandClient`, a thin adapter on mpipanel's `core.MPICommandClient`.

What it keeps from casampi (0.6), since programs and casampi's own tests rely on it:
- one client per process (a singleton handle), life cycle 0 new, 1 started, 2 stopped, and no
  restart after a stop; `start_services()` again while started does nothing;
- a rejected request logs why and returns None instead of raising: services not started or
  stopped, a command that is neither an expression nor statements, a target that is no server
  (or a list naming a timed-out one);
- request dicts `{command, parameters, mode, id, server, status}` with statuses 'holding queue',
  'request sent', 'response received' ('timeout' when the server timed out or was lost; a server
  that comes back delivers the real response, which replaces it, as casampi's does), and
  response dicts with casampi's keys `command_start_time`, `command_stop_time`, `ret`,
  `successful`, `traceback`; 'push' commands and casampi's handling of parameters
  (`core.casampi.private.MPICommandServer.run_request`); `ret` None for an 'exec' command.
  mpipanel's own statuses never leak into it: a native time limit that expired (status
  'expired', which casampi's requests never set) reads as a 'response received' that failed,
  its traceback saying so.

What it adds: a response's `value` is the command's value as IPython would show it: an 'eval'
command's (its `ret`), or the value of an 'exec' command's trailing expression (`x = 1\nx + 1`
gives 2), which mpipanel's window shows as an exec command's result.

What differs, because the engine is mpipanel's: ids come from the native client (commands it
sends for the adapter take ids too, so casampi's ids need not start at 1 or be consecutive);
a request for any server goes to the next idle one in round robin, not the highest-numbered idle
one (casampi's tests do not depend on which); `set_log_mode` acts at once, also after the start;
'separated' gives one log file per server (`core.server.separate_log`). Log records go to the
Python logger 'casampi', not to casalog.

In rank 0's client-side worker (`core.console`: code typed for the Client target, scripts run in
the window) `core.MPICommandClient` is the proxy of the window's client, which serves already:
`start_services()` then keeps the window's servers and log mode, and `stop_services()` leaves
them running.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from core.casampi.MPIEnvironment import MPIEnvironment
from core.casampi.requests import COMMAND, request_parameters, shown_command
from core.casampi.private.singleton import SingletonHandle

log = logging.getLogger("casampi")

LOG_MODES = ("unified", "separated", "redirect")
LOG_LEVELS = ("DEBUG", "DEBUG1", "DEBUG2", "NORMAL", "NORMAL1", "NORMAL2", "NORMAL3", "NORMAL4",
              "NORMAL5", "INFO", "INFO1", "INFO2", "INFO3", "INFO4", "INFO5")
"""casampi's level names; DEBUG* map to `logging.DEBUG` on the servers, the others to INFO."""

NEW, STARTED, STOPPED = 0, 1, 2


def command_mode(command) -> str | None:
    """casampi's mode of a command: 'push', 'eval' (an expression), 'exec', or None (neither)."""
    if command == "push":
        return "push"
    for mode in ("eval", "exec"):
        try:
            compile(command, "<casampi command>", mode)
            return mode
        except (SyntaxError, ValueError, TypeError):
            continue
    return None


class _CommandClient:
    def __init__(self):
        if not MPIEnvironment.is_mpi_client:
            raise Exception(f"MPICommandClient can only be instantiated at the client, not at "
                            f"{MPIEnvironment.mpi_execution_role}")
        from core import MPICommandClient as NativeClient
        self.native = NativeClient()
        self._window_client = bool(self.native.server_ranks())
        """Serving before casampi made it: the window's client, seen from rank 0's client-side
        worker; its servers and log mode stay as the window set them."""
        self._log_mode = "unified"
        self._state = NEW
        self._requests: dict[int, dict[str, Any]] = {}
        self._responses: dict[int, dict[str, Any]] = {}
        self._last_command: dict[int, str] = {}
        self._finished: set[int] = set()
        self._started_early: dict[int, int] = {}
        self._sent = threading.Condition()

    # ----- life cycle ---------------------------------------------------------------------
    def get_lifecyle_state(self) -> int:
        return self._state

    def set_log_mode(self, logmode: str) -> None:
        if logmode not in LOG_MODES:
            raise ValueError(f"MPICommandClient.set_log_mode({logmode!r}): the modes are {LOG_MODES}")
        self._log_mode = logmode
        if self._state != STOPPED:
            self.native.set_log_mode(logmode)

    def set_log_level(self, log_level: str) -> None:
        if not self._started("set_log_level"):
            return
        if log_level not in LOG_LEVELS:
            log.warning("Unknown log level %s, recognized levels are: %s", log_level, list(LOG_LEVELS))
            return
        MPIEnvironment.command_handling_log_level = log_level
        self.native.set_log_level(logging.DEBUG if log_level.startswith("DEBUG") else logging.INFO)

    def start_services(self) -> None:
        if self._state == STARTED:
            return
        if self._state == STOPPED:
            log.warning("MPICommandClient life cycle finalized: its services cannot start again")
            return
        if not self._window_client:
            self.native.set_log_mode(self._log_mode)
            self.native.start_services()
        self.native.subscribe(self._on_event)
        self._state = STARTED

    def stop_services(self, force_command_request_interruption: bool = False) -> None:
        if not self._started("stop_services"):
            return
        for request_id, request in self._requests.items():
            if self._response(request_id) is None:
                log.error("Aborting command request with id# %s: %s", request_id, request["command"])
        try:
            self.native.stop_services(force_command_request_interruption)
        except RuntimeError as exc:  # casampi's stop never raises; it logs
            log.error("MPICommandClient.stop_services(): %s", exc)
        self._state = STOPPED

    def _started(self, call: str) -> bool:
        if self._state == STARTED:
            return True
        log.warning("MPICommandClient.%s(): %s", call,
                    "services not started" if self._state == NEW else "life cycle finalized")
        return False

    # ----- requests ------------------------------------------------------------------------
    def push_command_request(self, command, block=False, target_server=None, parameters=None):
        if not self._started("push_command_request"):
            return None
        mode = command_mode(command)
        if mode is None:
            log.error("Command %r is neither an expression nor statements", command)
            return None
        targets = self._targets(target_server)
        if targets is None:
            return None
        ids = self.native.push_command_request(COMMAND, False, None if target_server is None else targets,
                                               request_parameters(command, mode, parameters),
                                               shown=shown_command(command, mode, parameters))
        with self._sent:
            for request_id, server in zip(ids, targets or [None]):
                self._requests[request_id] = {"command": command, "parameters": parameters, "mode": mode,
                                              "id": request_id, "server": server, "status": "holding queue"}
                if request_id in self._started_early:
                    self._mark_sent(request_id, self._started_early.pop(request_id))
        if block:
            return self.get_command_response(ids, True, False)
        return ids

    def _targets(self, target_server) -> list[int] | None:
        """casampi's target rules: None (any server; returns []), a server rank, or a non-empty
        list of ranks none of which timed out. Anything else is logged and gives None."""
        servers = MPIEnvironment.mpi_server_rank_list()
        if target_server is None:
            return []
        if isinstance(target_server, int) and not isinstance(target_server, bool) and target_server in servers:
            return [target_server]
        if isinstance(target_server, list) and target_server and all(
                isinstance(t, int) and not isinstance(t, bool) and t in servers for t in target_server):
            timed_out = [t for t in target_server if self.native.get_server_status()[t]["timeout"]]
            if not timed_out:
                return list(target_server)
            log.error("Target servers %s are in timeout status", timed_out)
            return None
        log.error("Target server %r is not a server rank, nor a list of them: the servers are %s",
                  target_server, servers)
        return None

    def _on_event(self, event) -> None:
        """Keep the request dicts live: sent to a server means running there, as in casampi.
        (Events come a moment after the fact, and the native client's own commands too.)"""
        from core.events import CommandFinished, CommandStarted
        with self._sent:
            if isinstance(event, CommandStarted):
                if event.id in self._requests:
                    self._mark_sent(event.id, event.server)
                else:  # before `push_command_request` has noted it, or not a casampi request
                    self._started_early[event.id] = event.server
            elif isinstance(event, CommandFinished):
                self._finished.add(event.response["id"])
            self._sent.notify_all()

    def _mark_sent(self, request_id: int, server: int) -> None:
        request = self._requests[request_id]
        if request["status"] == "holding queue":
            request.update(status="request sent", server=server)
        self._last_command[server] = request["command"]

    def wait_for_command_request_sent(self, command_request_id_list) -> None:
        with self._sent:
            self._sent.wait_for(lambda: all(self._requests[i]["status"] != "holding queue"
                                            or i in self._finished for i in command_request_id_list))

    # ----- responses -----------------------------------------------------------------------
    def _response(self, request_id: int) -> dict[str, Any] | None:
        """casampi's response for the request, once mpipanel's is there. Made again from the
        native one each time, in the same dict: a provisional 'timeout' is replaced by the real
        response when its server comes back (`core.events.CommandFinished`)."""
        native = self.native.get_command_response([request_id])
        if not native:
            return None
        native = native[0]
        request = self._requests[request_id]
        lost = native["status"] in ("timeout", "lost")
        request["status"] = "timeout" if lost else "response received"
        request["server"] = native["server"]
        response = dict(request, command_start_time=native["time_start"],
                        command_stop_time=native["time_end"],
                        ret=None if request["mode"] == "exec" else native["ret"], value=native["ret"],
                        successful=native["successful"], traceback=native["traceback"])
        if native["status"] == "timeout":
            response["traceback"] = self._timeout_text(native["server"])
        kept = self._responses.setdefault(request_id, response)
        kept.update(response)
        return kept

    def _timeout_text(self, server: int) -> str:
        status = self.native.get_server_status().get(server, {})
        return (f"Timeout of assigned server n# {server} deployed at {status.get('processor')} "
                f"with PID {status.get('pid')}")

    def get_command_response(self, command_request_id_list, block=False, verbose=True):
        ids = list(command_request_id_list)
        unknown = [i for i in ids if i not in self._requests]
        if unknown:
            raise KeyError(f"MPICommandClient.get_command_response(): no command request has id {unknown[0]!r}")
        if block:
            self.native.get_command_response(ids, block=True)
        responses = []
        for request_id in ids:
            response = self._response(request_id)
            if response is not None:
                responses.append(dict(response))
            elif verbose:
                request = self._requests[request_id]
                log.info("Command request with id# %s is in %s state assigned to server %s",
                         request_id, request["status"], request["server"])
        return responses

    def get_command_response_event(self, command_request_id_list) -> threading.Event:
        return self.native.get_command_response_event(list(command_request_id_list))

    def get_command_request_list(self) -> dict[int, dict[str, Any]]:
        """The live request dicts by id (not copies), as casampi gives them."""
        return self._requests

    def get_command_response_list(self) -> dict[int, dict[str, Any]]:
        """The responses received so far by id (not copies), as casampi gives them."""
        for request_id in list(self._requests):
            self._response(request_id)
        return self._responses

    # ----- servers -------------------------------------------------------------------------
    def get_server_status(self, server=None):
        """casampi's status dicts by rank (or one rank's): `rank, processor, pid, busy, command`
        (the last command sent there), `command_start_time` (None, as casampi's usually is),
        `pong_pending`, `ping_time`, `pong_time` (when mpipanel last heard from it) and
        `timeout`; plus `worker_pid`, the process that runs the server's commands (the one to
        signal, where casampi's tests signal `pid`)."""
        native = self.native.get_server_status()
        statuses = {rank: self._server_status(rank, status) for rank, status in native.items()}
        if server is None:
            return statuses
        if server not in statuses:
            log.warning("Server %r does not exist: the servers are %s", server, sorted(statuses))
            return None
        return statuses[server]

    def _server_status(self, rank: int, native: dict[str, Any]) -> dict[str, Any]:
        heard = time.time() - (time.monotonic() - native["last_heard"])
        return {"rank": rank, "processor": native["processor"], "pid": native["pid"],
                "worker_pid": native["worker_pid"], "busy": native["busy"],
                "command": self._last_command.get(rank), "command_start_time": None,
                "pong_pending": False, "ping_time": heard, "pong_time": heard,
                "timeout": native["timeout"] or native["lost"]}

    # ----- CASA runtime settings, run on the servers ------------------------------------------
    def set_omp_num_threads(self, omp_max_threads, target_server):
        return self._casa_call("set_omp_num_threads", f"self.omp_set_num_threads({omp_max_threads!r})",
                               target_server)

    def setMemoryTotal(self, memory, target_server):
        return self._casa_call("setMemoryTotal", f"casalog.setMemoryTotal({memory!r})", target_server)

    def setMemoryFraction(self, memfrac, target_server):
        return self._casa_call("setMemoryFraction", f"casalog.setMemoryFraction({memfrac!r})", target_server)

    def setNumCPUs(self, numCPUs, target_server):
        return self._casa_call("setNumCPUs", f"casalog.setNumCPUs({numCPUs!r})", target_server)

    def getMemoryTotal(self, use_aipsrc, target_server):
        return self._casa_value("getMemoryTotal", f"casalog.getMemoryTotal({use_aipsrc!r})", target_server)

    def getNumCPUs(self, use_aipsrc, target_server):
        return self._casa_value("getNumCPUs", f"casalog.getNumCPUs({use_aipsrc!r})", target_server)

    def _casa_call(self, call: str, command: str, target_server):
        if self._started(call):
            return self.push_command_request(command, True, target_server)
        return None

    def _casa_value(self, call: str, command: str, target_server):
        """One server's value, or a list of them for a list of servers (casampi's shape)."""
        responses = self._casa_call(call, command, target_server)
        if responses is None:
            return None
        values = [r["ret"] for r in responses]
        return values[0] if len(values) == 1 else values


class MPICommandClient(SingletonHandle):
    """casampi's client handle: every `MPICommandClient()` is the same client."""

    @classmethod
    def _create(cls):
        return _CommandClient()
