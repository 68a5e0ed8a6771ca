"""The real services that issue 23's tests build on: a batch job on a one-node Slurm cluster runs a
session headless (`srun --mpi=pmi2` and `mpiexec` inside the allocation) and can be reached from
outside the job through a Unix socket; ssh to localhost runs a command, and its two commonest
refusals fail at once with the message a user will see. See tests/services.py for the set-up."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from mpi_helpers import REPO, script_file
from services import JOB_ENDED_STATES, SERVICES_SCRIPT, SlurmCluster
from xvfb_display import wait_until

DAEMON_PID_FILES = [Path(name) for name in ("/run/munge/munged.pid", "/run/slurmctld.pid", "/run/slurmd.pid",
                                            "/run/mpipanel-test-sshd.pid")]
"""Where the daemons that .ci/services starts write their process ids."""

CLIENT_SCRIPT = """
    from core import MPICommandClient
    c = MPICommandClient()
    c.start_services()
    print(c.push_command_request('6*7', block=True, target_server=1)[0]['ret'])
    c.stop_services()
"""

SOCKET_SCRIPT = """
    import json, os, socket
    from pathlib import Path
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    directory = Path(runtime, "mpipanel") if os.path.isdir(runtime) else Path(f"/tmp/mpipanel-{os.getuid()}")
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / f"test-{os.environ['SLURM_JOB_ID']}-{os.getpid()}.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen()
    listener.settimeout(60)
    environment = {k: v for k, v in os.environ.items()
                   if k in ("HOME", "TMPDIR", "XDG_RUNTIME_DIR") or k.startswith("SLURM")}
    print(json.dumps({"socket": str(path), "pid": os.getpid(), "environment": environment}), flush=True)
    try:
        connection, _ = listener.accept()
        with connection:
            connection.makefile().readline()
            connection.sendall(f"job {os.environ['SLURM_JOB_ID']}\\n".encode())
    finally:
        path.unlink()
"""


def _run_client_script(slurm: SlurmCluster, tmp_path: Path, launch: str, name: str) -> None:
    script_file(tmp_path, CLIENT_SCRIPT)
    job = slurm.submit(f"""
        #SBATCH -n 3
        {launch} python -m core script.py
        """, name=name)
    assert slurm.wait_until_ended(job) == "COMPLETED", job.read_output()
    assert job.read_output().splitlines()[-1:] == ["42"], job.read_output()


def test_an_sbatch_script_running_srun_with_pmi2_serves_the_client_script(slurm, tmp_path):
    _run_client_script(slurm, tmp_path, "srun --mpi=pmi2 -n 3", "srun")


def test_mpiexec_inside_an_allocation_serves_the_client_script(slurm, tmp_path):
    _run_client_script(slurm, tmp_path, "mpiexec -n 3", "mpiexec")


def test_a_process_outside_the_job_reaches_a_socket_the_job_listens_on(slurm, tmp_path):
    script_file(tmp_path, SOCKET_SCRIPT, "listen.py")
    job = slurm.submit("python listen.py", name="listen")
    assert wait_until(lambda: job.read_output() or slurm.state(job) in JOB_ENDED_STATES, 120), slurm.state(job)
    listening = json.loads(job.read_output().splitlines()[0])
    directory = Path(listening["socket"]).parent
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700 and directory.stat().st_uid == os.getuid()
    assert "slurmstepd" in [parent.name() for parent in psutil.Process(listening["pid"]).parents()]
    with socket.socket(socket.AF_UNIX) as connection:
        connection.settimeout(30)
        connection.connect(listening["socket"])
        connection.sendall(b"hello\n")
        assert connection.makefile().readline() == f"job {job.id}\n"
    assert slurm.wait_until_ended(job) == "COMPLETED", job.read_output()
    environment = listening["environment"]
    assert environment["SLURM_JOB_ID"] == job.id
    assert environment.get("XDG_RUNTIME_DIR") == os.environ.get("XDG_RUNTIME_DIR"), "sbatch exports the submitter's"


def test_ssh_to_localhost_runs_this_repositorys_code_with_this_interpreter(sshd):
    result = sshd.run(*sshd.python_argv("-c", "import sys, core; print(sys.executable, core.__file__)"))
    assert (result.returncode, result.stdout) == (0, f"{sys.executable} {REPO / 'core' / '__init__.py'}\n"), result


def _refused_at_once(login) -> str:
    """Run `true` over `login`, which must fail within seconds (not wait on a prompt); its stderr."""
    started = time.monotonic()
    result = login.run("true", timeout=30)
    assert result.returncode == 255 and time.monotonic() - started < 10, result
    return result.stderr


def test_an_unknown_host_key_is_refused_at_once_with_host_key_verification_failed(sshd, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.touch()
    stderr = _refused_at_once(sshd.changed("unknown-host", known_hosts=empty))
    assert stderr.splitlines() == [
        "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.",
        "Host key verification failed."]


def test_a_key_the_server_does_not_know_is_refused_at_once_with_permission_denied(sshd, tmp_path):
    wrong_key = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True)
    stderr = _refused_at_once(sshd.changed("wrong-key", key=wrong_key))
    assert stderr.splitlines() == [f"{sshd.user}@127.0.0.1: Permission denied (publickey)."]


def test_running_ci_services_again_keeps_the_daemons_it_started(slurm, sshd):
    if os.geteuid() != 0:
        pytest.skip(".ci/services runs as root")
    before = {path: path.read_text() for path in DAEMON_PID_FILES}
    again = subprocess.run(["bash", str(SERVICES_SCRIPT)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [line.split(" (")[0] for line in again.stdout.splitlines()] == ["services: slurm up", "services: sshd up"]
    assert {path: path.read_text() for path in DAEMON_PID_FILES} == before
