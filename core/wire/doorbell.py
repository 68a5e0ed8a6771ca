"""The TCP doorbell sockets between the client and each server (see `core.wire.transport`).

The client listens; each server connects to one of the addresses the client announced in its
hello. Both sides then prove they know the hello's random token without sending it
(`_HandShake`: each side answers the other's random challenge with an HMAC of the token), so that
nothing else on the network can ring a server or pose as the client, and a listener someone put
on an announced address learns nothing it could use. The socket also tells each side at once when
the other process is gone (end of file).

The listener holds at most `MAX_PENDING` unfinished hand-shakes (a new one pushes out the oldest),
each for at most `HANDSHAKE_TIMEOUT`; when the process runs out of file descriptors it stops
accepting for `ACCEPT_PAUSE` instead of spinning on a socket that stays readable. A server keeps
trying for `CONNECT_PATIENCE`, so that it gets through once a flood is over.
"""
from __future__ import annotations

import errno
import hashlib
import hmac
import os
import selectors
import socket
import struct
import time
from dataclasses import dataclass, field

import psutil

_RANK = struct.Struct("!I")
TOKEN_BYTES = 16
NONCE_BYTES = 16
MAC_BYTES = hashlib.sha256().digest_size
_HELLO_SIZE = _RANK.size + NONCE_BYTES
"""server -> client: its rank and its challenge."""
_ANSWER_SIZE = NONCE_BYTES + MAC_BYTES
"""client -> server: the client's challenge and its answer to the server's."""
_PROOF_SIZE = MAC_BYTES
"""server -> client: the server's answer to the client's challenge."""
HANDSHAKE_TIMEOUT = 2.0
"""How long a connection may take over its hand-shake; a server answers at once."""
MAX_PENDING = 64
"""Hand-shakes under way at once; a new connection beyond them pushes out the oldest."""
ACCEPT_PAUSE = 0.1
"""How long the listener stops accepting when the process has no file descriptor left."""
CONNECT_ATTEMPT = 2.0
CONNECT_PATIENCE = 100.0
"""How long a server keeps trying to reach the client's doorbell (under the client's 120 s)."""
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def _mac(token: bytes, role: bytes, rank: int, challenge: bytes, own_nonce: bytes) -> bytes:
    return hmac.new(token, role + _RANK.pack(rank) + challenge + own_nonce, hashlib.sha256).digest()


@dataclass(eq=False)
class _HandShake:
    """One connection the client accepted, until the server at its end has proved its rank."""

    conn: socket.socket
    expires: float
    received: bytearray = field(default_factory=bytearray)
    rank: int | None = None
    """Known once the server's hello is in; then `expected` is the proof it must send."""
    expected: bytes = b""

    @property
    def wanted(self) -> int:
        return (_HELLO_SIZE if self.rank is None else _PROOF_SIZE) - len(self.received)


class DoorbellListener:
    """The client's listening sockets (one port on each address in `bind_hosts`); `accept` turns
    them into one connected socket per server."""

    def __init__(self, bind_hosts: str | list[str]):
        hosts = [bind_hosts] if isinstance(bind_hosts, str) else list(dict.fromkeys(bind_hosts))
        self.socks = _listen_on(hosts)
        self.port = self.socks[0].getsockname()[1]
        self.token = os.urandom(TOKEN_BYTES)
        if hosts in (["0.0.0.0"], [""]):
            self.addresses = host_addresses()
        else:
            self.addresses = hosts  # loopback when spawning; those the servers reach otherwise

    @property
    def sock(self) -> socket.socket:
        """The first listening socket (the only one for a single address)."""
        return self.socks[0]

    def accept(self, ranks: set[int], timeout: float) -> dict[int, socket.socket]:
        """Wait for every rank in `ranks` to connect; raise TimeoutError naming the missing ones.

        Hand-shakes run side by side, each with `HANDSHAKE_TIMEOUT`: a connection that sends
        nothing (a port scanner, a stray client) is dropped without delaying the servers."""
        connected: dict[int, socket.socket] = {}
        pending: dict[socket.socket, _HandShake] = {}
        deadline = time.monotonic() + timeout
        paused_until: float | None = None
        with selectors.DefaultSelector() as selector:
            for sock in self.socks:
                selector.register(sock, selectors.EVENT_READ)
            try:
                while len(connected) < len(ranks):
                    now = time.monotonic()
                    for shake in [s for s in pending.values() if s.expires <= now]:
                        _drop(selector, pending, shake.conn)
                    if paused_until is not None and now >= paused_until:
                        paused_until = None
                        for sock in self.socks:
                            selector.register(sock, selectors.EVENT_READ)
                    if now >= deadline:
                        missing = sorted(ranks - connected.keys())
                        raise TimeoutError(f"servers {missing} did not connect their doorbell "
                                           f"within {timeout:.0f} s")
                    wake = min([deadline, *(s.expires for s in pending.values()),
                                *([paused_until] if paused_until is not None else [])])
                    for key, _ in selector.select(wake - now):
                        if key.fileobj in self.socks:
                            if paused_until is None and not self._take(key.fileobj, selector, pending):
                                paused_until = time.monotonic() + ACCEPT_PAUSE
                                for sock in self.socks:
                                    selector.unregister(sock)
                        elif key.fileobj in pending:
                            self._step(pending[key.fileobj], selector, pending, ranks, connected)
            finally:
                for conn in list(pending):
                    _drop(selector, pending, conn)
        return connected

    def _take(self, sock, selector, pending) -> bool:
        """Accept one connection; False when the process has no file descriptor left for it."""
        try:
            conn, _ = sock.accept()
        except OSError as exc:
            return exc.errno not in _OUT_OF_DESCRIPTORS  # else the listener stays readable: pause
        conn.setblocking(False)
        if len(pending) >= MAX_PENDING:
            _drop(selector, pending, next(iter(pending)))  # the oldest
        pending[conn] = _HandShake(conn, time.monotonic() + HANDSHAKE_TIMEOUT)
        selector.register(conn, selectors.EVENT_READ)
        return True

    def _step(self, shake: _HandShake, selector, pending, ranks, connected) -> None:
        """Read what the server sent so far: answer its hello with our proof, keep the
        connection once it proved its rank in turn."""
        try:
            chunk = shake.conn.recv(shake.wanted)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            _drop(selector, pending, shake.conn)
            return
        shake.received += chunk
        if shake.wanted:
            return
        if shake.rank is None:
            rank, challenge = _RANK.unpack(shake.received[:_RANK.size])[0], bytes(shake.received[_RANK.size:])
            if rank not in ranks or rank in connected:
                _drop(selector, pending, shake.conn)
                return
            nonce = os.urandom(NONCE_BYTES)
            try:
                sent = shake.conn.send(nonce + _mac(self.token, b"client", rank, challenge, nonce))
            except OSError:
                sent = 0
            if sent != _ANSWER_SIZE:  # 48 bytes into a fresh socket: all or something is wrong
                _drop(selector, pending, shake.conn)
                return
            shake.rank, shake.expected = rank, _mac(self.token, b"server", rank, nonce, challenge)
            shake.received.clear()
            return
        selector.unregister(shake.conn)
        del pending[shake.conn]
        if hmac.compare_digest(bytes(shake.received), shake.expected) and shake.rank not in connected:
            connected[shake.rank] = _tuned(shake.conn)
        else:
            shake.conn.close()

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


def connect(addresses: list[str], port: int, token: bytes, rank: int, same_host: bool,
            patience: float = CONNECT_PATIENCE) -> socket.socket:
    """The server's side: connect to an address that answers and proves it is the client, and
    prove our rank in turn; try again until `patience` runs out."""
    candidates = [a for a in addresses if same_host or not a.startswith("127.")] or list(addresses)
    if same_host:
        candidates = ["127.0.0.1", *(a for a in candidates if a != "127.0.0.1")]
    deadline = time.monotonic() + patience
    while True:
        errors = []
        for address in candidates:
            try:
                return _shake_hands(address, port, token, rank)
            except OSError as exc:
                errors.append(f"{address}: {exc}")
        if time.monotonic() >= deadline:
            raise ConnectionError(f"server {rank} could not reach the client's doorbell on port {port}: "
                                  + "; ".join(errors))
        time.sleep(0.2)


def _shake_hands(address: str, port: int, token: bytes, rank: int) -> socket.socket:
    sock = socket.create_connection((address, port), timeout=CONNECT_ATTEMPT)
    try:
        sock.settimeout(HANDSHAKE_TIMEOUT)
        challenge = os.urandom(NONCE_BYTES)
        sock.sendall(_RANK.pack(rank) + challenge)
        answer = _receive_exactly(sock, _ANSWER_SIZE)
        nonce, proof = answer[:NONCE_BYTES], answer[NONCE_BYTES:]
        if not hmac.compare_digest(proof, _mac(token, b"client", rank, challenge, nonce)):
            raise ConnectionRefusedError("the listener there did not prove it knows the token")
        sock.sendall(_mac(token, b"server", rank, nonce, challenge))
    except BaseException:
        sock.close()
        raise
    return _tuned(sock)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionResetError("the listener closed the connection during the hand-shake")
        data += chunk
    return data


def _listen_on(hosts: list[str], attempts: int = 20) -> list[socket.socket]:
    """One listening socket on each host address, all on one port the system chose."""
    for _ in range(attempts):
        socks = [socket.create_server((hosts[0], 0))]
        port = socks[0].getsockname()[1]
        try:
            socks += [socket.create_server((host, port)) for host in hosts[1:]]
        except OSError as exc:
            for sock in socks:
                sock.close()
            if exc.errno == errno.EADDRINUSE:
                continue
            raise
        for sock in socks:
            sock.setblocking(False)  # a connection gone between select and accept must not block
        return socks
    raise OSError(errno.EADDRINUSE, f"no port was free on all of {hosts}")


def _drop(selector, pending, conn) -> None:
    selector.unregister(conn)
    del pending[conn]
    conn.close()


def _tuned(sock: socket.socket) -> socket.socket:
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def host_addresses() -> list[str]:
    """This host's IPv4 addresses that another node might reach, loopback last."""
    found = [addr.address for addrs in psutil.net_if_addrs().values() for addr in addrs
             if addr.family == socket.AF_INET and not addr.address.startswith("127.")]
    return found + ["127.0.0.1"]


def address_towards(remote_addresses: list[str]) -> str | None:
    """This host's address on the route to the first of `remote_addresses` that has one (the
    kernel's choice of source address; nothing is sent), or None."""
    for remote in remote_addresses:
        if remote.startswith("127."):
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((remote, 9))
            except OSError:
                continue
            return probe.getsockname()[0]
    return None
