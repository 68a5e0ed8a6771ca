"""A batch job watched from the desktop, on a one-node Slurm cluster (fixture `slurm`) and a real sshd
(fixture `sshd`): examples/slurm's sbatch scripts run the pipeline headless with --listen --linger
(srun --mpi=pmi2, and mpiexec inside the allocation); a program attaches over ssh with the line the
job's output names, watches and steers, detaches and comes back to the session log's history, and
the job ends COMPLETED once its pipeline and its linger are over. The bridge also runs inside the
job (`srun --jobid --overlap`, the way where /tmp is private to a job), and plain srun without
--mpi=pmi2 is refused with what to do instead of hanging.

The job inherits an XDG_RUNTIME_DIR that does not exist on the node, as a job submitted from a
login node does; its session and the bridge find each other in /tmp all the same. A window
watching a batch job: tests/app/test_ssh_window.py."""
from __future__ import annotations

import pytest

import core
from batch_jobs import CHUNKS, TIMEOUT, attach_line, node_login, pipeline_done, submit_example
from mpi_helpers import history_rows, replica_history, script_file
from services import SshLogin

FAR_PYTHON = SshLogin.far_python()
"""The far side's Python: this tree (ssh carries no PYTHONPATH)."""


@pytest.mark.timeout(480)
@pytest.mark.parametrize("example", ["srun.sbatch", "mpiexec.sbatch"])
def test_a_batch_job_is_watched_and_steered_over_ssh_then_completes_after_its_linger(slurm, sshd, tmp_path, example):
    job = submit_example(slurm, example, example.split(".")[0], linger_minutes=0.75)
    found = attach_line(slurm, job)
    session, url, node = found.groups()
    ssh = node_login(sshd, node, tmp_path)
    with core.attach(url, remote_python=FAR_PYTHON, ssh=ssh) as client:
        assert client.session_id == session and client.info.kind == "listen"
        assert client.server_ranks() == [1, 2, 3, 4] and client.info.launch_mode == "mpiexec"
        assert client.replica.wait_for(pipeline_done, TIMEOUT)
        [response] = client.push_command_request("process(100, 0)", block=True, target_server=3)
        assert response["ret"] == sum(i * i for i in range(100_000, 101_000))
        label = client.frontend.label
    with core.attach(url, remote_python=FAR_PYTHON, ssh=ssh) as again:
        history = replica_history(again)
        assert history == history_rows(again.session_log())
        assert history[-1] == [history[-1][0], "process(100, 0)", 3, "done", label]
    assert slurm.wait_until_ended(job, TIMEOUT) == "COMPLETED", job.read_output()
    output = job.read_output()
    assert f"pipeline done: {CHUNKS} chunks on 4 servers" in output
    assert "its servers stay up 0.75 minute(s) for frontends" in output
    assert output.count(f"frontend {label} ") >= 4 and output.count(") detached") == 2, output


@pytest.mark.timeout(400)
def test_a_bridge_run_inside_the_job_reaches_its_session_and_a_frontend_ends_the_linger(slurm, sshd, tmp_path):
    job = submit_example(slurm, "srun.sbatch", "overlap", linger_minutes=5)
    url, node = attach_line(slurm, job).group(2, 3)
    inside_the_job = f"srun --jobid={job.id} --overlap -N1 -n1 {FAR_PYTHON}"
    with core.attach(url, remote_python=inside_the_job, ssh=node_login(sshd, node, tmp_path)) as client:
        assert client.replica.wait_for(pipeline_done, TIMEOUT)
        [response] = client.push_command_request("'steered from inside the job'", block=True, target_server=1)
        assert response["ret"] == "steered from inside the job"
        client.stop_services()
    assert slurm.wait_until_ended(job, TIMEOUT) == "COMPLETED", job.read_output()


LONE_TASK_ERROR = ("error: srun started 3 tasks, but each is an MPI world of 1 (MPI did not get Slurm's process "
                   "manager): run `srun --mpi=pmi2 ...`, or `mpiexec -n 3 ...` inside the allocation")


def test_srun_without_pmi2_says_what_to_do_instead_of_hanging(slurm, tmp_path):
    script_file(tmp_path, "print('the program ran')")
    job = slurm.submit("""
        #SBATCH -n 3
        srun -n 3 python -m core script.py
        """, name="no-pmi2")
    assert slurm.wait_until_ended(job, TIMEOUT) == "FAILED"
    output = job.read_output()
    assert output.count(LONE_TASK_ERROR) == 1 and "the program ran" not in output, output
