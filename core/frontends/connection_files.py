"""Where a listening session says how to reach it, and how frontends find the sessions.

Each session that listens writes `SESSION_ID.json` beside its socket `SESSION_ID.sock` in the
user's runtime directory: `$MPIPANEL_RUNTIME_DIR` when set, else `$XDG_RUNTIME_DIR/mpipanel/` when
`$XDG_RUNTIME_DIR` is a directory of ours of mode 0700, else `/tmp/mpipanel-UID/`. (Inside a Slurm
job, `$XDG_RUNTIME_DIR` is the submitter's, copied from the login node, and often does not exist
on the compute node: a frontend's bridge, started by ssh outside the job, then finds the session
in /tmp all the same.) The directory is made private as the state directory is
(`core.private_files`: ours and 0700, tightened if looser; one of another user's, or a symlink
another user made at its name, is refused: they could read our keys), a file is created
exclusively, mode 0600, without following a symbolic link, and only a regular file of ours is
read as a connection file (another user's could point us at a socket of theirs). The file holds
the session's key: whoever can read it can drive the session, as the user can.

A file whose session's process is gone (its pid, started before the session, is no longer
there) is stale: listing the sessions removes it and its socket.
"""
from __future__ import annotations

import json
import os
import socket
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from core.frontends.model import SessionInfo
from core.private_files import NotPrivateError, create_private, open_private_read, private_directory

SUFFIX = ".json"


@dataclass(frozen=True)
class ConnectionFile:
    """What a connection file says (`path` is where it was read from)."""

    session: str
    socket: str
    key: str
    """The session's key, hex."""
    host: str
    pid: int
    started: float
    servers: list[int]
    kind: str
    program: str | None
    mpipanel: str
    session_log: str | None
    launch_mode: str
    path: str = ""

    @property
    def key_bytes(self) -> bytes:
        return bytes.fromhex(self.key)

    def is_stale(self) -> bool:
        """True when its session's process is gone (on this machine; one elsewhere cannot be told)."""
        if self.host != socket.gethostname():
            return False
        try:
            return psutil.Process(self.pid).create_time() > self.started + 1  # its pid went to another
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            return False


RUNTIME_DIR_VARIABLE = "MPIPANEL_RUNTIME_DIR"
"""Names the directory of the connection files outright: one that a session in a batch job and a
bridge started by ssh both see where /tmp is private to the job (docs/cluster.md)."""


def _private_directory(path: str | os.PathLike | None) -> bool:
    """True when `path` is a directory of this user's (not a link to one) that no one else may enter."""
    try:
        facts = os.lstat(path) if path else None
    except OSError:
        return False
    return (facts is not None and stat.S_ISDIR(facts.st_mode) and facts.st_uid == os.geteuid()
            and not facts.st_mode & 0o077)


def _chosen() -> Path:
    """Where this process's sessions keep their files: `$MPIPANEL_RUNTIME_DIR`, else
    `$XDG_RUNTIME_DIR/mpipanel` when that base is a private directory of ours, else /tmp/mpipanel-UID."""
    named, base = os.environ.get(RUNTIME_DIR_VARIABLE), os.environ.get("XDG_RUNTIME_DIR")
    if named:
        return Path(named)
    return Path(base) / "mpipanel" if _private_directory(base) else Path(f"/tmp/mpipanel-{os.geteuid()}")


def runtime_dir(create: bool = True) -> Path:
    """The directory of this user's connection files, private (`core.private_files.private_directory`);
    without `create`, one that does not exist yet is left so. `core.private_files.NotPrivateError`
    (a PermissionError) when it cannot be made ours."""
    path = _chosen()
    if not create and not os.path.lexists(path):
        return path
    return private_directory(path)


def lookup_dirs() -> list[Path]:
    """Where the sessions of this user on this machine may have written their files: this process's
    runtime directory, then the other places a session chooses (`$XDG_RUNTIME_DIR/mpipanel` in a
    private base, the usual `/run/user/UID/mpipanel`, `/tmp/mpipanel-UID`) that are private
    directories of ours. A session's environment may differ from that of whoever looks for it: a
    batch job inherits the login node's XDG_RUNTIME_DIR, and an ssh login to its node may get one
    from PAM that the job never had. NotPrivateError when this process's own directory cannot be
    made ours."""
    primary, uid, base = runtime_dir(create=False), os.geteuid(), os.environ.get("XDG_RUNTIME_DIR")
    others = [*([Path(base) / "mpipanel"] if _private_directory(base) else []), Path(f"/run/user/{uid}/mpipanel"),
              Path(f"/tmp/mpipanel-{uid}")]
    return list(dict.fromkeys([primary, *(place for place in others if _private_directory(place))]))


def write(info: SessionInfo, socket_path: Path, key: bytes) -> Path:
    """Write the connection file of a session that listens on `socket_path`; its path."""
    path = socket_path.with_suffix(SUFFIX)
    fields = ConnectionFile(
        session=info.session_id, socket=str(socket_path), key=key.hex(), host=info.host, pid=info.pid,
        started=info.started, servers=list(info.servers), kind=info.kind, program=info.program,
        mpipanel=info.version, session_log=info.session_log_path, launch_mode=info.launch_mode)
    data = {name: value for name, value in asdict(fields).items() if name != "path"}
    with os.fdopen(create_private(path), "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1)
    return path


def read(path: str | os.PathLike) -> ConnectionFile:
    """A connection file; ValueError saying what is wrong with one that is not (or is not ours)."""
    try:
        fd = open_private_read(path)
    except NotPrivateError as exc:
        raise ValueError(f"{exc}: refused as a connection file") from None
    except OSError as exc:
        raise ValueError(f"cannot read the connection file {path}: {exc.strerror}") from None
    with os.fdopen(fd, encoding="utf-8") as file:
        try:
            data = json.load(file)
            return ConnectionFile(**data, path=str(path))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} is not an mpipanel connection file ({exc})") from None


def remove(entry: ConnectionFile) -> None:
    for path in (entry.path, entry.socket):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def sessions() -> tuple[list[ConnectionFile], list[ConnectionFile]]:
    """This user's sessions on this machine, oldest first, and the stale files found (removed)."""
    live, stale = [], []
    for path in sorted(path for directory in lookup_dirs() for path in directory.glob(f"*{SUFFIX}")):
        try:
            entry = read(path)
        except ValueError:
            continue
        if entry.is_stale():
            remove(entry)
            stale.append(entry)
        else:
            live.append(entry)
    return sorted(live, key=lambda entry: entry.started), stale


def find(which: str | os.PathLike | None) -> ConnectionFile:
    """The connection file named by a path, a session id (or the start of one, if only one
    session's id starts so), or None: the only session running. ValueError saying why not."""
    if which is not None and (os.sep in str(which) or str(which).endswith(SUFFIX)):
        return read(which)
    live = sessions()[0]
    found = matching(live, which)
    if len(found) == 1:
        return found[0]
    listed = ", ".join(entry.session for entry in live) or "none"
    if not found:
        raise ValueError(f"no session {which!r} (running: {listed})" if which is not None else
                         "no session is running (start one with `python -m core --serve`)")
    raise ValueError(f"several sessions match {which!r}: {listed}; name one" if which is not None else
                     f"several sessions are running: {listed}; name one")


def matching(entries: list[ConnectionFile], which: str | None) -> list[ConnectionFile]:
    """The entries whose session id is or starts with `which` (None: all of them)."""
    return [entry for entry in entries if which is None or entry.session.startswith(str(which))]
