"""The notebook's adapter on a real client of this process: Kernel > Interrupt (SIGINT) landing while
a cell's commands are being sent from the cell's thread."""
from __future__ import annotations

import os
import signal

import pytest

from core.jupyter.session_client import SessionClient
from core.wire.responses import Status
from mpi_helpers import started_client


def test_an_interrupt_during_a_cells_send_waits_for_the_send_then_stops_what_was_sent(monkeypatch):
    with started_client(2) as client:
        session = SessionClient(client, owned=True)
        push = client.push_command_request

        def push_interrupted(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)  # as Kernel > Interrupt, just as the engine starts sending
            return push(*args, **kwargs)

        monkeypatch.setattr(client, "push_command_request", push_interrupted)
        with pytest.raises(KeyboardInterrupt):
            session.send("import time\ntime.sleep(60)", [1, 2])
        monkeypatch.undo()
        sent = [record.id for record in client.commands]
        assert len(sent) == 2  # the interrupt waited: both were sent, none was left half-done
        stopped = client.get_command_response(sent, block=True, timeout=30)
        assert {response["status"] for response in stopped} <= {Status.INTERRUPTED, Status.CANCELLED}
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert [future.result(30)["ret"] for future in session.send("6 * 7", [1, 2])] == [42, 42]
