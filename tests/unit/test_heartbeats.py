"""A server's silence counts only while the client could listen."""
from __future__ import annotations

from core.client.heartbeats import HeartbeatWatch


def test_silence_grows_while_the_client_listens():
    watch = HeartbeatWatch(deaf_gap=2.0)
    watch.heard(1, 100.0)
    for now in range(101, 112):
        watch.listened(float(now))
    assert watch.silent_for(1, 111.0) == 11.0


def test_time_the_client_could_not_listen_counts_for_no_server():
    watch = HeartbeatWatch(deaf_gap=2.0)
    watch.heard(1, 100.0)
    watch.listened(101.0)
    watch.listened(131.0)  # its progress thread starved for 30 s (the GIL held by the main thread)
    assert watch.silent_for(1, 131.5) == 1.5
    watch.heard(2, 131.5)
    watch.listened(132.5)
    assert watch.silent_for(2, 132.5) == 1.0


def test_a_server_never_heard_of_is_silent_from_when_it_is_first_asked_about():
    watch = HeartbeatWatch(deaf_gap=2.0)
    assert watch.silent_for(3, 50.0) == 0.0
    assert watch.silent_for(3, 53.0) == 3.0
