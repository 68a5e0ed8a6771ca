"""CASA on the servers: casampi's namespace by preload, a casalog file per server, tasks by name."""
from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from core.casa.offline import config_preload

from core.casa.log_lines import parse_line
from core.casa.server_setup import preload_code
from mpi_helpers import run_python


@pytest.fixture(scope="module")
def casa_client(casa_config, tmp_path_factory):
    from core import MPICommandClient
    log_dir = tmp_path_factory.mktemp("server-logs")
    with MPICommandClient(servers=2, print_output=False, session_log=False,
                          preload=config_preload(casa_config) + preload_code(str(log_dir))) as client:
        client.log_dir = log_dir
        yield client


def _server_log(client, rank: int) -> list:
    """The casalog files of server `rank`'s current worker, by casampi's naming."""
    pid = client.get_server_status()[rank]["worker_pid"]
    return sorted(client.log_dir.glob(f"casa-*.log-server-{rank}-host-{socket.gethostname()}-pid-{pid}"))


def test_each_server_writes_casalog_to_its_own_file_named_as_casampi_names_them(casa_client):
    for rank in (1, 2):
        [posted] = casa_client.push_command_request(f"casalog.post('hello from server {rank}')", block=True,
                                                    target_server=rank)
        assert posted["successful"], posted["traceback"]
        [path] = _server_log(casa_client, rank)
        assert "\tINFO\t" in path.read_text() and f"hello from server {rank}" in path.read_text()


def test_a_task_pushed_with_parameters_runs_by_name_as_in_serial(casa_client, small_ms):
    from casatasks import flagdata
    serial = flagdata(vis=str(small_ms), mode="summary")
    [response] = casa_client.push_command_request("flagdata(vis=vis, mode=mode)", block=True, target_server=1,
                                                  parameters={"vis": str(small_ms), "mode": "summary"})
    assert response["successful"], response["traceback"]
    assert response["ret"] == serial and serial["total"] == 86016.0


def test_the_namespace_is_casampis(casa_client):
    [response] = casa_client.push_command_request(
        "[name in globals() for name in ('flagdata', 'casalog', 'time', 'uuid', 'casa', 'sys')]",
        block=True, target_server=2)
    assert response["ret"] == [True, True, True, True, False, False]


def test_a_restarted_server_is_set_up_again_with_a_new_log_file(casa_client):
    [before] = _server_log(casa_client, 2)
    casa_client.restart_server(2).result(60)
    [response] = casa_client.push_command_request("casalog.post('after the restart', 'WARN'), "
                                                  "os.stat(casalog.logfile()).st_ino", block=True, target_server=2)
    assert response["successful"] and response["namespace_reset"] is True
    [after] = _server_log(casa_client, 2)
    assert after != before and response["ret"] == (True, after.stat().st_ino)
    assert "\tWARN\t" in after.read_text()


def test_a_symlink_planted_at_a_casalog_files_name_is_not_written_through(casa_config, tmp_path):
    """The server's casalog goes to a new private file, under the next free name if someone took
    the predicted one, and that real name is logged."""
    victim = tmp_path / "victim.txt"
    victim.write_text("")
    result = run_python("-c", f"""if True:
        import logging, os
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
        from casatasks import casalog
        from core.casa import server_setup
        os.symlink({str(victim)!r}, os.path.join({str(tmp_path)!r}, server_setup.log_file_name(casalog.logfile(), 1)))
        path = server_setup.setup(1, {str(tmp_path)!r})
        casalog.post('private words')
        print(path)
        """, env=casa_config, timeout=120)
    assert result.returncode == 0, result.stderr
    path = result.stdout.splitlines()[-1]
    assert victim.read_text() == ""
    assert path.endswith(f"-host-{socket.gethostname()}-pid-{path.split('-pid-')[1].split('-')[0]}-1")
    assert "private words" in Path(path).read_text() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert f"casa: casalog of server 1: {path}" in result.stderr


@pytest.mark.parametrize("line, level, message", [
    ("2026-11-30 14:23:17\tINFO\t::casa\thello", 20, "hello"),
    ("2026-11-30 14:23:17\tINFO3\tflagdata::::casa\t##### Begin Task", 20, "##### Begin Task"),
    ("2026-11-30 14:23:17\tWARN\t::casa\tcareful\twith tabs", 30, "careful\twith tabs"),
    ("2026-11-30 14:23:17\tSEVERE\t::casa+\tline2", 40, "line2"),
    ("2026-11-30 14:23:17\tDEBUG2\t::casa\tdetail", 10, "detail"),
])
def test_casalog_lines_are_read_at_their_priority(line, level, message):
    assert parse_line(line) == (level, message)


def test_a_line_of_another_shape_is_no_casalog_line():
    assert parse_line("not a casalog line") is None
    assert parse_line("2026-11-30 14:23:17\tNOTICE\t::casa\thello") is None
