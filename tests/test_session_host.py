"""The session host on a real spawned client: frontends in this process get a snapshot, then the
events, and their replicas agree with the client; requests reach the servers or the client-side worker."""
from __future__ import annotations

import pytest

from core import MPICommandClient
from core.events import CLIENT_RANK
from core.frontends.host import SessionHost
from core.frontends.journal import JOURNAL_EVENTS
from core.frontends.local import LocalFrontend
from core.frontends.replica import Replica

TIMEOUT = 60


@pytest.fixture(scope="module")
def session():
    """A client with two servers and its host, made before its first command."""
    client = MPICommandClient(servers=2, print_output=False)
    client.start_services()
    host = SessionHost(client, info_kind="serve")
    yield client, host
    host.close()
    client.stop_services(force_command_request_interruption=True)


def _attached(host: SessionHost, label: str = "typed") -> tuple[LocalFrontend, Replica]:
    frontend, replica = LocalFrontend(host, label), Replica()
    frontend.open(replica.on_snapshot, replica.on_events)
    return frontend, replica


def _history(model) -> list[tuple]:
    return [(e.id, e.command, e.server, str(e.status), e.origin) for e in model.history.values()]


def _client_history(client) -> list[tuple]:
    return [(r.id, r.command, r.server, str(r.status), r.origin) for r in client.commands]


def _caught_up(replica: Replica, client) -> bool:
    """True once the replica has every command of the client, finished as the client's."""
    expected = _client_history(client)
    return replica.wait_for(lambda model: _history(model) == expected, TIMEOUT)


def test_a_snapshot_then_the_events_give_the_clients_history(session):
    client, host = session
    early = LocalFrontend(host)
    early.submit("x = 6 * 7", [1])[0].result(TIMEOUT)
    frontend, replica = _attached(host)
    assert replica.wait_for(lambda model: 1 in model.history, TIMEOUT)  # from the snapshot
    futures = frontend.submit("x", [1, 2]) + frontend.submit("1 / 0", None)
    responses = [future.result(TIMEOUT) for future in futures]
    assert [r["status"] for r in responses] == ["done", "failed", "failed"]
    assert _caught_up(replica, client)
    assert replica.read(lambda model: model.history[futures[0].command_id].response["ret"]) == 42
    assert replica.read(lambda model: model.state_of(1)) == "idle"
    frontend.detach()


def test_two_frontends_see_a_thousand_commands_alike(session):
    client, host = session
    (first, one), (second, other) = _attached(host), _attached(host, "attached:elsewhere:1")
    futures = []
    for index in range(500):
        futures += first.submit(f"{index} + 1", None)
        futures += second.submit(f"print({index})", [1 + index % 2])
    assert all(future.result(TIMEOUT)["successful"] for future in futures)
    assert _caught_up(one, client) and _caught_up(other, client)
    assert one.read(_history) == other.read(_history)
    with host._lock:
        assert one.read(_history) == _history(host.model)
    origins = {origin for *_, origin in one.read(_history)[-1000:]}
    assert origins == {"typed", "attached:elsewhere:1"}
    assert one.wait_for(lambda model: model.servers == host.model.servers or None, TIMEOUT)
    first.detach(), second.detach()


@pytest.mark.parametrize("journal_events, snapshots", [(JOURNAL_EVENTS, 1), (2, 2)],
                         ids=["the journal has the events", "the journal no longer has them"])
def test_a_feed_resumes_after_its_last_number_from_the_journal_or_a_fresh_snapshot(session, journal_events,
                                                                                      snapshots):
    client, host = session
    frontend, replica = _attached(host)
    assert _caught_up(replica, client)
    frontend.detach()
    bound, host.journal.max_events = host.journal.max_events, journal_events
    try:
        for future in frontend.submit("5", [1, 2]):  # while it is away
            future.result(TIMEOUT)
        subscription = host.open_feed(replica.on_snapshot, replica.on_events, resume_after=replica.seq)
    finally:
        host.journal.max_events = bound
    try:
        assert _caught_up(replica, client) and replica.snapshots == snapshots
    finally:
        subscription.close()


def test_code_for_the_client_rank_runs_in_the_client_side_worker_and_can_be_interrupted(session):
    client, host = session
    frontend, replica = _attached(host)
    [slow] = frontend.submit("import time\nwhile True: time.sleep(0.01)", [CLIENT_RANK])
    assert replica.wait_for(lambda model: model.running.get(CLIENT_RANK) == slow.command_id, TIMEOUT)
    [queued] = frontend.submit("'never'", [CLIENT_RANK])
    frontend.cancel([queued.command_id])
    frontend.interrupt([slow.command_id])
    assert slow.result(TIMEOUT)["status"] == "interrupted"
    assert queued.result(TIMEOUT)["status"] == "cancelled"
    assert _caught_up(replica, client)
    assert replica.read(lambda model: model.history[slow.command_id].server) == CLIENT_RANK
    frontend.detach()


def test_the_text_a_frontend_gives_is_what_the_history_shows_on_a_server_and_on_the_client(session):
    client, host = session
    frontend, replica = _attached(host)
    futures = (frontend.submit("__import__('math').sqrt(x)", [1], {"x": 4.0}, shown="sqrt(4)")
               + frontend.submit("2 + 2", [CLIENT_RANK], shown="four"))
    assert [future.result(TIMEOUT)["shown"] for future in futures] == ["sqrt(4)", "four"]
    assert _caught_up(replica, client)
    assert replica.read(lambda model: [model.history[f.command_id].text for f in futures]) == ["sqrt(4)", "four"]
    assert [r.shown for r in client.commands if r.id in {f.command_id for f in futures}] == ["sqrt(4)", "four"]
    frontend.detach()


def test_load_samples_and_result_memory_come_as_events(session):
    client, host = session
    frontend, replica = _attached(host)
    frontend.submit("list(range(10_000))", [1])[0].result(TIMEOUT)
    assert replica.wait_for(lambda model: model.result_memory.used == client.result_memory_used > 0, TIMEOUT)
    assert replica.wait_for(lambda model: len(model.load) >= 2 and {1, 2} <= set(model.load[-1].figures), TIMEOUT)
    assert frontend.purge_results(None).result(TIMEOUT) > 0
    assert replica.wait_for(lambda model: model.result_memory.used == 0, TIMEOUT)
    frontend.detach()


def test_the_session_script_and_a_full_response_are_there_to_ask_for(session):
    client, host = session
    frontend = LocalFrontend(host)
    [future] = frontend.submit("'kept'", [1])
    command_id = future.result(TIMEOUT)["id"]
    assert frontend.response(command_id).result(TIMEOUT)["ret"] == "kept"
    script = frontend.session_script(name="mine.py").result(TIMEOUT)
    assert "python mine.py" in script and "'kept'" in script


def test_stopping_the_session_tells_every_frontend_why():
    client = MPICommandClient(servers=1, print_output=False, session_log=False)
    client.start_services()
    host = SessionHost(client, info_kind="serve")
    try:
        frontend, replica = LocalFrontend(host, "attached:laptop:7"), Replica()
        links = []
        frontend.open(replica.on_snapshot, replica.on_events, links.append)
        other, watcher = _attached(host)
        frontend.stop_session().result(TIMEOUT)
        assert host.ended.is_set()
        for each in (replica, watcher):
            assert each.wait_for(lambda model: model.ended is not None, TIMEOUT)
            assert each.read(lambda model: model.ended.reason) == "stopped by attached:laptop:7"
        assert links == ["up", "ended: stopped by attached:laptop:7"]
    finally:
        host.close()
        client.stop_services(force_command_request_interruption=True)
