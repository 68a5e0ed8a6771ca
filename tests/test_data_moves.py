"""push, pull, scatter and gather: data moved as ordinary commands, in both launch modes."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from core import MPICommandClient
from core.client.data_moves import DataMoveError
from mpi_helpers import run_mpiexec, script_file


def test_push_binds_variables_on_every_server_and_pull_reads_them(client):
    responses = client.push({"a": 1, "b": [2, 3]})
    assert [r["server"] for r in responses] == [1, 2] and all(r["successful"] for r in responses)
    assert client.pull("a") == {1: 1, 2: 1}
    assert client.pull(["a", "b"], targets=2) == {2: {"a": 1, "b": [2, 3]}}
    client.push({"a": 10}, targets=[2])
    assert client.pull("a", targets="all") == {1: 1, 2: 10}


def test_scatter_and_gather_round_trip_a_large_array(client):
    data = np.arange(4_000_001, dtype=np.float64).reshape(-1, 1)  # 32 MB: out of band
    client.scatter("part", data)
    parts = client.pull("part")
    assert [len(parts[1]), len(parts[2])] == [2_000_001, 2_000_000]
    assert np.array_equal(client.gather("part"), data)


def test_scatter_to_listed_servers_goes_in_server_order(client):
    client.scatter("letters", list("abcde"), targets=[2, 1])
    assert client.pull("letters") == {1: ["a", "b", "c"], 2: ["d", "e"]}
    assert client.gather("letters", targets=[1, 2]) == list("abcde")


def test_moves_without_blocking_return_futures(client):
    pushed = client.push({"c": 5}, block=False)
    assert [r["ret"] for r in pushed.result(timeout=30)] == [None, None]
    assert client.pull("c", block=False).result(timeout=30) == {1: 5, 2: 5}
    failing = client.gather("no_such_name", block=False)
    with pytest.raises(DataMoveError, match="gather of 'no_such_name' on server 1 failed"):
        failing.result(timeout=30)


def test_every_move_is_an_ordinary_command_in_the_history(client):
    before = len(client.commands)
    client.push({"h": 1}, targets=1)
    client.scatter("s", [1, 2])
    client.pull(["h", "s"], targets=1)
    commands = [(r.command, r.server, r.parameters) for r in client.commands[before:]]
    assert commands == [("pass  # push: h", 1, {"h": 1}),
                        ("pass  # scatter: s, part 1 of 2", 1, {"s": [1]}),
                        ("pass  # scatter: s, part 2 of 2", 2, {"s": [2]}),
                        ("{'h': h, 's': s}", 1, None)]


def test_pushing_a_value_that_cannot_be_pickled_names_it_and_sends_nothing(client):
    before = len(client.commands)
    with pytest.raises(TypeError, match=r"push of 'ok', 'lock' on servers 1, 2: parameter 'lock': "
                                        r"a value of type _thread.lock cannot be pickled"):
        client.push({"ok": 1, "lock": threading.Lock()})
    assert len(client.commands) == before


def test_pulling_a_missing_name_names_it_and_the_server_and_harms_nothing(client):
    client.push({"kept": "yes"}, targets=1)
    client.push({"only_on_two": 2}, targets=2)
    with pytest.raises(DataMoveError, match="pull of 'only_on_two' on server 1 failed: "
                                            "NameError: name 'only_on_two' is not defined"):
        client.pull("only_on_two")
    assert client.pull(["kept"], targets=1) == {1: {"kept": "yes"}}
    assert client.pull("only_on_two", targets=2) == {2: 2}


@pytest.mark.parametrize("call, error, message", [
    (lambda c: c.scatter("x", [1, 2], targets=[]), ValueError, "scatter of 'x' to no server: targets is empty"),
    (lambda c: c.push({"x": 1}, targets=[]), ValueError, "push of 'x' to no server"),
    (lambda c: c.pull("x", targets=5), ValueError, "pull of 'x' on server 5: target_server 5 is not a server"),
    (lambda c: c.pull("not a name"), ValueError, "pull: variable name 'not a name' is not a Python identifier"),
    (lambda c: c.push({"class": 1}), ValueError, "push: variable name 'class'"),
    (lambda c: c.push({}), TypeError, "push needs a non-empty dict"),
    (lambda c: c.gather("x", targets=["1"]), TypeError, "gather of 'x': targets must be"),
    (lambda c: c.scatter("x", 12), TypeError, "scatter of 'x': a int cannot be split"),
])
def test_bad_moves_are_refused_naming_what_is_wrong(client, call, error, message):
    before = len(client.commands)
    with pytest.raises(error, match=message):
        call(client)
    assert len(client.commands) == before


def test_gather_of_parts_that_cannot_be_joined_says_what_each_server_holds(client):
    client.push({"mixed": 1}, targets=1)
    client.push({"mixed": {"k": 2}}, targets=2)
    with pytest.raises(DataMoveError, match="server 1 holds a int, server 2 holds a dict"):
        client.gather("mixed")


def test_saved_script_replays_literal_pushes_and_refuses_an_array_by_name(tmp_path):
    with MPICommandClient(servers=2, print_output=False, session_log=False) as recording:
        recording.push({"n": 3, "names": ["x", "y"]})
        recording.scatter("chunk", [1, 2, 3])
        script = recording.save_session(tmp_path / "moves.py")
        recording.push({"grid": np.zeros(3)}, targets=1)
        with pytest.raises(ValueError, match="parameter 'grid' of command 'pass  # push: grid' has no literal form"):
            recording.save_session(tmp_path / "refused.py")
    text = script.read_text()
    assert "client.push_command_request('pass  # push: n, names', block=True, target_server=[1, 2], " \
           "parameters={'n': 3, 'names': ['x', 'y']})" in text
    script.write_text(text.replace("client.get_command_response(ids, block=True)",
                                   "client.get_command_response(ids, block=True)\n"
                                   "print('PULLED', client.pull(['n', 'chunk']))"))
    result = run_mpiexec(3, "-m", "core", str(script), env={"MPIPANEL_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    assert ("PULLED {1: {'n': 3, 'chunk': [1, 2]}, 2: {'n': 3, 'chunk': [3]}}" in result.stdout)


MPIEXEC_SCRIPT = """
    import json
    import numpy as np
    from core import MPICommandClient
    from core.client.data_moves import DataMoveError
    client = MPICommandClient(print_output=False)
    client.start_services()
    report = {"pushed": len(client.push({"w": 2})), "pulled": client.pull("w")}
    client.scatter("v", np.arange(7.0))
    report["gathered"] = client.gather("v").tolist()
    report["parts"] = {rank: part.tolist() for rank, part in client.pull("v").items()}
    try:
        client.pull("missing", targets=2)
    except DataMoveError as exc:
        report["error"] = str(exc)
    try:
        client.scatter("v", [1], targets=[])
    except ValueError as exc:
        report["empty"] = str(exc)
    report["still"] = client.pull("w", targets=[1, 2])
    client.stop_services()
    print(json.dumps(report))
"""


def test_moves_work_under_mpiexec(tmp_path):
    result = run_mpiexec(3, "-m", "core", str(script_file(tmp_path, MPIEXEC_SCRIPT)),
                         env={"MPIPANEL_STATE_DIR": str(tmp_path / "state")})
    assert result.returncode == 0, result.stderr
    report = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    assert report == {
        "pushed": 2, "pulled": {"1": 2, "2": 2}, "gathered": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "parts": {"1": [0.0, 1.0, 2.0, 3.0], "2": [4.0, 5.0, 6.0]},
        "error": "pull of 'missing' on server 2 failed: NameError: name 'missing' is not defined",
        "empty": "scatter of 'v' to no server: targets is empty", "still": {"1": 2, "2": 2}}
