"""The client's ledger: per-server FIFOs, round-robin choice of an idle server, records, futures."""
from __future__ import annotations

from core.client.ledger import CommandFuture, CommandRecord, Ledger


def _record(ledger: Ledger, target: int | None = None) -> CommandRecord:
    command_id = ledger.new_id()
    record = CommandRecord(command_id, f"command_{command_id}", None, target, False, [b"pickled"],
                           CommandFuture(command_id, lambda ids: None))
    ledger.records[command_id] = record
    return record


def test_ids_count_up_from_one():
    ledger = Ledger([1, 2])
    assert [ledger.new_id() for _ in range(3)] == [1, 2, 3]


def test_the_first_command_sent_to_an_idle_server_runs_at_once_and_the_next_waits():
    ledger = Ledger([1, 2])
    first, second = _record(ledger, 1), _record(ledger, 1)
    assert ledger.place_on(first, 1) is True
    assert ledger.place_on(second, 1) is False
    assert (first.status, second.status) == ("running", "queued")
    assert (first.server, second.server) == (1, 1)
    assert ledger.running_on(1) is first and ledger.running_on(2) is None


def test_finishing_the_running_command_starts_the_next_in_fifo_order():
    ledger = Ledger([1])
    records = [_record(ledger, 1) for _ in range(3)]
    for record in records:
        ledger.place_on(record, 1)
    assert ledger.finish(records[0], {"status": "done"}) is records[1]
    assert records[1].status == "running" and records[2].status == "queued"
    assert ledger.finish(records[1], {"status": "failed"}) is records[2]
    assert ledger.finish(records[2], {"status": "done"}) is None
    assert [r.status for r in records] == ["done", "failed", "done"]
    assert list(ledger.in_flight[1]) == []


def test_finishing_a_queued_command_leaves_the_running_one_in_place():
    ledger = Ledger([1])
    running, queued, last = _record(ledger, 1), _record(ledger, 1), _record(ledger, 1)
    for record in (running, queued, last):
        ledger.place_on(record, 1)
    assert ledger.finish(queued, {"status": "cancelled"}) is None
    assert list(ledger.in_flight[1]) == [running, last]
    assert ledger.running_on(1) is running and last.status == "queued"


def test_a_finished_command_keeps_its_response_and_drops_its_buffers():
    ledger = Ledger([1])
    record = _record(ledger, 1)
    ledger.place_on(record, 1)
    response = {"status": "done", "ret": 42}
    ledger.finish(record, response)
    assert record.done is True and record.response is response and record.buffers is None


def test_a_first_available_command_finished_before_it_was_sent_leaves_the_waiting_line():
    ledger = Ledger([1, 2])
    waiting, other = _record(ledger), _record(ledger)
    ledger.first_available.extend([waiting, other])
    assert ledger.finish(waiting, {"status": "cancelled"}) is None
    assert list(ledger.first_available) == [other] and waiting.status == "cancelled"


def test_pending_lists_the_commands_without_a_response_in_id_order():
    ledger = Ledger([1])
    records = [_record(ledger, 1) for _ in range(3)]
    for record in records:
        ledger.place_on(record, 1)
    ledger.finish(records[0], {"status": "done"})
    assert ledger.pending() == records[1:]


def test_idle_servers_are_offered_round_robin_after_the_last_one_chosen():
    ledger = Ledger([3, 1, 2])
    assert ledger.idle_ranks(lambda rank: True) == [1, 2, 3]
    ledger.advance_past(1)
    assert ledger.idle_ranks(lambda rank: True) == [2, 3, 1]
    ledger.advance_past(3)
    assert ledger.idle_ranks(lambda rank: True) == [1, 2, 3]


def test_busy_and_unusable_servers_are_not_offered():
    ledger = Ledger([1, 2, 3])
    ledger.place_on(_record(ledger, 2), 2)
    assert ledger.idle_ranks(lambda rank: True) == [1, 3]
    assert ledger.idle_ranks(lambda rank: rank != 3) == [1]


def test_a_ledger_without_servers_offers_none():
    assert Ledger([]).idle_ranks(lambda rank: True) == []


def test_adding_a_known_rank_keeps_what_is_in_flight_there():
    ledger = Ledger([1])
    record = _record(ledger, 1)
    ledger.place_on(record, 1)
    ledger.add_rank(1)
    ledger.add_rank(4)
    assert list(ledger.in_flight[1]) == [record] and list(ledger.in_flight[4]) == []
    assert ledger.idle_ranks(lambda rank: True) == [4]


def test_cancelling_a_future_asks_the_client_to_cancel_that_command():
    asked = []
    future = CommandFuture(7, asked.append)
    assert future.cancel() is False
    assert asked == [[7]]


def test_cancelling_a_finished_future_does_nothing():
    asked = []
    future = CommandFuture(7, asked.append)
    future.set_result({"status": "done"})
    assert future.cancel() is False
    assert asked == [] and future.result() == {"status": "done"}
