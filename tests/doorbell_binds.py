"""Imported by a client script under test (with tests/ on its PYTHONPATH): `binds` records the
addresses each doorbell listener of the process is made to listen on."""
from __future__ import annotations

from core.wire import doorbell

binds: list = []
_listen = doorbell.DoorbellListener.__init__


def _recording(self, hosts) -> None:
    binds.append(hosts)
    _listen(self, hosts)


doorbell.DoorbellListener.__init__ = _recording
