"""examples/slurm's batch jobs for the tests: submitted as they are (a short pipeline, a given linger,
an XDG_RUNTIME_DIR of the login node's that the node does not have), the line their output names
to attach with, and an ssh config in which the node's name reaches the test sshd."""
from __future__ import annotations

import re
from pathlib import Path

from mpi_helpers import REPO
from services import JOB_ENDED_STATES, SlurmCluster, SlurmJob, SshLogin
from xvfb_display import wait_until

EXAMPLES = REPO / "examples" / "slurm"
ATTACH_LINE = re.compile(r"^session (\w+): from another machine: mpipanel --attach (ssh://([^/\s]+)/\w+)$",
                         re.MULTILINE)
CHUNKS = 8
TIMEOUT = 180


def submit_example(slurm: SlurmCluster, example: str, name: str, linger_minutes: float) -> SlurmJob:
    """sbatch one of examples/slurm's scripts as it is, its pipeline short, its linger as given."""
    body = (EXAMPLES / example).read_text().removeprefix("#!/bin/bash\n")
    return slurm.submit(body, name=name, env={
        "PIPELINE": str(EXAMPLES / "pipeline.py"), "PIPELINE_ARGS": f"{CHUNKS} 1",
        "MPIPANEL_LINGER": str(linger_minutes), "XDG_RUNTIME_DIR": "/run/user/4242-on-the-login-node"})


def attach_line(slurm: SlurmCluster, job: SlurmJob) -> re.Match:
    """The job output's line that says how to attach from another machine (session, url, node)."""
    assert wait_until(lambda: ATTACH_LINE.search(job.read_output()) or slurm.state(job) in JOB_ENDED_STATES,
                      TIMEOUT), f"job {job.id} is {slurm.state(job)}"
    found = ATTACH_LINE.search(job.read_output())
    assert found, job.read_output()
    return found


def node_login(sshd: SshLogin, node: str, directory: Path) -> list[str]:
    """ssh with a config in which the node's name reaches the test sshd, as a user's ~/.ssh/config would."""
    config = directory / "node.ssh_config"
    config.write_text(sshd.config.read_text().replace(f"Host {SshLogin.HOST}\n", f"Host {SshLogin.HOST} {node}\n"))
    return ["ssh", "-F", str(config)]


def pipeline_done(model) -> bool:
    chunks = [e for e in model.history.values() if e.command == "process(chunk, seconds)"]
    return len(chunks) == CHUNKS and all(e.response is not None for e in chunks)
