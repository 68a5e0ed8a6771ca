"""Where a listening session says how to reach it, and how frontends find the sessions.

Each session that listens writes `SESSION_ID.json` beside its socket `SESSION_ID.sock` in the
user's runtime directory: `$XDG_RUNTIME_DIR/mpipanel/`, else `/tmp/mpipanel-UID/`. The directory
must be ours and of mode 0700 (else nothing is written or read there: another user could have
made it to read our keys); a file is created exclusively, mode 0600, without following a
symbolic link. The file holds the session's key: whoever can read it can drive the session, as
the user can.

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


def runtime_dir(create: bool = True) -> Path:
    """The directory of this user's connection files; PermissionError when it is not ours and
    private (0700), which is refused rather than used."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "mpipanel" if base else Path(f"/tmp/mpipanel-{os.geteuid()}")
    if create:
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass
    try:
        facts = os.lstat(path)
    except FileNotFoundError:
        return path
    if not stat.S_ISDIR(facts.st_mode):
        raise PermissionError(f"{path} is not a directory; mpipanel keeps its connection files there, so it "
                              f"refuses to go on")
    if facts.st_uid != os.geteuid():
        raise PermissionError(f"{path} belongs to uid {facts.st_uid}, not to this user ({os.geteuid()}): "
                              f"refused, another user could read the sessions' keys")
    if facts.st_mode & 0o077:
        raise PermissionError(f"{path} has mode {stat.S_IMODE(facts.st_mode):o}, not 700: refused, other users "
                              f"could read the sessions' keys")
    return path


def write(info: SessionInfo, socket_path: Path, key: bytes) -> Path:
    """Write the connection file of a session that listens on `socket_path`; its path."""
    path = socket_path.with_suffix(SUFFIX)
    fields = ConnectionFile(
        session=info.session_id, socket=str(socket_path), key=key.hex(), host=info.host, pid=info.pid,
        started=info.started, servers=list(info.servers), kind=info.kind, program=info.program,
        mpipanel=info.version, session_log=info.session_log_path, launch_mode=info.launch_mode)
    data = {name: value for name, value in asdict(fields).items() if name != "path"}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1)
    return path


def read(path: str | os.PathLike) -> ConnectionFile:
    """A connection file; ValueError saying what is wrong with one that is not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
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
    directory = runtime_dir(create=False)
    if not directory.is_dir():
        return [], []
    live, stale = [], []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
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
    live, _ = sessions()
    matching = [entry for entry in live if which is None or entry.session.startswith(str(which))]
    if len(matching) == 1:
        return matching[0]
    listed = ", ".join(entry.session for entry in live) or "none"
    if not matching:
        raise ValueError(f"no session {which!r} (running: {listed})" if which is not None else
                         "no session is running (start one with `python -m core --serve`)")
    raise ValueError(f"several sessions match {which!r}: {listed}; name one" if which is not None else
                     f"several sessions are running: {listed}; name one")
