"""Files and directories only their owner can read, made without following a symlink planted for us.

mpipanel writes what a session did (commands, parameters, results, tracebacks) into the state
directory, log files into the working directory, and the keys of listening sessions into a
runtime directory (`core.frontends.connection_files`, perhaps under /tmp), places which on a
cluster login node or a group project folder other users can write to. So a directory of ours is
0700 (an existing one of ours that is looser is tightened; one owned by someone else, or a symlink
someone else made at its name, is refused), and a file is created with `O_EXCL|O_NOFOLLOW` and mode
0600: a symlink or a file someone put at the name in advance is never written through, nor read as
ours (`open_private_read`). Where a predictable name is taken, `create_unique` picks the next free one.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_APPEND
UNIQUE_ATTEMPTS = 100


class NotPrivateError(PermissionError):
    """A path mpipanel would write private data to belongs to someone else, or is not what it
    should be (a symlink, a directory where a file goes)."""


def private_directory(path: str | os.PathLike) -> Path:
    """`path` as a directory only this user can enter: made (parents too) if missing, tightened
    to 0700 if ours and looser; raises NotPrivateError if another user owns it, or owns a symlink
    at its name (one of ours, say from the user's home to another disk, is followed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=DIRECTORY_MODE)
    except FileExistsError:
        pass
    link = path.lstat()
    if stat.S_ISLNK(link.st_mode) and link.st_uid != os.getuid():
        raise NotPrivateError(f"{path} is a symlink of user {link.st_uid}, not yours ({os.getuid()}): mpipanel "
                              f"keeps its private files only in a directory of your own")
    info = path.stat()
    if not stat.S_ISDIR(info.st_mode):
        raise NotPrivateError(f"{path} is not a directory")
    if info.st_uid != os.getuid():
        raise NotPrivateError(f"{path} belongs to user {info.st_uid}, not to you ({os.getuid()}): mpipanel "
                              f"keeps its private files only in a directory of your own")
    if stat.S_IMODE(info.st_mode) != DIRECTORY_MODE:
        path.chmod(DIRECTORY_MODE)
    return path


def create_private(path: str | os.PathLike) -> int:
    """A new file at `path`, mode 0600, opened for appending; raises FileExistsError if anything
    (a file, a symlink, even a dangling one) is there already."""
    return os.open(path, _CREATE, FILE_MODE)


def create_unique(base: str | os.PathLike, suffix: str = "") -> tuple[Path, int]:
    """`create_private` at `<base><suffix>`, or, where that name is taken, at `<base>-1<suffix>`,
    `<base>-2<suffix>`, ...: the path it made and its descriptor."""
    for attempt in range(UNIQUE_ATTEMPTS):
        candidate = Path(f"{base}{suffix}" if attempt == 0 else f"{base}-{attempt}{suffix}")
        try:
            return candidate, create_private(candidate)
        except FileExistsError:
            continue
    raise FileExistsError(f"{base}{suffix} and {UNIQUE_ATTEMPTS - 1} names after it are all taken")


def open_private_read(path: str | os.PathLike) -> int:
    """`path` opened for reading, if it is a regular file of this user's and not a symlink (what
    another user wrote, or a pipe that would block, is not taken for ours); NotPrivateError if not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
        raise NotPrivateError(f"{path} is a symlink, not a file of yours") from None
    _regular_file_of_ours(fd, path)
    return fd


def open_private_append(path: str | os.PathLike) -> int:
    """`path` opened for appending: created as `create_private` does if new; if it exists, it
    must be a regular file of this user's (never a symlink), and is made 0600."""
    try:
        return create_private(path)
    except FileExistsError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        raise NotPrivateError(f"{path} cannot be appended to without following a link: {exc}") from None
    if stat.S_IMODE(_regular_file_of_ours(fd, path).st_mode) != FILE_MODE:
        os.fchmod(fd, FILE_MODE)
    return fd


def _regular_file_of_ours(fd: int, path: str | os.PathLike) -> os.stat_result:
    """The facts of the file open as `fd`; NotPrivateError (and `fd` closed) unless it is a
    regular file of this user's."""
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
        os.close(fd)
        raise NotPrivateError(f"{path} is not a regular file of yours")
    return info
