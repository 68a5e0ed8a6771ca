"""Real services for the cluster and SSH tests (issue 23): a one-node Slurm cluster (partition
`debug`, 8 CPUs) and a test sshd on 127.0.0.1:2222, both set up by `.ci/services`.

CI runs `.ci/services` as root before the suite. Elsewhere, when a service's packages are installed
but the service is not running (a machine after a restart) and the tests run as root, the first
test that needs it runs `.ci/services SERVICE` once: that starts the daemons, installs nothing, and
leaves them running for later runs, as a database a test suite uses would be left. Otherwise the
tests that need a service skip with the reason, shown in pytest's -ra summary: a machine without
apt or root skips them, it never fails them.

The fixtures (`slurm`, `sshd`) live in conftest.py; what they hand out is defined here.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from mpi_helpers import REPO
from xvfb_display import wait_until

SERVICES_SCRIPT = REPO / ".ci" / "services"
SSH_PORT = 2222
SSH_HOST_KEY = Path("/etc/ssh/ssh_host_ed25519_key.pub")
TEST_KEY_NAME = "mpipanel_test_ed25519"
NODE_UP_STATES = frozenset({"idle", "mix", "alloc", "comp"})
"""`sinfo -o %t` states of a node that takes jobs (a trailing `*` means it stopped answering)."""
JOB_ENDED_STATES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                              "PREEMPTED", "BOOT_FAIL", "DEADLINE"})


def passwd_home() -> Path:
    """The home OpenSSH reads ~/.ssh from: the passwd entry's, whatever $HOME says."""
    return Path(pwd.getpwuid(os.getuid()).pw_dir)


def slurm_problem() -> str | None:
    """Why the tests cannot use a Slurm cluster here, or None when a node takes jobs."""
    if shutil.which("sbatch") is None:
        return "Slurm is not installed (no sbatch; as root on Debian: bash .ci/services slurm)"
    listing = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    states = listing.stdout.split()
    if not NODE_UP_STATES.intersection(states):
        return f"no Slurm node takes jobs (sinfo: {' '.join(states) or listing.stderr.strip()})"
    return None


def sshd_problem() -> str | None:
    """Why the tests cannot log in to the test sshd, or None when it listens and the test key is there."""
    key = passwd_home() / ".ssh" / TEST_KEY_NAME
    try:
        socket.create_connection(("127.0.0.1", SSH_PORT), timeout=2).close()
    except OSError as error:
        return f"no sshd on 127.0.0.1:{SSH_PORT} ({error.strerror}; as root on Debian: bash .ci/services sshd)"
    if not key.exists() or not SSH_HOST_KEY.exists():
        return f"no test key {key} or host key {SSH_HOST_KEY} (made by .ci/services sshd)"
    return None


SERVICES = {
    "slurm": (slurm_problem, Path("/usr/sbin/slurmctld")),
    "sshd": (sshd_problem, Path("/usr/sbin/sshd")),
}
"""Each service: how to tell why it cannot be used, and the program whose presence means that
`.ci/services` can start it without installing anything."""


@functools.cache
def service_problem(name: str) -> str | None:
    """Why service `name` cannot be used in this test run, or None; once per run, starting the service
    with `.ci/services` first if it is installed, not running, and the tests run as root."""
    problem_now, installed_program = SERVICES[name]
    problem = problem_now()
    if problem is None or os.geteuid() != 0 or not installed_program.exists():
        return problem
    started = subprocess.run(["bash", str(SERVICES_SCRIPT), name], capture_output=True, text=True, timeout=300)
    problem = problem_now()
    return problem and f"{problem}; .ci/services said: {started.stdout.strip() or started.stderr.strip()}"


@dataclasses.dataclass(frozen=True)
class SlurmJob:
    id: str
    output: Path
    """The job's standard output and error."""

    def read_output(self) -> str:
        return self.output.read_text() if self.output.exists() else ""


class SlurmCluster:
    """Submits batch jobs that run this repository's code with this test's interpreter (PATH starts
    with its bin/, where the MPI wheel's mpiexec is too); their files go to `directory`. `cancel_all`
    (the fixture's teardown) ends what is still queued or running."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.jobs: list[SlurmJob] = []

    def job_environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """What sbatch exports to the job (all of it, as sbatch does by default)."""
        interpreter_bin = str(Path(sys.executable).parent)
        return {**os.environ, "PATH": f"{interpreter_bin}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(REPO), "MPIPANEL_STATE_DIR": str(self.directory / "state"), **(extra or {})}

    def submit(self, script: str, name: str = "job", env: dict[str, str] | None = None,
               time_limit_minutes: int = 10) -> SlurmJob:
        """sbatch a bash script (its body, `#SBATCH` lines included, may be indented). The time limit
        ends a job that a killed test run could not cancel."""
        path = self.directory / f"{name}.sh"
        path.write_text("#!/bin/bash\n" + textwrap.dedent(script).lstrip())
        submitted = subprocess.run(
            ["sbatch", "--parsable", f"--job-name=mpipanel-test-{name}", f"--time={time_limit_minutes}",
             f"--chdir={self.directory}", f"--output={self.directory / name}-%j.out", str(path)],
            capture_output=True, text=True, timeout=60, env=self.job_environment(env))
        assert submitted.returncode == 0, f"sbatch failed: {submitted.stderr}"
        job_id = submitted.stdout.strip().split(";")[0]
        job = SlurmJob(job_id, self.directory / f"{name}-{job_id}.out")
        self.jobs.append(job)
        return job

    def state(self, job: SlurmJob) -> str:
        """The job's state (PENDING, RUNNING, COMPLETED, ...) as `scontrol show job` tells it; it knows
        an ended job for MinJobAge (300 s), and there is no accounting database for `sacct`."""
        shown = subprocess.run(["scontrol", "show", "job", "-o", job.id], capture_output=True, text=True, timeout=30)
        found = re.search(r"\bJobState=(\S+)", shown.stdout)
        if found is None:
            raise LookupError(f"scontrol knows no job {job.id}: {shown.stderr.strip()}")
        return found.group(1)

    def wait_for_state(self, job: SlurmJob, states: set[str] | frozenset[str], timeout: float = 120) -> str:
        """Wait until the job is in one of `states` or the time is up; its state then."""
        wait_until(lambda: self.state(job) in states, timeout)
        return self.state(job)

    def wait_until_ended(self, job: SlurmJob, timeout: float = 120) -> str:
        return self.wait_for_state(job, JOB_ENDED_STATES, timeout)

    def cancel(self, job: SlurmJob) -> None:
        subprocess.run(["scancel", job.id], capture_output=True, timeout=30)

    def cancel_all(self, timeout: float = 60) -> None:
        """Cancel every job submitted here that has not ended, and wait for them to end."""
        unended = [job for job in self.jobs if self.state(job) not in JOB_ENDED_STATES]
        for job in unended:
            self.cancel(job)
        assert wait_until(lambda: all(self.state(job) in JOB_ENDED_STATES for job in unended), timeout), \
            f"jobs still running after scancel: {[job.id for job in unended]}"


@dataclasses.dataclass(frozen=True)
class SshLogin:
    """How a test reaches the test sshd as this user: an ssh config of the test's own (`ssh -F`, so
    neither ~/.ssh/config nor /etc/ssh/ssh_config is read), BatchMode and a connect timeout, so that
    ssh fails with a message instead of waiting on a prompt."""

    directory: Path
    """Where the config file is written."""
    key: Path
    known_hosts: Path
    strict_host_key_checking: str = "yes"
    name: str = "login"

    HOST = "mpipanel-test-host"
    """The Host name that the config gives 127.0.0.1:2222."""

    @property
    def config(self) -> Path:
        return self.directory / f"{self.name}.ssh_config"

    @property
    def user(self) -> str:
        return pwd.getpwuid(os.getuid()).pw_name

    def write(self) -> SshLogin:
        self.config.write_text(textwrap.dedent(f"""\
            Host {self.HOST}
                HostName 127.0.0.1
                Port {SSH_PORT}
                User {self.user}
                IdentityFile {self.key}
                IdentitiesOnly yes
                IdentityAgent none
                UserKnownHostsFile {self.known_hosts}
                GlobalKnownHostsFile /dev/null
                StrictHostKeyChecking {self.strict_host_key_checking}
                BatchMode yes
                ConnectTimeout 5
            """))
        return self

    def prefix(self) -> list[str]:
        """`ssh -F CONFIG HOST`: the command line up to the remote command."""
        return ["ssh", "-F", str(self.config), self.HOST]

    def command(self, *argv: str) -> list[str]:
        """The ssh command line that runs `argv` on the far side (quoted for the remote shell)."""
        return [*self.prefix(), shlex.join(argv)]

    @staticmethod
    def python_argv(*args: str) -> list[str]:
        """`python args` on the far side that runs this repository's code with this interpreter: ssh
        carries no environment (sshd's AcceptEnv takes LANG and LC_* only), and `python3` on the
        remote PATH would import the installed mpipanel, not the tree under test."""
        return ["env", f"PYTHONPATH={REPO}", sys.executable, *args]

    @property
    def ssh(self) -> list[str]:
        """The ssh command of this login, for a frontend (`core.attach(..., ssh=...)`, `$MPIPANEL_SSH`)."""
        return ["ssh", "-F", str(self.config)]

    @staticmethod
    def far_python(runtime: Path | None = None, tree: Path = REPO) -> str:
        """The far side's Python for a frontend's bridge, as a command for its shell: `python_argv`
        with `tree` to import, finding sessions in the runtime directory `runtime` if given."""
        setting = [f"XDG_RUNTIME_DIR={runtime}"] if runtime is not None else []
        return shlex.join(["env", f"PYTHONPATH={tree}", *setting, sys.executable])

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*argv), capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def changed(self, name: str, **changes) -> SshLogin:
        """Another login with some fields changed, its config written beside this one's."""
        return dataclasses.replace(self, name=name, **changes).write()


def sshd_login(directory: Path) -> SshLogin:
    """A login with the key `.ci/services` authorized, pinning the test sshd's host key."""
    known_hosts = directory / "known_hosts"
    key_type, key_text = SSH_HOST_KEY.read_text().split()[:2]
    known_hosts.write_text(f"[127.0.0.1]:{SSH_PORT} {key_type} {key_text}\n")
    return SshLogin(directory, passwd_home() / ".ssh" / TEST_KEY_NAME, known_hosts).write()
