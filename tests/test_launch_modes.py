"""Both launch modes: `mpiexec -n N python -m core script.py`, and a plain script that spawns."""
from __future__ import annotations

import json

from mpi_helpers import REPO, run_mpiexec, run_python, script_file

SEED_SCRIPT = """
    import json, sys
    from core import MPICommandClient, MPIEnvironment
    client = MPICommandClient()
    client.set_log_mode('redirect')
    client.start_services()
    client.push_command_request("x = 2 * 21", target_server=1)
    [res] = client.push_command_request("x", block=True, target_server=1)
    ids = client.push_command_request("a + b", parameters={'a': 1, 'b': 2})
    [added] = client.get_command_response(ids, block=True)
    ranks = MPIEnvironment.mpi_server_rank_list()
    hosts = sorted({s['processor'] for s in client.get_server_status().values()})
    print(json.dumps({"x": res["ret"], "sum": added["ret"], "ranks": ranks, "mode": client.launch_mode,
                      "argv": sys.argv[1:], "client": MPIEnvironment.is_mpi_client, "hosts": hosts}))
    client.stop_services()
"""


def _last_json(stdout: str) -> dict:
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def test_mpiexec_runs_the_script_on_rank_0_and_serves_on_the_others(tmp_path):
    result = run_mpiexec(3, "-m", "core", str(script_file(tmp_path, SEED_SCRIPT)), "--flag", "value")
    assert result.returncode == 0, result.stderr
    report = _last_json(result.stdout)
    assert report == {"x": 42, "sum": 3, "ranks": [1, 2], "mode": "mpiexec",
                      "argv": ["--flag", "value"], "client": True, "hosts": report["hosts"]}


def test_plain_python_spawns_the_servers_it_is_told(tmp_path):
    result = run_python(str(script_file(tmp_path, SEED_SCRIPT)), env={"MPIPANEL_SERVERS": "3"})
    assert result.returncode == 0, result.stderr
    report = _last_json(result.stdout)
    assert (report["x"], report["sum"], report["ranks"], report["mode"]) == (42, 3, [1, 2, 3], "spawn")


def test_script_that_forgets_to_stop_still_ends_cleanly(tmp_path):
    body = """
        from core import MPICommandClient
        client = MPICommandClient()
        client.start_services()
        client.push_command_request("import time; time.sleep(0.3); print('late work done')", target_server=2)
    """
    result = run_mpiexec(3, "-m", "core", str(script_file(tmp_path, body)))
    assert result.returncode == 0, result.stderr
    assert "[server 2] late work done" in result.stdout


def test_server_output_is_printed_with_its_server_prefix(tmp_path):
    body = """
        import logging
        from core import MPICommandClient
        client = MPICommandClient(servers=2)
        client.start_services()
        client.push_command_request(
            "import logging, ctypes, sys; print('one\\\\ntwo'); print('err', file=sys.stderr);"
            "logging.getLogger('task').warning('careful');"
            "ctypes.CDLL(None).printf(b'from C\\\\n')", block=True, target_server=[1, 2])
        client.stop_services()
    """
    result = run_python(str(script_file(tmp_path, body)))
    assert result.returncode == 0, result.stderr
    for rank in (1, 2):
        assert f"[server {rank}] one\n[server {rank}] two\n" in result.stdout
        assert f"[server {rank}] from C\n" in result.stdout
        assert f"[server {rank}] err\n" in result.stderr
        assert f"[server {rank}] WARNING task: careful\n" in result.stderr


def test_unified_log_mode_leaves_output_on_the_servers_streams(tmp_path):
    body = """
        from core import MPICommandClient
        client = MPICommandClient()
        client.set_log_mode('unified')
        client.start_services()
        client.push_command_request("import logging; print('plain line'); logging.warning('a record')",
                                    block=True, target_server=1)
        client.stop_services()
    """
    result = run_mpiexec(2, "-m", "core", str(script_file(tmp_path, body)))
    assert result.returncode == 0, result.stderr
    assert "plain line" in result.stdout and "[server" not in result.stdout
    assert "a record" in result.stderr and "[server" not in result.stderr


def test_exception_in_the_script_stops_the_servers_and_exits_non_zero(tmp_path):
    body = """
        from core import MPICommandClient
        client = MPICommandClient()
        client.start_services()
        client.push_command_request("import time; time.sleep(60)", target_server=1)
        raise RuntimeError("script broke")
    """
    result = run_mpiexec(3, "-m", "core", str(script_file(tmp_path, body)), timeout=60)
    assert result.returncode != 0
    assert "RuntimeError: script broke" in result.stderr


def test_script_that_never_starts_a_client_still_releases_the_servers(tmp_path):
    result = run_mpiexec(3, "-m", "core", "-c", "print('no client here')", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "no client here" in result.stdout


def test_module_form_runs_a_module_as_main(tmp_path):
    script_file(tmp_path, SEED_SCRIPT, name="seed_session.py")
    result = run_mpiexec(2, "-m", "core", "-m", "seed_session", "arg", cwd=tmp_path,
                         env={"PYTHONPATH": f"{tmp_path}:{REPO}"})
    assert result.returncode == 0, result.stderr
    assert _last_json(result.stdout)["argv"] == ["arg"]


def test_plain_mpiexec_of_a_script_turns_the_other_ranks_into_servers(tmp_path):
    result = run_mpiexec(3, str(script_file(tmp_path, SEED_SCRIPT)))
    assert result.returncode == 0, result.stderr
    assert _last_json(result.stdout)["ranks"] == [1, 2]


def test_launcher_help_names_both_launch_modes():  # its usage errors: tests/test_startup.py
    helped = run_python("-m", "core", "--help")
    assert helped.returncode == 0 and "mpiexec -n N" in helped.stdout


def test_servers_count_that_contradicts_mpiexec_is_refused(tmp_path):
    body = """
        from core import MPICommandClient
        try:
            MPICommandClient(servers=5).start_services()
        except ValueError as exc:
            print("refused:", exc)
    """
    result = run_mpiexec(3, "-m", "core", str(script_file(tmp_path, body)), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "refused: servers=5, but this mpiexec job has 2 server ranks" in result.stdout


NICE_SCRIPT = """
    import json, os, psutil
    from core import MPICommandClient
    client = MPICommandClient(servers=1, server_nice=7, print_output=False, session_log=False)
    client.start_services()
    status = client.get_server_status()[1]
    [seen] = client.push_command_request("__import__('os').nice(0)", block=True, target_server=1)
    def autogroup(pid):  # empty where the process sits in a cgroup of its own, not an autogroup
        path = f"/proc/{pid}/autogroup"
        return (open(path).read() or None) if os.path.exists(path) else None
    print(json.dumps({"client": os.nice(0), "rank": psutil.Process(status["pid"]).nice(),
                      "worker": psutil.Process(status["worker_pid"]).nice(), "command": seen["ret"],
                      "groups": [autogroup(status["pid"]), autogroup(status["worker_pid"])]}))
    client.stop_services()
"""


def test_server_nice_lowers_the_priority_of_local_servers_and_their_workers_not_the_client(tmp_path):
    result = run_python(script_file(tmp_path, NICE_SCRIPT))
    assert result.returncode == 0, result.stderr
    seen = _last_json(result.stdout)
    assert (seen["client"], seen["rank"], seen["worker"], seen["command"]) == (0, 7, 7, 7)
    for group in seen["groups"]:  # rank and worker each lead a session, scheduled as a group
        assert group is None or group.strip().endswith("nice 7")


def test_under_mpiexec_a_second_client_in_the_process_is_the_running_one(tmp_path):
    """As casampi's: code that makes its own `MPICommandClient()` while the program's runs (a
    library, a task) gets the running client; its start is a no-op, not "already served"."""
    body = """
        import json
        from core import MPICommandClient
        first = MPICommandClient(print_output=False, session_log=False)
        first.start_services()
        second = MPICommandClient(servers=5, print_output=True)
        second.start_services()
        [answer] = second.push_command_request("6 * 7", block=True, target_server=2)
        first.stop_services()
        print(json.dumps({"same": second is first, "answer": answer["ret"], "state": first._state}))
    """
    result = run_mpiexec(3, "-m", "core", str(script_file(tmp_path, body)))
    assert result.returncode == 0, result.stderr
    assert _last_json(result.stdout) == {"same": True, "answer": 42, "state": "stopped"}
