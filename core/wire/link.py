"""The frontend protocol: a session and one frontend over any byte stream (docs/sessions.md).

The stream is a Unix-domain socket (`core.frontends.listener`), or the stdin/stdout of an `ssh`
running a bridge on the far side (`core.frontends.bridge`): `FdStream` takes one file descriptor
or two.

1. Preface, raw bytes: `MAGIC`, the `PROTOCOL` number, the 32-byte key of the session's
   connection file. The session compares them (the key with `hmac.compare_digest`) before it
   reads another byte; a peer that fails gets `REFUSAL` and nothing else. Nothing an
   unauthenticated peer sends is ever parsed, let alone unpickled.
   Over ssh, frontend and bridge each send `BRIDGE_GREETING` instead (`MAGIC` and `PROTOCOL`, no
   key): ssh has authenticated the user, only the user's own bridge reads that stdin, and the
   key never leaves the session's machine (the bridge reads it there and sends the preface to
   the session's socket). The frontend skips what precedes the bridge's greeting, up to
   `NOISE_LIMIT` bytes: what a login script on the far side printed.
2. Hello, both ways: a 4-byte big-endian length and a JSON object of at most `HELLO_LIMIT` bytes.
3. Frames, both ways: a 4-byte big-endian length (at most `MAX_FRAME`) and a pickle of
   `(Frame, payload)`. A frame too large, cut short or undecodable ends the link (`LinkError`
   says why in one line); nothing else is affected. Values of the user's (results, parameters,
   pulled variables) travel inside frames pickled on their own (`core.wire.blobs.Packed`), so a
   value whose class the receiver cannot import fails alone.
4. Heartbeats: each side sends `Frame.HEARTBEAT` when it sent nothing for `HEARTBEAT_INTERVAL`;
   a link silent for `DEAD_AFTER` is dead, so a stalled SSH link is noticed within seconds.

A `Link` never blocks the thread that posts a frame (the session's feed thread, a GUI thread):
when the link is idle, that thread writes what the stream takes at once, and a writer thread of
the link's writes the rest, and everything that comes meanwhile. The owner's reader thread calls
`receive`. Each side dispatches the
frames it gets through its own table of `Frame` kinds (`core.frontends.listener`,
`core.frontends.remote`).
"""
from __future__ import annotations

import collections
import enum
import hmac
import json
import logging
import os
import pickle
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

from core.wire.wake_pipe import WakePipe

MAGIC = b"MPIPANEL"
PROTOCOL = 1
KEY_BYTES = 32
PREFACE_SIZE = len(MAGIC) + 1 + KEY_BYTES
HELLO_LIMIT = 4096
MAX_FRAME = 1 << 30
"""Bytes of one frame at most (a snapshot, a batch of events, a large pulled array)."""
HANDSHAKE_TIMEOUT = 5.0
"""Seconds a peer has for each step of the preface and the hello."""
BRIDGE_GREETING = MAGIC + bytes([PROTOCOL])
NOISE_LIMIT = 65536
"""Bytes a frontend skips, over ssh, before the bridge's greeting (a login script's words)."""
REFUSAL_LINGER = 0.2
"""Seconds a refused peer's hello may take to arrive, to be dropped unread before the close."""
HEARTBEAT_INTERVAL = 2.0
DEAD_AFTER = 3 * HEARTBEAT_INTERVAL
"""A link that brought nothing for this long (not even a heartbeat) is dead."""

_LENGTH = struct.Struct("!I")
_log = logging.getLogger("mpipanel.session")


class Frame(enum.IntEnum):
    """What a frame carries. Frontend to session: REQUEST `(number, request name, Packed((args,
    kwargs)))`, DETACH. Session to frontend: SNAPSHOT, EVENTS `[(seq, event), ...]`, REPLY
    `(number, raised, Packed(value))`, ENDED `reason`. Both ways: HEARTBEAT."""

    REQUEST = 1
    DETACH = 2
    SNAPSHOT = 10
    EVENTS = 11
    REPLY = 12
    ENDED = 13
    HEARTBEAT = 20


class LinkError(Exception):
    """The link ended; the message says why, in one line."""


class LinkClosedError(LinkError):
    """The link was closed between two frames: by the other side, or by this one."""


class RefusedError(LinkError):
    """The other side refused the hand-shake; the message says why, `answer` is its hello."""

    def __init__(self, message: str, answer: dict[str, Any] | None = None):
        super().__init__(message)
        self.answer = answer or {}


class StreamEndedError(EOFError):
    """A stream ended (or was closed here) `got` bytes into a read of `size`."""

    def __init__(self, got: int, size: int, closed_here: bool = False):
        super().__init__("the link was closed here" if closed_here else f"{got} of {size} bytes")
        self.got, self.size, self.closed_here = got, size, closed_here


# ----- streams ------------------------------------------------------------------------------
class FdStream:
    """A byte stream over file descriptors: a socket (one descriptor both ways) or two pipes.

    Reads and writes wait in `select()` at most `timeout` seconds for progress, then raise
    TimeoutError; `close()` wakes a reader that waits. `on_close` closes what owns the
    descriptors (the socket, the pipes)."""

    def __init__(self, read_fd: int, write_fd: int, on_close: Callable[[], None], timeout: float | None = None):
        self.read_fd, self.write_fd = read_fd, write_fd
        self.timeout = timeout
        self._on_close = on_close
        self._wake = WakePipe()
        self._closed = False
        self._close_lock = threading.Lock()
        for fd in {read_fd, write_fd}:
            os.set_blocking(fd, False)

    def read_exactly(self, size: int) -> bytearray:
        """`size` bytes; StreamEndedError (saying how many came) when the stream ends before."""
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            if not self._ready(self.read_fd, for_write=False):
                raise StreamEndedError(got, size, closed_here=True)
            try:
                count = os.readv(self.read_fd, [view[got:]])
            except BlockingIOError:
                continue
            except ConnectionResetError:
                count = 0
            if count == 0:
                raise StreamEndedError(got, size)
            got += count
        return buffer

    def discard(self, limit: int, wait: float) -> None:
        """Read and drop up to `limit` bytes that come within `wait` seconds: closing a socket
        with bytes unread resets it, and the other side would lose what was written last."""
        deadline = time.monotonic() + wait
        while limit > 0 and select.select([self.read_fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                data = os.read(self.read_fd, min(limit, 65536))
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            limit -= len(data)

    def write_now(self, data: bytes | memoryview) -> int:
        """Write what the stream takes without waiting; how many bytes that was."""
        if self._closed:
            raise StreamEndedError(0, len(data), closed_here=True)
        try:
            return os.write(self.write_fd, data)
        except BlockingIOError:
            return 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            if not self._ready(self.write_fd, for_write=True):
                raise StreamEndedError(0, len(view), closed_here=True)
            try:
                view = view[os.write(self.write_fd, view):]
            except BlockingIOError:
                continue

    def _ready(self, fd: int, for_write: bool) -> bool:
        """Wait until `fd` is ready; False once the stream was closed here."""
        if self._closed:
            return False
        readable, writable, _ = select.select([self._wake] + ([] if for_write else [fd]),
                                              [fd] if for_write else [], [], self.timeout)
        if self._closed or self._wake in readable:
            return False
        if not readable and not writable:
            raise TimeoutError(f"nothing moved for {self.timeout:g} s")
        return True

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._wake.wake()
        self._on_close()

    def __del__(self) -> None:
        self._wake.close()


def socket_stream(sock: socket.socket, timeout: float | None = None) -> FdStream:
    """An `FdStream` over a connected socket; closing it shuts the socket down (waking the other
    side at once) and closes it."""
    def close() -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    return FdStream(sock.fileno(), sock.fileno(), close, timeout)


# ----- the hand-shake -----------------------------------------------------------------------
def encode_hello(fields: dict[str, Any]) -> bytes:
    data = json.dumps(fields).encode()
    if len(data) > HELLO_LIMIT:
        raise ValueError(f"a hello of {len(data)} bytes, more than {HELLO_LIMIT}")
    return _LENGTH.pack(len(data)) + data


REFUSAL = encode_hello({"ok": False, "error": "refused: not this session's key, or not its user"})
"""All a peer that failed the preface hears."""


def read_hello(stream: FdStream) -> dict[str, Any]:
    size = _LENGTH.unpack(stream.read_exactly(_LENGTH.size))[0]
    if size > HELLO_LIMIT:
        raise LinkError(f"a hello of {size} bytes, more than {HELLO_LIMIT}")
    try:
        hello = json.loads(stream.read_exactly(size))
    except ValueError as exc:
        raise LinkError(f"a hello that is not JSON ({exc})") from None
    if not isinstance(hello, dict):
        raise LinkError("a hello that is not a JSON object")
    return hello


def preface_problem(preface: bytes, key: bytes) -> str | None:
    """Why a preface is refused, or None when it is right."""
    if preface[:len(MAGIC)] != MAGIC:
        return "not an mpipanel frontend (wrong preface)"
    if preface[len(MAGIC)] != PROTOCOL:
        return f"frontend protocol {preface[len(MAGIC)]}, this session speaks {PROTOCOL}"
    if not hmac.compare_digest(bytes(preface[len(MAGIC) + 1:]), key):
        return "wrong key"
    return None


def open_handshake(stream: FdStream, key: bytes, hello: dict[str, Any]) -> dict[str, Any]:
    """The frontend's side: send the preface and `hello`, return the session's hello; raises
    RefusedError with the session's reason."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a session key has {KEY_BYTES} bytes, not {len(key)}")
    stream.timeout = HANDSHAKE_TIMEOUT
    stream.write(MAGIC + bytes([PROTOCOL]) + key + encode_hello(hello))
    try:
        answer = read_hello(stream)
    except StreamEndedError as ended:
        raise LinkError(f"the session closed the link during the hand-shake ({ended})") from None
    if not answer.get("ok"):
        raise RefusedError(str(answer.get("error", "refused")), answer)
    stream.timeout = DEAD_AFTER
    return answer


def open_bridge_handshake(stream: FdStream, hello: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The frontend's side over ssh: send the greeting and `hello`, skip what the far side's shell
    printed, return the answer (the session's hello, which the bridge passes on); RefusedError
    with the bridge's or the session's reason. StreamEndedError when the stream ends first (ssh
    failed: its stderr says why)."""
    stream.timeout = timeout
    stream.write(BRIDGE_GREETING + encode_hello(hello))
    window = stream.read_exactly(len(BRIDGE_GREETING))
    skipped = bytearray()
    while window != BRIDGE_GREETING:
        if len(skipped) >= NOISE_LIMIT:
            raise LinkError(f"the far side printed {len(skipped):,} bytes but no bridge greeting, beginning "
                            f"{bytes(skipped[:120])!r}: does a login script there print to stdout?")
        skipped.append(window[0])
        window = window[1:] + stream.read_exactly(1)
    if skipped:
        _log.debug("skipped %d bytes before the bridge's greeting: %r", len(skipped), bytes(skipped[:200]))
    answer = read_hello(stream)
    if not answer.get("ok"):
        raise RefusedError(str(answer.get("error", "refused")), answer)
    stream.timeout = DEAD_AFTER
    return answer


def greeting_problem(greeting: bytes) -> str | None:
    """Why a frontend's greeting to a bridge is refused, or None when it is right."""
    if greeting[:len(MAGIC)] != MAGIC:
        return "not an mpipanel frontend (wrong greeting)"
    if greeting[len(MAGIC)] != PROTOCOL:
        return f"frontend protocol {greeting[len(MAGIC)]}, this bridge speaks {PROTOCOL}"
    return None


def serve_handshake(stream: FdStream, key: bytes, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> dict:
    """The session's side: check the preface, read the hello, send `answer(hello)` (a refusal
    when its "ok" is false); the frontend's hello. Raises RefusedError (or LinkError, EOFError,
    TimeoutError) saying why the peer is not served."""
    stream.timeout = HANDSHAKE_TIMEOUT
    try:
        problem = preface_problem(stream.read_exactly(PREFACE_SIZE), key)
    except StreamEndedError as ended:
        raise RefusedError(f"the link ended during the preface ({ended})") from None
    if problem is not None:
        stream.write(REFUSAL)
        stream.discard(_LENGTH.size + HELLO_LIMIT, REFUSAL_LINGER)  # unread, never looked at
        raise RefusedError(problem)
    hello = read_hello(stream)
    reply = answer(hello)
    stream.write(encode_hello(reply))
    if not reply.get("ok"):
        raise RefusedError(str(reply.get("error")))
    stream.timeout = DEAD_AFTER
    return hello


# ----- frames -------------------------------------------------------------------------------
WRITTEN_AT_ONCE = frozenset(Frame) - {Frame.SNAPSHOT}
"""Frames the posting thread writes itself when nothing else is being written and the stream
takes them without waiting: a hand-over to the writer thread less for each request and each
result. A snapshot, large and slow to pickle, always goes through the writer thread."""
SMALL_FRAME = 64 * 1024
"""A frame smaller than this is written in one piece with its length."""


class Link:
    """Frames over a stream whose hand-shake is done. `prepare` turns a payload into what is
    sent, per kind, where the frame is encoded (the session seals results there)."""

    def __init__(self, stream: FdStream, name: str,
                 prepare: dict[Frame, Callable[[Any], Any]] | None = None):
        self.stream = stream
        self.name = name
        self._prepare = prepare or {}
        self._queue: collections.deque[tuple[Frame, Any] | memoryview | None] = collections.deque()
        """Frames to encode, the rest of a frame the stream did not take at once, or the end."""
        self._busy = False
        """A thread is writing to the stream."""
        self._last_sent = time.monotonic()
        self._wake = threading.Condition()
        self._writer = threading.Thread(target=self._write_frames, name=f"mpipanel-link-{name}", daemon=True)
        self._writer.start()

    def post(self, kind: Frame, payload: Any = None) -> None:
        """Send a frame; never blocks. When the link is idle this thread writes what the stream
        takes at once, and the writer thread the rest; else the writer thread writes it all."""
        with self._wake:
            if self._queue or self._busy or kind not in WRITTEN_AT_ONCE:
                self._queue.append((kind, payload))
                self._wake.notify()
                return
            self._busy = True
        rest: list[memoryview] = []
        try:
            parts = self._encode(kind, payload)
            for index, part in enumerate(parts):
                written = self.stream.write_now(part)
                if written < len(part):
                    rest = [memoryview(part)[written:], *map(memoryview, parts[index + 1:])]
                    break
        except Exception as exc:  # noqa: BLE001 - said in the log; the link ends
            self._failed(kind, exc)
        finally:
            with self._wake:
                self._queue.extendleft(reversed(rest))
                self._busy = False
                self._last_sent = time.monotonic()
                self._wake.notify()

    def finish(self) -> None:
        """Send what is queued, then close the stream."""
        with self._wake:
            self._queue.append(None)
            self._wake.notify()

    def close(self) -> None:
        """Close now, dropping what is queued."""
        self.stream.close()
        with self._wake:
            self._wake.notify()

    def receive(self) -> tuple[Frame, Any]:
        """The next frame; LinkError saying why there is none."""
        try:
            size = _LENGTH.unpack(self.stream.read_exactly(_LENGTH.size))[0]
            if size > MAX_FRAME:
                raise LinkError(f"a frame of {size:,} bytes, more than the limit of {MAX_FRAME:,}")
            data = self.stream.read_exactly(size)
        except StreamEndedError as ended:
            if ended.closed_here:
                raise LinkClosedError("the link was closed here") from None
            if ended.got == 0 and ended.size == _LENGTH.size:
                raise LinkClosedError("the other side closed the link") from None
            raise LinkError(f"a truncated frame ({ended})") from None
        except TimeoutError:
            raise LinkError(f"nothing came for {self.stream.timeout:g} s, not even a heartbeat") from None
        except OSError as exc:
            raise LinkError(f"the link broke ({exc})") from None
        try:
            kind, payload = pickle.loads(data)
            return Frame(kind), payload
        except Exception as exc:  # noqa: BLE001 - whatever a garbled pickle raises
            raise LinkError(f"a frame that cannot be decoded ({type(exc).__name__}: {exc})") from None

    def _next(self) -> tuple[Frame, Any] | memoryview | None:
        """What the writer thread writes next, once no other thread writes: what is queued, or a
        heartbeat when nothing was sent for `HEARTBEAT_INTERVAL`."""
        with self._wake:
            while True:
                if self.stream.closed:
                    return None
                if not self._busy:
                    if self._queue:
                        item = self._queue.popleft()
                        break
                    idle = time.monotonic() - self._last_sent
                    if idle >= HEARTBEAT_INTERVAL:
                        item = (Frame.HEARTBEAT, None)
                        break
                    self._wake.wait(HEARTBEAT_INTERVAL - idle)
                else:
                    self._wake.wait()
            self._busy = True
            return item

    def _write_frames(self) -> None:
        while True:
            item = self._next()
            if item is None:
                self.stream.close()
                return
            try:
                for part in [item] if isinstance(item, memoryview) else self._encode(*item):
                    self.stream.write(part)
            except Exception as exc:  # noqa: BLE001 - said in the log; the link ends
                self._failed(item[0] if isinstance(item, tuple) else None, exc)
                return
            with self._wake:
                self._busy = False
                self._last_sent = time.monotonic()

    def _failed(self, kind: Frame | None, exc: Exception) -> None:
        if isinstance(exc, (EOFError, OSError)):  # closed here, by the other side, or stalled
            _log.debug("link %s: writing stopped: %s", self.name, exc)
        else:  # a frame that cannot be encoded is a bug of ours
            _log.error("link %s: a %s frame cannot be encoded (%s: %s); the link ends", self.name,
                       kind.name if kind is not None else "", type(exc).__name__, exc)
        self.stream.close()

    def _encode(self, kind: Frame, payload: Any) -> list[bytes]:
        prepare = self._prepare.get(kind)
        data = pickle.dumps((int(kind), prepare(payload) if prepare else payload), protocol=5)
        if len(data) > MAX_FRAME:
            raise ValueError(f"a {kind.name} frame of {len(data):,} bytes, more than the limit of {MAX_FRAME:,}")
        header = _LENGTH.pack(len(data))
        return [header + data] if len(data) < SMALL_FRAME else [header, data]
