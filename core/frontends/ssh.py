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
from collections.abc import Callable
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

    @property
    def keyscan(self) -> str:
        port = f"-p {self.target.port} " if self.target.port else ""
        return f"ssh-keyscan {port}{self.target.host} >> ~/.ssh/known_hosts"

    @property
    def login(self) -> str:
        port = f"-p {self.target.port} " if self.target.port else ""
        return f"ssh {port}{self.target.destination}"


def _host_key_changed(failure: Failure, _found: re.Match) -> str:
    return (f"the host key of {failure.target.host} has changed since ssh last saw it (a reinstalled machine, "
            f"or someone in between), so ssh refuses to connect. If the change is expected, remove the old key "
            f"(`ssh-keygen -R {failure.target.host}`), then add the new one: `{failure.login}` in a terminal.")


def _host_key_unknown(failure: Failure, _found: re.Match) -> str:
    return (f"ssh does not know the host key of {failure.target.host}, and mpipanel's ssh never asks "
            f"(BatchMode). Add it once, checking its fingerprint: run `{failure.login}` in a terminal and "
            f"answer yes (or `{failure.keyscan}`), then attach again.")


def _permission_denied(failure: Failure, found: re.Match) -> str:
    return (f"{failure.target.destination} refused the login (it takes: {found['methods']}): ssh found no key "
            f"that the host accepts, and mpipanel's ssh never asks for a password or a passphrase (BatchMode). "
            f"Load your key into your agent (`ssh-add`) or name it in ~/.ssh/config (IdentityFile), so that "
            f"`{failure.login} true` logs in without a prompt.")


def _refused(failure: Failure, found: re.Match) -> str:
    return (f"nothing listens for ssh on {found['host']} port {found['port']} (connection refused): is sshd "
            f"running there, and is that its port?")


def _timed_out(failure: Failure, _found: re.Match) -> str:
    return (f"{failure.target.host} did not answer within {failure.connect_timeout} s (ssh: connection timed out): "
            f"is it up and reachable from here? A compute node behind a login node needs a ProxyJump in "
            f"~/.ssh/config (docs/cluster.md).")


def _unreachable(failure: Failure, found: re.Match) -> str:
    return (f"no network route to {failure.target.host} ({found[0].lower()}): is this machine online, or the "
            f"host behind a login node (a ProxyJump in ~/.ssh/config)?")


def _unknown_host(failure: Failure, found: re.Match) -> str:
    return (f"ssh cannot find the host {found['host']} (its name does not resolve here): check the name; a "
            f"compute node behind a login node is reached with a ProxyJump in ~/.ssh/config (docs/cluster.md).")


def _not_installed(failure: Failure, _found: re.Match) -> str:
    return (f"mpipanel is not installed for {failure.python} on {failure.target.host}; pass --remote-python "
            f"(or set ${REMOTE_PYTHON_VARIABLE}) to the interpreter of an environment that has it, e.g. "
            f"--remote-python ~/venvs/mpipanel/bin/python")


def _no_python(failure: Failure, _found: re.Match) -> str:
    return (f"there is no {failure.python} on {failure.target.host} (command not found); pass --remote-python "
            f"(or set ${REMOTE_PYTHON_VARIABLE}) to the interpreter of an environment that has mpipanel")


def _no_bridge(failure: Failure, _found: re.Match) -> str:
    return (f"mpipanel for {failure.python} on {failure.target.host} has no bridge (an older version): install "
            f"this version there, or pass --remote-python to an environment that has it")


EXPLANATIONS: list[tuple[re.Pattern, Callable[[Failure, re.Match], str]]] = [
    (re.compile(r"REMOTE HOST IDENTIFICATION HAS CHANGED"), _host_key_changed),
    (re.compile(r"Host key verification failed|host key is known for .* requested strict checking"),
     _host_key_unknown),
    (re.compile(r"Permission denied \((?P<methods>[^)]*)\)"), _permission_denied),
    (re.compile(r"connect to host (?P<host>\S+) port (?P<port>\d+): Connection refused"), _refused),
    (re.compile(r"Connection timed out|Operation timed out|timed out during banner exchange"), _timed_out),
    (re.compile(r"No route to host|Network is unreachable"), _unreachable),
    (re.compile(r"Could not resolve hostname (?P<host>[^:\s]+)"), _unknown_host),
    (re.compile(r"No module named '?core'?\s*$", re.MULTILINE), _not_installed),
    (re.compile(r"unknown option --bridge"), _no_bridge),
    (re.compile(r"(command )?not found|No such file or directory"), _no_python),
]
"""ssh's (and the far side's) complaints, most specific first, and the message each makes."""


def meaningful_lines(stderr: str) -> list[str]:
    """ssh's stderr without carriage returns, blank lines and the lines that report no problem."""
    lines = (line.strip() for line in stderr.replace("\r", "\n").splitlines())
    return [line for line in lines if line and not line.startswith(NOISE)]


def explain(stderr: str, failure: Failure) -> str:
    """One message for a failed ssh: what went wrong and what to do, else what it said."""
    text = "\n".join(meaningful_lines(stderr))
    for pattern, message in EXPLANATIONS:
        found = pattern.search(text)
        if found and (message is not _no_python or failure.returncode == 127):
            return message(failure, found)
    said = "; ".join(meaningful_lines(stderr)[-3:]) or "nothing"
    status = f"exit {failure.returncode}" if failure.returncode is not None else "still running"
    return f"ssh to {failure.target.destination} failed ({status}): it said {said}"
