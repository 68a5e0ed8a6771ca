"""A kernel driven message by message while its `%px` cells run: output that arrives before the
cell ends, Kernel > Interrupt, a flood of output, and the starts a kernel must refuse."""
from __future__ import annotations

import time

from notebook_helpers import (LOOPING, WAIT_FOR_FILE, flood_is_capped_and_the_kernel_responsive, interrupt_once_running,
                              touch_once_shown)


def test_output_reaches_the_notebook_while_the_cell_still_runs(kernel, tmp_path):
    go = tmp_path / "go"
    reply = kernel.run(WAIT_FOR_FILE.format(path=str(go)), touch_once_shown(go))
    assert reply.status == "ok", reply.messages
    assert any(kind == "display_data" and content["data"]["text/plain"].endswith("]: 'went'")
               for kind, content in reply.messages)


def _pids(kernel) -> list[str]:
    table = next(c["data"]["text/plain"] for t, c in kernel.run("%mpipanel status").messages if t == "display_data")
    return [line.split()[2] for line in table.splitlines()[1:]]


def test_kernel_interrupt_stops_the_cells_commands_and_the_session_goes_on(kernel):
    pids = _pids(kernel)
    seen: list[str] = []
    started = time.monotonic()
    reply = kernel.run(LOOPING, interrupt_once_running(kernel, [1, 2], seen))
    assert "interrupted" in seen and time.monotonic() - started < 30
    assert reply.status == "error"
    assert (reply.error["ename"], reply.error["evalue"]) == \
        ("CellInterrupted", "the cell's commands were interrupted on servers 1, 2")
    after = kernel.run("%px 'alive'")
    assert after.status == "ok" and after.error is None
    assert _pids(kernel) == pids  # the same servers: MPI's launcher never saw the SIGINT


def test_a_flood_from_four_servers_is_capped_and_the_kernel_stays_responsive(bare_kernel):
    assert bare_kernel.run("%mpipanel start -n 4").status == "ok"
    flood_is_capped_and_the_kernel_responsive(bare_kernel)
    assert bare_kernel.run("%mpipanel stop").status == "ok"


def test_a_second_start_and_a_late_casa_are_refused_saying_why(bare_kernel):
    assert bare_kernel.run("%mpipanel start -n 1").status == "ok"
    again = bare_kernel.run("%mpipanel start")
    assert "the servers run already (%mpipanel stop first)" in again.streams("stderr")
    bare_kernel.run("%mpipanel stop")
    casa = bare_kernel.run("%mpipanel start --casa")
    assert casa.status == "error"
    assert "first %mpipanel start was without --casa" in casa.streams("stderr")


def test_casa_is_refused_once_mpi_has_started_in_the_kernel(bare_kernel):
    bare_kernel.run("from mpi4py import MPI")
    reply = bare_kernel.run("%mpipanel start --casa")
    assert "--casa must be chosen before MPI starts in this kernel" in reply.streams("stderr")


def test_reloading_the_extension_stops_its_servers_and_a_new_start_spawns_again(kernel):
    assert kernel.run("%reload_ext core.jupyter").status == "ok"
    assert "no servers run here" in kernel.run("%mpipanel status").streams("stderr")
    assert kernel.run("%mpipanel start -n 1").status == "ok"
    again = kernel.run("%px 'again'")
    assert again.error is None and any(kind == "display_data" for kind, _ in again.messages)
