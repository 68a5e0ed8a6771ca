"""ssh targets, the ssh command line a frontend runs, and the one message each failure of ssh makes
(the stderr texts are those recorded from a real OpenSSH 9.2, tests/test_ssh_attach.py checks them live)."""
from __future__ import annotations

import pytest

from core.frontends.ssh import (Failure, SshTarget, bridge_command, explain, meaningful_lines, remote_python,
                                ssh_argv, ssh_command)

TARGET = SshTarget("login.example.org", "ana", 2222, "3f2a9c1e")


@pytest.mark.parametrize("text, target", [
    ("ssh://login.example.org", SshTarget("login.example.org")),
    ("ssh://ana@login.example.org:2222/3f2a9c1e", TARGET),
    ("ssh://node017/3f2a9c1e/", SshTarget("node017", session="3f2a9c1e")),
    ("ssh://ana@10.1.2.3", SshTarget("10.1.2.3", "ana")),
])
def test_an_ssh_target_names_user_host_port_and_session(text, target):
    assert SshTarget.parse(text) == target
    assert SshTarget.parse(str(target)) == target


@pytest.mark.parametrize("text, complaint", [
    ("login.example.org", "starts with ssh://"),
    ("ssh:///3f2a9c1e", "names no host"),
    ("ssh://-oProxyCommand=evil/3f2a", "names no host"),
    ("ssh://host:22x", "the port is a number"),
    ("ssh://host:0", "the port is a number"),
    ("ssh://host/not an id", "is not a session id"),
])
def test_a_target_that_is_not_one_is_refused_saying_why(text, complaint):
    with pytest.raises(ValueError, match=complaint):
        SshTarget.parse(text)


def test_the_ssh_command_line_never_waits_on_a_prompt_and_leaves_the_python_to_the_far_shell():
    argv = ssh_argv(TARGET, bridge_command("~/venv/bin/python", "3f2a9c1e"), ["ssh", "-F", "cfg"])
    assert argv[:3] == ["ssh", "-F", "cfg"]
    assert {"-T", "BatchMode=yes", "ConnectTimeout=10"} <= set(argv)
    assert argv[argv.index("-p") + 1] == "2222"
    assert argv[-3:] == ["--", "ana@login.example.org", "~/venv/bin/python -m core --bridge 3f2a9c1e"]
    assert bridge_command("srun --overlap python3", "--log", "/home/a b.jsonl") == (
        "srun --overlap python3 -m core --bridge --log '/home/a b.jsonl'")


def test_the_ssh_command_and_the_remote_python_come_from_the_environment_unless_given(monkeypatch):
    monkeypatch.delenv("MPIPANEL_SSH", raising=False)
    monkeypatch.delenv("MPIPANEL_REMOTE_PYTHON", raising=False)
    assert (ssh_command(), remote_python()) == (["ssh"], "python3")
    monkeypatch.setenv("MPIPANEL_SSH", "ssh -F '/home/ana/cluster config'")
    monkeypatch.setenv("MPIPANEL_REMOTE_PYTHON", "/opt/venv/bin/python")
    assert (ssh_command(), remote_python()) == (["ssh", "-F", "/home/ana/cluster config"], "/opt/venv/bin/python")
    assert (ssh_command(["myssh"]), remote_python("py")) == (["myssh"], "py")


def _explained(stderr: str, returncode: int = 255, python: str = "python3") -> str:
    return explain(stderr, Failure(SshTarget("127.0.0.1", "root", 2222), python, returncode))


def test_an_unknown_host_key_says_how_to_add_it():
    message = _explained("No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict "
                         "checking.\nHost key verification failed.\n")
    assert message.startswith("ssh does not know the host key of 127.0.0.1")
    assert "`ssh -p 2222 root@127.0.0.1` in a terminal" in message
    assert "ssh-keyscan -p 2222 127.0.0.1 >> ~/.ssh/known_hosts" in message


def test_a_changed_host_key_says_so_and_how_to_forget_the_old_one():
    message = _explained("@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n"
                         "Host key verification failed.\n")
    assert "has changed" in message and "ssh-keygen -R 127.0.0.1" in message


def test_a_refused_login_says_that_no_key_was_taken_and_no_password_is_asked():
    message = _explained("root@127.0.0.1: Permission denied (publickey).\n")
    assert message.startswith("root@127.0.0.1 refused the login (it takes: publickey)")
    assert "ssh-add" in message and "never asks for a password" in message


@pytest.mark.parametrize("stderr, start", [
    ("ssh: connect to host 127.0.0.1 port 2223: Connection refused\n",
     "nothing listens for ssh on 127.0.0.1 port 2223"),
    ("ssh: connect to host 10.9.9.9 port 22: Connection timed out\n", "127.0.0.1 did not answer within 10 s"),
    ("ssh: Could not resolve hostname node017: Name or service not known\n", "ssh cannot find the host node017"),
    ("ssh: connect to host 10.9.9.9 port 22: Network is unreachable\n", "no network route to 127.0.0.1"),
])
def test_a_host_that_cannot_be_reached_says_why(stderr, start):
    assert _explained(stderr).startswith(start)


def test_a_far_side_without_mpipanel_names_its_python_and_the_option():
    assert _explained("/usr/bin/python3: No module named core\n", 1) == (
        "mpipanel is not installed for python3 on 127.0.0.1; pass --remote-python (or set "
        "$MPIPANEL_REMOTE_PYTHON) to the interpreter of an environment that has it, e.g. "
        "--remote-python ~/venvs/mpipanel/bin/python")
    missing = _explained("bash: line 1: /opt/venv/bin/python: No such file or directory\n", 127, "/opt/venv/bin/python")
    assert missing.startswith("there is no /opt/venv/bin/python on 127.0.0.1")


def test_warnings_that_report_no_problem_are_left_out_and_anything_else_is_quoted():
    stderr = ("Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.\r\n"
              "kex_exchange_identification: Connection closed by remote host\r\n")
    assert meaningful_lines(stderr) == ["kex_exchange_identification: Connection closed by remote host"]
    assert _explained(stderr) == ("ssh to root@127.0.0.1 failed (exit 255): it said "
                                  "kex_exchange_identification: Connection closed by remote host")
