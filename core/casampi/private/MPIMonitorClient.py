"""casampi's `MPIMonitorClient`: the servers' health as the client sees it.

mpipanel's engine watches its servers itself (a heartbeat from each, a time-out in the client),
whenever the client's services run; this handle reads that watch through casampi's calls, and
suspends it in casampi's debugging mode.
"""
from __future__ import annotations

from core.casampi.private.singleton import SingletonHandle


class _MonitorClient:
    def __init__(self, start_services: bool = True):
        from core.casampi.MPICommandClient import MPICommandClient
        self._client = MPICommandClient()

    def get_server_status(self, server=None):
        return self._client.get_server_status(server)

    def get_server_status_keyword(self, server, keyword):
        return self._client.get_server_status(server)[keyword]

    def set_server_status_keyword(self, server, keyword, value):
        raise NotImplementedError("MPIMonitorClient.set_server_status_keyword(): a server's status is what "
                                  "mpipanel's engine last heard from it; it cannot be set from outside")

    def get_server_rank_available(self, verbose=False) -> list[int]:
        return [r for r, s in self._client.get_server_status().items() if not (s["busy"] or s["timeout"])]

    def get_server_rank_online(self, verbose=False) -> list[int]:
        return [r for r, s in self._client.get_server_status().items() if not s["timeout"]]

    def get_server_timeout(self) -> list[int]:
        return [r for r, s in self._client.get_server_status().items() if s["timeout"]]

    def start_services(self) -> None:
        """The watch runs with the client's services: starting those starts it."""
        self._client.start_services()

    def stop_services(self) -> None:
        raise NotImplementedError("MPIMonitorClient.stop_services(): mpipanel watches its servers for as long "
                                  "as the client's services run; stop those (MPICommandClient().stop_services())")

    def start_debugging_mode(self) -> None:
        """No server is newly declared timed out (a debugger may hold one) until
        `stop_debugging_mode`: the native client's `suspend_timeouts`."""
        self._client.native.suspend_timeouts(True)

    def stop_debugging_mode(self) -> None:
        self._client.native.suspend_timeouts(False)


class MPIMonitorClient(SingletonHandle):
    @classmethod
    def _create(cls, start_services: bool = True):
        return _MonitorClient(start_services)
