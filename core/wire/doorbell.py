"""The TCP doorbell sockets between the client and each server (see `core.wire.transport`).

The client listens; each server connects to one of the addresses the client announced in its
hello and proves who it is with the hello's random token, so that nothing else on the network can
ring. The socket also tells each side at once when the other process is gone (end of file).
"""
from __future__ import annotations

import os
import select
import socket
import struct
import time

import psutil

_RANK = struct.Struct("!I")
TOKEN_BYTES = 16


class DoorbellListener:
    """The client's listening socket; `accept` turns it into one connected socket per server."""

    def __init__(self, bind_host: str):
        self.sock = socket.create_server((bind_host, 0))
        self.port = self.sock.getsockname()[1]
        self.token = os.urandom(TOKEN_BYTES)
        if bind_host in ("0.0.0.0", ""):
            self.addresses = _host_addresses()
        else:
            self.addresses = [bind_host]  # loopback when spawning; the one asked for otherwise

    def accept(self, ranks: set[int], timeout: float) -> dict[int, socket.socket]:
        """Wait for every rank in `ranks` to connect; raise TimeoutError naming the missing ones."""
        connected: dict[int, socket.socket] = {}
        deadline = time.monotonic() + timeout
        while len(connected) < len(ranks):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                missing = sorted(ranks - connected.keys())
                raise TimeoutError(f"servers {missing} did not connect their doorbell within {timeout:.0f} s")
            conn, _ = self.sock.accept()
            conn.settimeout(5)
            try:
                hello = _receive_exactly(conn, TOKEN_BYTES + _RANK.size)
            except OSError:
                conn.close()
                continue
            rank = _RANK.unpack(hello[TOKEN_BYTES:])[0]
            if hello[:TOKEN_BYTES] != self.token or rank not in ranks or rank in connected:
                conn.close()
                continue
            connected[rank] = _tuned(conn)
        return connected

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


def _tuned(sock: socket.socket) -> socket.socket:
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed during the doorbell handshake")
        data += chunk
    return data


def _host_addresses() -> list[str]:
    """This host's IPv4 addresses that another node might reach, loopback last."""
    found = [addr.address for addrs in psutil.net_if_addrs().values() for addr in addrs
             if addr.family == socket.AF_INET and not addr.address.startswith("127.")]
    return found + ["127.0.0.1"]
