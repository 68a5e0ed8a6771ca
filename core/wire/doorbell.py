"""The TCP doorbell sockets between the client and each server (see `core.wire.transport`).

The client listens; each server connects to one of the addresses the client announced in its
hello and proves who it is with the hello's random token, so that nothing else on the network can
ring. The socket also tells each side at once when the other process is gone (end of file).
"""
from __future__ import annotations

import hmac
import os
import selectors
import socket
import struct
import time

import psutil

_RANK = struct.Struct("!I")
TOKEN_BYTES = 16
_HELLO_SIZE = TOKEN_BYTES + _RANK.size
HANDSHAKE_TIMEOUT = 2.0
"""How long a connection may take to send its token and rank; a server sends them at once."""


class DoorbellListener:
    """The client's listening socket; `accept` turns it into one connected socket per server."""

    def __init__(self, bind_host: str):
        self.sock = socket.create_server((bind_host, 0))
        self.sock.setblocking(False)  # a connection gone between select and accept must not block
        self.port = self.sock.getsockname()[1]
        self.token = os.urandom(TOKEN_BYTES)
        if bind_host in ("0.0.0.0", ""):
            self.addresses = _host_addresses()
        else:
            self.addresses = [bind_host]  # loopback when spawning; the one asked for otherwise

    def accept(self, ranks: set[int], timeout: float) -> dict[int, socket.socket]:
        """Wait for every rank in `ranks` to connect; raise TimeoutError naming the missing ones.

        Hand-shakes run side by side, each with `HANDSHAKE_TIMEOUT`: a connection that sends
        nothing (a port scanner, a stray client) is dropped without delaying the servers."""
        connected: dict[int, socket.socket] = {}
        pending: dict[socket.socket, tuple[float, bytearray]] = {}
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            try:
                while len(connected) < len(ranks):
                    now = time.monotonic()
                    for conn in [c for c, (expires, _) in pending.items() if expires <= now]:
                        _drop(selector, pending, conn)
                    wake = min([deadline, *(expires for expires, _ in pending.values())])
                    if now >= deadline:
                        missing = sorted(ranks - connected.keys())
                        raise TimeoutError(f"servers {missing} did not connect their doorbell "
                                           f"within {timeout:.0f} s")
                    for key, _ in selector.select(wake - now):
                        if key.fileobj is self.sock:
                            self._take(selector, pending)
                        else:
                            self._read_hello(key.fileobj, selector, pending, ranks, connected)
            finally:
                for conn in list(pending):
                    _drop(selector, pending, conn)
        return connected

    def _take(self, selector, pending) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.setblocking(False)
        pending[conn] = (time.monotonic() + HANDSHAKE_TIMEOUT, bytearray())
        selector.register(conn, selectors.EVENT_READ)

    def _read_hello(self, conn, selector, pending, ranks, connected) -> None:
        """Read what `conn` sent so far; keep it once it proved its rank with the token."""
        hello = pending[conn][1]
        try:
            chunk = conn.recv(_HELLO_SIZE - len(hello))
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            _drop(selector, pending, conn)
            return
        hello += chunk
        if len(hello) < _HELLO_SIZE:
            return
        rank = _RANK.unpack(hello[TOKEN_BYTES:])[0]
        selector.unregister(conn)
        del pending[conn]
        if hmac.compare_digest(bytes(hello[:TOKEN_BYTES]), self.token) and rank in ranks and rank not in connected:
            connected[rank] = _tuned(conn)
        else:
            conn.close()

    def close(self) -> None:
        self.sock.close()


def connect(addresses: list[str], port: int, token: bytes, rank: int, same_host: bool) -> socket.socket:
    """The server's side: connect to the first address that answers and identify as `rank`."""
    candidates = list(addresses)
    if same_host and "127.0.0.1" not in candidates:
        candidates.insert(0, "127.0.0.1")
    errors = []
    for address in candidates:
        try:
            sock = socket.create_connection((address, port), timeout=5)
        except OSError as exc:
            errors.append(f"{address}: {exc}")
            continue
        sock.sendall(token + _RANK.pack(rank))
        return _tuned(sock)
    raise ConnectionError(f"server {rank} could not reach the client's doorbell on port {port}: "
                          + "; ".join(errors))


def _drop(selector, pending, conn) -> None:
    selector.unregister(conn)
    del pending[conn]
    conn.close()


def _tuned(sock: socket.socket) -> socket.socket:
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _host_addresses() -> list[str]:
    """This host's IPv4 addresses that another node might reach, loopback last."""
    found = [addr.address for addrs in psutil.net_if_addrs().values() for addr in addrs
             if addr.family == socket.AF_INET and not addr.address.startswith("127.")]
    return found + ["127.0.0.1"]
