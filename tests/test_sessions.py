"""Sessions: the on-disk log, saving it as a script, and replaying it headless."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest

from core import MPICommandClient
from core.events import ServerOutput
from core.frontends.host import SessionHost
from core.frontends.local import LocalFrontend
from core.sessions.recorded import read_log, read_script
from core.replay import Replay, compare
from mpi_helpers import REPO, run_mpiexec, run_python, script_file


def _record(tmp_path, servers=2):
    """A session with state on two servers, parameters, a failure and non-blocking batches."""
    log = tmp_path / "recorded.jsonl"
    with MPICommandClient(servers=servers, print_output=False, session_log=log) as client:
        client.push_command_request("import math\ntotal = 0", target_server=[1, 2])
        batch = [client.push_command_request(f"total += {i}", target_server=1 + i % 2) for i in range(6)]
        client.push_command_request("total", block=True, target_server=1)
        ids = client.push_command_request("scale * math.sqrt(x)", parameters={"scale": 2, "x": 16.0})
        client.push_command_request("undefined_name", block=True, target_server=2)
        client.push_command_request("(total, [i * i for i in range(4)], {'k': (1, 2)})", block=True,
                                    target_server=[2, 1])
        client.get_command_response([batch, ids], block=True)
        script = client.save_session(tmp_path / "session.py")
    return log, script


def test_every_command_and_its_outcome_is_logged_as_it_happens(tmp_path):
    pytest.importorskip("numpy")
    log = tmp_path / "log.jsonl"
    with MPICommandClient(servers=1, print_output=False, session_log=log) as client:
        assert client.session_log_path == log
        client.push_command_request("a + 1", block=True, parameters={"a": 41})
        client.push_command_request("import numpy as np; big = np.zeros((300, 400))", block=True)
        client.push_command_request("big", block=True)
        lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["event"] == "session" and lines[0]["servers"] == [1] and lines[0]["launch_mode"] == "spawn"
    queued = [line for line in lines if line["event"] == "queued"]
    finished = [line for line in lines if line["event"] == "finished"]
    assert len(queued) == len(finished) == 3
    assert queued[0]["parameters"] == {"a": {"literal": "41"}} and finished[0]["ret"] == {"literal": "42"}
    summary = finished[2]["ret"]["summary"]
    assert summary["type"] == "numpy.ndarray" and summary["shape"] == [300, 400] and summary["dtype"] == "float64"


def test_saved_script_is_plain_seed_api_code_in_the_order_sent(tmp_path):
    log, script = _record(tmp_path)
    text = script.read_text()
    assert "from core import MPICommandClient, MPIEnvironment" in text and "SERVERS = 2" in text
    assert 'client.push_command_request("""import math\ntotal = 0""", target_server=[1, 2])' in text
    assert "ids += client.push_command_request('total += 3', target_server=2)" in text
    assert "client.push_command_request('total', block=True, target_server=1)" in text
    assert "parameters={'scale': 2, 'x': 16.0}" in text
    assert text.rstrip().endswith("client.get_command_response(ids, block=True)\nclient.stop_services()")
    _, from_script = read_script(script)
    _, from_log = read_log(log)
    assert [(p.command, p.target, p.block) for p in from_script] == [(p.command, p.target, p.block) for p in from_log]


def test_a_command_keeps_the_text_its_sender_gave_to_show_it_by_in_its_response_log_script_and_replay(tmp_path):
    log = tmp_path / "shown.jsonl"
    with MPICommandClient(servers=2, print_output=False, session_log=log) as client:
        [response] = client.push_command_request("value * 2", block=True, target_server=1,
                                                 parameters={"value": 21}, shown="twice(21)")
        plain = client.submit("1 + 1", target=2).result(30)
        with pytest.raises(TypeError, match="^shown must be the text to show for the command"):
            client.submit("1", shown=3)
        script = client.save_session(tmp_path / "shown.py")
        host = SessionHost(client)  # a replay runs through a frontend of the session
        try:
            Replay(LocalFrontend(host, label="replay"), read_log(log)[1]).run(timeout=30)
        finally:
            host.close()
        replayed = [(r.command, r.shown) for r in client.commands if r.origin == "replay"]
    assert (response["command"], response["shown"], response["ret"]) == ("value * 2", "twice(21)", 42)
    assert (plain["command"], plain["shown"]) == ("1 + 1", None)
    queued = [json.loads(line) for line in log.read_text().splitlines() if '"queued"' in line]
    assert [(q["command"], q["shown"]) for q in queued] == [("value * 2", "twice(21)"), ("1 + 1", None)] * 2
    assert ("client.push_command_request('value * 2', block=True, target_server=1, parameters={'value': 21}, "
            "shown='twice(21)')") in script.read_text()
    assert [(p.command, p.shown) for p in read_script(script)[1]] == [("value * 2", "twice(21)"), ("1 + 1", None)]
    assert replayed == [("value * 2", "twice(21)"), ("1 + 1", None)]


@pytest.mark.parametrize("launch", ["python", "mpiexec"])
def test_saved_script_replays_headless_to_the_same_results(tmp_path, launch):
    log, script = _record(tmp_path)
    state = tmp_path / f"state-{launch}"
    env = {"MPIPANEL_STATE_DIR": str(state)}
    result = (run_python(str(script), env=env) if launch == "python"
              else run_mpiexec(3, "-m", "core", str(script), env=env))
    assert result.returncode == 0, result.stderr
    [new_log] = (state / "sessions").glob("*.jsonl")
    _, recorded = read_log(log)
    header, replayed = read_log(new_log)
    assert header["launch_mode"] == ("spawn" if launch == "python" else "mpiexec")
    assert len(replayed) == len(recorded)
    for old, new in zip(recorded, replayed):
        responses = [{"server": o.server, "status": o.status, "successful": o.successful,
                      "traceback": o.traceback, "ret": _literal(o.ret)}
                     for o in sorted(new.outcomes, key=lambda o: o.id)]
        assert all(c.matches for c in compare(old, responses)), (old.command, compare(old, responses))


def _literal(encoded):
    import ast
    return ast.literal_eval(encoded["literal"])


def test_replay_check_reports_every_command_and_fails_on_a_difference(tmp_path):
    log = tmp_path / "random.jsonl"
    with MPICommandClient(servers=1, print_output=False, session_log=log) as client:
        client.push_command_request("6 * 7", block=True)
        client.push_command_request("__import__('random').random()", block=True)
        client.push_command_request("__import__('numpy').random.default_rng().random(4)", block=True)
    result = run_python("-m", "core.replay", str(log), "--check")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    first = lines.index("   1  server 1  '6 * 7': matches")
    differs = r"""   2  server 1  "__import__\('random'\)\.random\(\)": DIFFERS: [\d.e-]+ != recorded [\d.e-]+"""
    assert re.fullmatch(differs, lines[first + 1]), lines
    assert lines[first + 2] == ("""   3  server 1  "__import__('numpy').random.default_rng().random(4)": DIFFERS: """
                                "type=numpy.ndarray shape=[4] dtype=float64 size=4, other values than recorded")
    assert lines[-1] == "3 command(s) replayed; 2 result(s) differ from the recording"


def test_replay_check_passes_on_a_faithful_session(tmp_path):
    log, _ = _record(tmp_path)
    result = run_python("-m", "core.replay", str(log), "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "11 command(s) replayed; 0 result(s) differ from the recording"
    assert "DIFFERS" not in result.stdout


def test_script_for_more_servers_stops_before_running_anything(tmp_path):
    _, script = _record(tmp_path)
    state = tmp_path / "small"
    result = run_mpiexec(2, "-m", "core", str(script), env={"MPIPANEL_STATE_DIR": str(state)})
    assert result.returncode == 1
    assert "this script targets server 2, but this session has 1 server(s): [1]" in result.stderr
    [new_log] = (state / "sessions").glob("*.jsonl")
    assert not [line for line in new_log.read_text().splitlines() if '"queued"' in line]


def test_save_options_keep_only_what_was_asked(tmp_path):
    with MPICommandClient(servers=1, print_output=False, session_log=False) as client:
        client.push_command_request("'fine'", block=True)
        client.push_command_request("1 / 0", block=True)
        sleeper = client.push_command_request("import time; time.sleep(30)")
        client.interrupt(sleeper)
        client.get_command_response(sleeper, block=True)
        everything = client.save_session(tmp_path / "all.py").read_text()
        successful = client.save_session(tmp_path / "ok.py", only_successful=True).read_text()
        no_interrupted = client.save_session(tmp_path / "no-int.py", include_interrupted_cancelled=False).read_text()
    assert all(cmd in everything for cmd in ("'fine'", "1 / 0", "time.sleep(30)"))
    assert "'fine'" in successful and "1 / 0" not in successful and "sleep" not in successful
    assert "1 / 0" in no_interrupted and "sleep" not in no_interrupted


KILLED = """
    import os, sys, time
    from core import MPICommandClient
    client = MPICommandClient(servers=2, print_output=False, session_log=sys.argv[1])
    client.start_services()
    for i in range(20):
        client.push_command_request(f"{i} * 2", block=True, target_server=1 + i % 2)
    client.push_command_request("import time; time.sleep(600)", target_server=1)
    while "sleep(600)" not in open(sys.argv[1]).read():  # its line follows the push, from another thread
        time.sleep(0.01)
    print("logged", flush=True)
    time.sleep(600)
"""


def test_killed_client_leaves_a_log_complete_up_to_the_kill(tmp_path):
    script, log = script_file(tmp_path, KILLED, "killed.py"), tmp_path / "killed.jsonl"
    with subprocess.Popen([sys.executable, str(script), str(log)], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True) as proc:
        assert proc.stdout.readline().strip() == "logged"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line whole
    finished = {line["id"]: line for line in lines if line["event"] == "finished"}
    assert len(finished) == 20 and all(finished[i + 1]["ret"] == {"literal": str(i * 2)} for i in range(20))
    assert lines[-1]["event"] == "queued" and "sleep(600)" in lines[-1]["command"]


def test_replay_refuses_a_bad_session_file_in_one_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("SERVERS = 1\nclient.push_command_request('x', parameters=[1, 2])\n")
    result = run_python("-m", "core.replay", str(bad), "--check")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"error: {bad}, line 2: parameters must be None or a dict with string keys, "
                                          f"not list [1, 2]"]


def test_a_replayed_command_that_was_interrupted_stops_after_its_recorded_duration_and_matches(tmp_path):
    log = tmp_path / "interrupted.jsonl"
    with MPICommandClient(servers=1, print_output=False, session_log=log) as client:
        asleep = threading.Event()
        client.subscribe(lambda event: isinstance(event, ServerOutput) and asleep.set())
        [command] = client.push_command_request("import time\nprint('asleep', flush=True)\ntime.sleep(30)",
                                                target_server=1)
        assert asleep.wait(30)
        client.interrupt([command])
        [response] = client.get_command_response([command], block=True, timeout=30)
        script = client.save_session(tmp_path / "interrupted.py")
    recorded = response["time_end"] - response["time_start"]
    assert response["status"] == "interrupted" and recorded < 10
    header, pushes = read_log(log)
    limit = pushes[0].replay_limit()
    assert f"timeout={round(limit, 3)!r}" in script.read_text()
    with MPICommandClient(servers=1, print_output=False, session_log=False) as client:
        host = SessionHost(client)
        try:
            replay = Replay(LocalFrontend(host, label="replay"), pushes)
            replay.run(timeout=60)
            [again] = [future.result() for future in replay.futures[0]]
            assert [c.matches for c in replay.comparisons(0)] == [True]
        finally:
            host.close()
    assert again["status"] == "expired" and limit - 0.5 < again["time_end"] - again["time_start"] < limit + 2
    replayed = run_python("-m", "core.replay", str(script), "--check", timeout=120)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
