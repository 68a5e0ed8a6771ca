"""Where the client listens for its servers' doorbells, and whom it lets in."""
from __future__ import annotations

import socket
import time

import pytest

from core.wire.doorbell import HANDSHAKE_TIMEOUT, TOKEN_BYTES, DoorbellListener, connect


def test_spawned_servers_are_reached_over_loopback_only():
    listener = DoorbellListener("127.0.0.1")
    try:
        assert listener.addresses == ["127.0.0.1"]
        assert listener.sock.getsockname()[0] == "127.0.0.1"
    finally:
        listener.close()


def test_a_chosen_bind_address_is_the_one_servers_are_told():
    listener = DoorbellListener("127.0.0.2")
    try:
        assert listener.addresses == ["127.0.0.2"]
    finally:
        listener.close()


def test_all_interfaces_are_offered_when_binding_everywhere():
    listener = DoorbellListener("0.0.0.0")
    try:
        assert listener.addresses[-1] == "127.0.0.1"
    finally:
        listener.close()


def test_a_connection_without_the_token_is_refused():
    listener = DoorbellListener("127.0.0.1")
    try:
        intruder = socket.create_connection(("127.0.0.1", listener.port))
        intruder.sendall(b"x" * TOKEN_BYTES + (1).to_bytes(4, "big"))
        server = connect(listener.addresses, listener.port, listener.token, 1, same_host=True)
        accepted = listener.accept({1}, timeout=10)
        assert set(accepted) == {1}
        accepted[1].sendall(b"\x01")
        assert server.recv(1) == b"\x01"
        with pytest.raises(TimeoutError, match=r"servers \[2\] did not connect"):
            listener.accept({2}, timeout=0.3)
    finally:
        listener.close()


def test_idle_connections_do_not_delay_the_servers_that_connect_after_them():
    listener = DoorbellListener("127.0.0.1")
    idle = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(5)]
    half = socket.create_connection(("127.0.0.1", listener.port))
    half.sendall(listener.token[:4])  # a hand-shake that stops half way
    try:
        servers = [connect(listener.addresses, listener.port, listener.token, rank, same_host=True)
                   for rank in (1, 2, 3)]
        started = time.monotonic()
        accepted = listener.accept({1, 2, 3}, timeout=30)
        assert set(accepted) == {1, 2, 3}
        assert time.monotonic() - started < HANDSHAKE_TIMEOUT  # not one hand-shake timeout per idle one
        for sock in [*servers, *accepted.values()]:
            sock.close()
    finally:
        for sock in [*idle, half]:
            sock.close()
        listener.close()


def test_idle_connections_are_dropped_after_the_hand_shake_deadline():
    listener = DoorbellListener("127.0.0.1")
    idle = socket.create_connection(("127.0.0.1", listener.port))
    try:
        with pytest.raises(TimeoutError):
            listener.accept({1}, timeout=HANDSHAKE_TIMEOUT + 1)
        idle.settimeout(5)
        assert idle.recv(1) == b""  # the listener closed it
    finally:
        idle.close()
        listener.close()
