"""Reaching a session on another machine through ssh: the target, the command line, what went wrong.

`ssh://[user@]host[:port][/SESSION_ID]` names a session on HOST (with no id: the only one that
runs there). A frontend reaches it by running

    ssh -T -o BatchMode=yes -o ConnectTimeout=N [-p PORT] -- [USER@]HOST PYTHON -m core --bridge [SESSION_ID]

and speaking the frontend protocol over ssh's stdin and stdout to the bridge on the far side
(`core.frontends.bridge`), which connects to the session's socket there. The user's own ssh
configuration applies as it is (`~/.ssh/config`: ProxyJump to a compute node behind a login node,
keys, user names), so nothing new is configured and no port is opened. ssh never waits on a
prompt (BatchMode, a connect timeout, no terminal); when it fails, its stderr becomes one message
that says what to do (`explain`).

`$MPIPANEL_SSH` is the ssh command (split as a shell would: `ssh -F ~/cluster/ssh_config`), for an
ssh configuration of its own; `$MPIPANEL_REMOTE_PYTHON` (or `--remote-python`) the far side's
interpreter, `python3` on the remote PATH by default: a path, or a command that runs one, as the
far side's shell reads it (`~/venv/bin/python`, `srun --jobid=ID --overlap python3`). Pure logic:
no process runs here.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass

SCHEME = "ssh://"
SSH_VARIABLE = "MPIPANEL_SSH"
REMOTE_PYTHON_VARIABLE = "MPIPANEL_REMOTE_PYTHON"
DEFAULT_SSH = "ssh"
DEFAULT_REMOTE_PYTHON = "python3"
CONNECT_TIMEOUT = 10
"""Seconds ssh has to reach the host (its ConnectTimeout); a ProxyJump's hop has as long again."""
SESSION_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
NOISE = ("Warning: Permanently added",)
"""Lines of ssh's stderr that say nothing went wrong."""


class SshError(ConnectionError):
    """ssh could not take the frontend to the bridge; the message says why and what to do,
    `stderr` is what ssh (and the far side's shell) printed."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


@dataclass(frozen=True)
class SshTarget:
    """A session on another machine: `ssh://[user@]host[:port][/SESSION_ID]`."""

    host: str
    user: str | None = None
    port: int | None = None
    session: str | None = None
    """None: the only session running there."""

    @classmethod
    def parse(cls, text: str) -> SshTarget:
        """ValueError naming what is wrong with a target that is not one."""
        if not text.startswith(SCHEME):
            raise ValueError(f"an ssh target starts with {SCHEME}, not {text!r}")
        rest = text[len(SCHEME):]
        address, _, session = rest.partition("/")
        user, _, host = address.rpartition("@")
        host, _, port = host.partition(":")
        if not host or any(c.isspace() for c in address) or host.startswith("-") or user.startswith("-"):
            raise ValueError(f"{text!r} names no host: write ssh://[user@]host[:port][/SESSION_ID]")
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"{text!r}: the port is a number from 1 to 65535, not {port!r}")
        if session and not SESSION_ID.fullmatch(session.rstrip("/")):
            raise ValueError(f"{text!r}: {session!r} is not a session id (python -m core --sessions lists them)")
        return cls(host, user or None, int(port) if port else None, session.rstrip("/") or None)

    @property
    def destination(self) -> str:
        return f"{self.user}@{self.host}" if self.user else self.host

    def with_session(self, session: str) -> SshTarget:
        return SshTarget(self.host, self.user, self.port, session)

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"{SCHEME}{self.destination}{port}" + (f"/{self.session}" if self.session else "")


def is_ssh_target(target: object) -> bool:
    return isinstance(target, str) and target.startswith(SCHEME)


def ssh_command(override: str | list[str] | None = None) -> list[str]:
    """The ssh program and options of the user's: `override`, else `$MPIPANEL_SSH`, else `ssh`."""
    if isinstance(override, list):
        return list(override)
    return shlex.split(override or os.environ.get(SSH_VARIABLE) or DEFAULT_SSH)


def remote_python(override: str | None = None) -> str:
    """The far side's interpreter (a command line): `override`, else `$MPIPANEL_REMOTE_PYTHON`, else python3."""
    return override or os.environ.get(REMOTE_PYTHON_VARIABLE) or DEFAULT_REMOTE_PYTHON


def ssh_argv(target: SshTarget, remote_command: str, ssh: list[str],
             connect_timeout: int = CONNECT_TIMEOUT) -> list[str]:
    """The command line that runs `remote_command` (a line for the far side's shell) on the
    target's host with nothing asked of anyone: no terminal (the stream is binary), no prompt, no
    forwarding the user's config may ask for."""
    options = ["-T", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}",
               "-o", "ClearAllForwardings=yes", *(["-p", str(target.port)] if target.port else [])]
    return [*ssh, *options, "--", target.destination, remote_command]


def bridge_command(python: str, *args: str) -> str:
    """`PYTHON -m core --bridge ARGS` for the far side's shell: `python` as the user wrote it (a
    path with `~` or `$HOME`, or a command such as `srun --jobid=ID --overlap python3`), the
    arguments quoted."""
    return f"{python} {shlex.join(['-m', 'core', '--bridge', *args])}"


# ----- what ssh's stderr means --------------------------------------------------------------------
@dataclass(frozen=True)
class Failure:
    """What a failed ssh was asked to do, for the message."""

    target: SshTarget
    python: str
    returncode: int | None
    connect_timeout: int = CONNECT_TIMEOUT

    def fields(self) -> dict[str, object]:
        """What an explanation's text may name."""
        port = f"-p {self.target.port} " if self.target.port else ""
        return {"host": self.target.host, "destination": self.target.destination, "python": self.python,
                "login": f"ssh {port}{self.target.destination}", "timeout": self.connect_timeout,
                "keyscan": f"ssh-keyscan {port}{self.target.host} >> ~/.ssh/known_hosts",
                "variable": f"${REMOTE_PYTHON_VARIABLE}"}


@dataclass(frozen=True)
class Explanation:
    """A complaint of ssh's (or of the far side's shell), and the message it makes: `text` names
    `Failure.fields` and the pattern's groups (`said`: what matched, lower case)."""

    pattern: re.Pattern
    text: str
    returncode: int | None = None
    """Only when ssh ended with this status (the far side's shell's 127: command not found)."""

    def message(self, stderr: str, failure: Failure) -> str | None:
        found = self.pattern.search(stderr)
        if found is None or self.returncode not in (None, failure.returncode):
            return None
        return self.text.format(**failure.fields(), **found.groupdict(), said=found[0].lower())


EXPLANATIONS = [
    Explanation(re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED"),
                "the host key of {host} has changed since ssh last saw it (a reinstalled machine, or someone in "
                "between), so ssh refuses to connect. If the change is expected, remove the old key "
                "(`ssh-keygen -R {host}`), then add the new one: `{login}` in a terminal."),
    Explanation(re.compile(r"Host key verification failed|host key is known for .* requested strict checking"),
                "ssh does not know the host key of {host}, and mpipanel's ssh never asks (BatchMode). Add it "
                "once, checking its fingerprint: run `{login}` in a terminal and answer yes (or `{keyscan}`), "
                "then attach again."),
    Explanation(re.compile(r"Permission denied \((?P<methods>[^)]*)\)"),
                "{destination} refused the login (it takes: {methods}): ssh found no key that the host accepts, "
                "and mpipanel's ssh never asks for a password or a passphrase (BatchMode). Load your key into "
                "your agent (`ssh-add`) or name it in ~/.ssh/config (IdentityFile), so that `{login} true` logs "
                "in without a prompt."),
    Explanation(re.compile(r"connect to host (?P<address>\S+) port (?P<port>\d+): Connection refused"),
                "nothing listens for ssh on {address} port {port} (connection refused): is sshd running there, "
                "and is that its port?"),
    Explanation(re.compile(r"Connection timed out|Operation timed out|timed out during banner exchange"),
                "{host} did not answer within {timeout} s (ssh: connection timed out): is it up and reachable "
                "from here? A compute node behind a login node needs a ProxyJump in ~/.ssh/config "
                "(docs/cluster.md)."),
    Explanation(re.compile(r"No route to host|Network is unreachable"),
                "no network route to {host} ({said}): is this machine online, or the host behind a login node "
                "(a ProxyJump in ~/.ssh/config)?"),
    Explanation(re.compile(r"Could not resolve hostname (?P<name>[^:\s]+)"),
                "ssh cannot find the host {name} (its name does not resolve here): check the name; a compute "
                "node behind a login node is reached with a ProxyJump in ~/.ssh/config (docs/cluster.md)."),
    Explanation(re.compile(r"No module named '?core'?\s*$", re.MULTILINE),
                "mpipanel is not installed for {python} on {host}; pass --remote-python (or set {variable}) to "
                "the interpreter of an environment that has it, e.g. --remote-python ~/venvs/mpipanel/bin/python"),
    Explanation(re.compile(r"unknown option --bridge"),
                "mpipanel for {python} on {host} has no bridge (an older version): install this version there, "
                "or pass --remote-python to an environment that has it"),
    Explanation(re.compile(r"(command )?not found|No such file or directory"),
                "there is no {python} on {host} (command not found); pass --remote-python (or set {variable}) to "
                "the interpreter of an environment that has mpipanel", returncode=127),
]
"""ssh's (and the far side's) complaints, most specific first."""


def meaningful_lines(stderr: str) -> list[str]:
    """ssh's stderr without carriage returns, blank lines and the lines that report no problem."""
    lines = (line.strip() for line in stderr.replace("\r", "\n").splitlines())
    return [line for line in lines if line and not line.startswith(NOISE)]


def explain(stderr: str, failure: Failure) -> str:
    """One message for a failed ssh: what went wrong and what to do, else what it said."""
    lines = meaningful_lines(stderr)
    for explanation in EXPLANATIONS:
        message = explanation.message("\n".join(lines), failure)
        if message is not None:
            return message
    said = "; ".join(lines[-3:]) or "nothing"
    status = f"exit {failure.returncode}" if failure.returncode is not None else "still running"
    return f"ssh to {failure.target.destination} failed ({status}): it said {said}"
