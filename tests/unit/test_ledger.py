"""The client's ledger: opening commands, per-server FIFOs, round-robin choice of an idle server."""
from __future__ import annotations

from core.client.ledger import FIRST_AVAILABLE_DEPTH, STUCK_AFTER, CommandRecord, Ledger
from core.events import CommandQueued
from core.wire.responses import Status


def _ledger(ranks: list[int], announced: list | None = None) -> Ledger:
    return Ledger(ranks, announce=lambda make: (announced if announced is not None else []).append(make()))


def _record(ledger: Ledger, target: int | None = None) -> CommandRecord:
    [record] = ledger.open(command="command", parameters=None, buffers=[b"pickled"], targets=[target],
                           push_target=target, block=False, origin=None, cancel=lambda ids: None)
    return record


def test_opening_a_push_files_one_record_per_target_with_ids_counting_up_from_one():
    announced: list = []
    ledger = _ledger([1, 2], announced)
    first = _record(ledger)
    records = ledger.open(command="x + 1", parameters={"x": 1}, buffers=None, targets=[1, 2], push_target=[1, 2],
                          block=True, origin="typed", cancel=lambda ids: None)
    assert [r.id for r in (first, *records)] == [1, 2, 3]
    assert [r.push for r in records] == [2, 2] and [r.target for r in records] == [1, 2]
    assert ledger.records == {1: first, 2: records[0], 3: records[1]}
    assert [r.future.command_id for r in records] == [2, 3] and not any(r.done for r in records)


def test_each_opened_command_is_announced_as_queued_in_order():
    announced: list = []
    ledger = _ledger([1, 2], announced)
    records = ledger.open(command="x + 1", parameters={"x": 1}, buffers=None, targets=[1, 2], push_target=[1, 2],
                          block=True, origin="typed", cancel=lambda ids: None)
    assert announced == [CommandQueued(id=r.id, command="x + 1", parameters={"x": 1}, target=r.target, block=True,
                                       time=r.time_queued, push=records[0].id, push_target=[1, 2], origin="typed")
                         for r in records]


def test_a_command_of_rank_0_is_opened_where_it_runs():
    ledger = _ledger([1])
    [record] = ledger.open(command="1", parameters=None, buffers=None, targets=[0], push_target=0, block=False,
                           origin="typed", cancel=lambda ids: None, server=0)
    assert (record.server, record.target, record.push) == (0, 0, record.id)


def test_cancelling_an_opened_commands_future_asks_for_that_command():
    asked: list = []
    ledger = _ledger([1])
    [record] = ledger.open(command="1", parameters=None, buffers=None, targets=[None], push_target=None,
                           block=False, origin=None, cancel=asked.append)
    record.future.cancel()
    assert asked == [[record.id]]


def test_a_future_asked_for_before_its_command_is_resolved_gets_the_response_then():
    ledger = _ledger([1])
    record = _record(ledger, 1)
    future = record.future
    response = {"id": record.id, "status": Status.DONE}
    assert not future.done()
    record.resolve(response)
    assert future.result(timeout=0) is response and record.future is future


def test_a_future_asked_for_only_after_its_command_was_resolved_is_done_with_its_response():
    ledger = _ledger([1])
    record = _record(ledger, 1)
    record.response = {"id": record.id, "status": Status.DONE}
    record.resolve(record.response)
    assert record.future.result(timeout=0) is record.response


def test_a_finished_command_whose_response_is_not_delivered_yet_has_a_future_not_done():
    ledger = _ledger([1])
    record = _record(ledger, 1)
    ledger.place_on(record, 1)
    ledger.finish(record, {"id": record.id, "status": Status.DONE})
    assert record.done and not record.future.done()


def test_the_first_command_sent_to_an_idle_server_runs_at_once_and_the_next_waits():
    ledger = _ledger([1, 2])
    first, second = _record(ledger, 1), _record(ledger, 1)
    assert ledger.place_on(first, 1) is True
    assert ledger.place_on(second, 1) is False
    assert (first.status, second.status) == ("running", "queued")
    assert (first.server, second.server) == (1, 1)
    assert ledger.running_on(1) is first and ledger.running_on(2) is None


def test_finishing_the_running_command_starts_the_next_in_fifo_order():
    ledger = _ledger([1])
    records = [_record(ledger, 1) for _ in range(3)]
    for record in records:
        ledger.place_on(record, 1)
    assert ledger.finish(records[0], {"status": Status.DONE}) is records[1]
    assert records[1].status == "running" and records[2].status == "queued"
    assert ledger.finish(records[1], {"status": "failed"}) is records[2]
    assert ledger.finish(records[2], {"status": Status.DONE}) is None
    assert [r.status for r in records] == ["done", "failed", "done"]
    assert list(ledger.in_flight[1]) == []


def test_finishing_a_queued_command_leaves_the_running_one_in_place():
    ledger = _ledger([1])
    running, queued, last = _record(ledger, 1), _record(ledger, 1), _record(ledger, 1)
    for record in (running, queued, last):
        ledger.place_on(record, 1)
    assert ledger.finish(queued, {"status": "cancelled"}) is None
    assert list(ledger.in_flight[1]) == [running, last]
    assert ledger.running_on(1) is running and last.status == "queued"


def test_a_finished_command_keeps_its_response_and_drops_its_buffers():
    ledger = _ledger([1])
    record = _record(ledger, 1)
    ledger.place_on(record, 1)
    response = {"status": "done", "ret": 42}
    ledger.finish(record, response)
    assert record.done is True and record.response is response and record.buffers is None


def test_a_first_available_command_finished_before_it_was_sent_leaves_the_waiting_line():
    ledger = _ledger([1, 2])
    waiting, other = _record(ledger), _record(ledger)
    ledger.first_available.extend([waiting, other])
    assert ledger.finish(waiting, {"status": "cancelled"}) is None
    assert list(ledger.first_available) == [other] and waiting.status == "cancelled"


def test_pending_lists_the_commands_without_a_response_in_id_order():
    ledger = _ledger([1])
    records = [_record(ledger, 1) for _ in range(3)]
    for record in records:
        ledger.place_on(record, 1)
    ledger.finish(records[0], {"status": Status.DONE})
    assert ledger.pending() == records[1:]


def test_idle_servers_are_offered_round_robin_after_the_last_one_chosen():
    ledger = _ledger([3, 1, 2])
    assert ledger.idle_ranks(lambda rank: True) == [1, 2, 3]
    ledger.advance_past(1)
    assert ledger.idle_ranks(lambda rank: True) == [2, 3, 1]
    ledger.advance_past(3)
    assert ledger.idle_ranks(lambda rank: True) == [1, 2, 3]


def test_busy_and_unusable_servers_are_not_offered():
    ledger = _ledger([1, 2, 3])
    ledger.place_on(_record(ledger, 2), 2)
    assert ledger.idle_ranks(lambda rank: True) == [1, 3]
    assert ledger.idle_ranks(lambda rank: rank != 3) == [1]


def test_a_ledger_without_servers_offers_none():
    assert _ledger([]).idle_ranks(lambda rank: True) == []


def test_adding_a_known_rank_keeps_what_is_in_flight_there():
    ledger = _ledger([1])
    record = _record(ledger, 1)
    ledger.place_on(record, 1)
    ledger.add_rank(1)
    ledger.add_rank(4)
    assert list(ledger.in_flight[1]) == [record] and list(ledger.in_flight[4]) == []
    assert ledger.idle_ranks(lambda rank: True) == [4]


def _busy(ledger: Ledger, loads: dict[int, int]) -> None:
    for rank, load in loads.items():
        for _ in range(load):
            ledger.place_on(_record(ledger, rank), rank)


def test_a_first_available_command_goes_to_an_idle_server_before_a_busy_one():
    ledger = _ledger([1, 2])
    _busy(ledger, {1: 1})
    ledger.first_available.extend(_record(ledger) for _ in range(5))
    assert ledger.next_server(lambda rank: True) == 2


def test_with_every_server_busy_a_first_available_command_waits_unless_more_wait_than_there_are_servers():
    ledger = _ledger([1, 2])
    _busy(ledger, {1: 1, 2: 1})
    ledger.first_available.extend(_record(ledger) for _ in range(2))
    assert ledger.next_server(lambda rank: True) is None
    ledger.first_available.append(_record(ledger))
    assert ledger.next_server(lambda rank: True) in (1, 2)


def test_under_a_backlog_the_least_busy_server_takes_one_more_and_none_more_than_the_depth():
    ledger = _ledger([1, 2])
    _busy(ledger, {1: 1, 2: FIRST_AVAILABLE_DEPTH})
    ledger.first_available.extend(_record(ledger) for _ in range(10))
    assert ledger.next_server(lambda rank: True) == 1
    _busy(ledger, {1: FIRST_AVAILABLE_DEPTH - 1})
    assert ledger.next_server(lambda rank: True) is None


def test_a_first_available_command_placed_behind_another_waits_behind_it_until_it_runs():
    ledger = _ledger([1])
    running, behind = _record(ledger, 1), _record(ledger)
    ledger.place_on(running, 1)
    ledger.place_on(behind, 1)
    assert ledger.waiting_behind == {behind.id: behind} and behind.buffers == [b"pickled"]
    assert ledger.finish(running, {"status": Status.DONE}) is behind
    assert ledger.waiting_behind == {} and behind.buffers is None


def _anyone(rank: int) -> bool:
    return True


def test_the_command_asked_back_for_an_idle_server_is_the_oldest_waiting_behind_another():
    ledger = _ledger([1, 2, 3])
    _busy(ledger, {1: 1, 2: 1})
    first, second, third = _record(ledger), _record(ledger), _record(ledger)
    ledger.place_on(second, 2)
    ledger.place_on(first, 1)
    ledger.place_on(third, 2)
    assert ledger.recall_for(3, _anyone) is first
    assert ledger.recalls == {first.id: 3}
    assert ledger.recall_for(3, _anyone) is second  # the oldest not asked back yet


def test_a_command_waiting_behind_a_long_one_is_asked_back_for_the_least_busy_server_that_started_later():
    ledger = _ledger([1, 2, 3])
    long, stuck, behind = _record(ledger, 1), _record(ledger), _record(ledger)
    ledger.place_on(long, 1)
    ledger.place_on(stuck, 1)
    ledger.place_on(behind, 1)
    _busy(ledger, {2: 3, 3: 2})
    now = long.running_since + STUCK_AFTER
    assert ledger.rescue_stuck(now - 0.01, _anyone) == []
    assert ledger.rescue_stuck(now, _anyone) == [stuck, behind]
    assert ledger.recalls == {stuck.id: 3, behind.id: 2}  # the least busy first, then the other
    assert ledger.rescue_stuck(now, _anyone) == []


def test_no_command_is_asked_back_for_a_server_running_a_command_since_earlier_or_one_that_cannot_answer():
    ledger = _ledger([1, 2, 3])
    older = _record(ledger, 2)
    ledger.place_on(older, 2)
    long, stuck = _record(ledger, 1), _record(ledger)
    ledger.place_on(long, 1)
    ledger.place_on(stuck, 1)
    older.running_since = long.running_since - 1
    now = long.running_since + STUCK_AFTER
    assert ledger.rescue_stuck(now, lambda rank: rank != 3) == []
    assert ledger.rescue_stuck(now, lambda rank: rank != 1) == []
    assert ledger.rescue_stuck(now, _anyone) == [stuck] and ledger.recalls == {stuck.id: 3}


def test_a_server_kept_for_a_command_asked_back_takes_no_other_first_available_command_until_it_comes_back():
    ledger = _ledger([1, 2])
    _busy(ledger, {1: 1})
    behind = _record(ledger)
    ledger.place_on(behind, 1)
    assert ledger.recall_for(2, _anyone) is behind
    ledger.first_available.extend(_record(ledger) for _ in range(3))
    assert ledger.idle_ranks(_anyone) == [] and ledger.next_server(_anyone) == 1
    assert ledger.give_back(behind) == 2 and ledger.recalls == {}
    assert (behind.server, behind.status) == (None, "queued") and ledger.waiting_behind == {}
    assert behind not in ledger.in_flight[1] and ledger.idle_ranks(_anyone) == [2]


def test_a_command_asked_back_that_starts_where_it_is_frees_the_server_kept_for_it():
    ledger = _ledger([1, 2])
    running, behind = _record(ledger, 1), _record(ledger)
    ledger.place_on(running, 1)
    ledger.place_on(behind, 1)
    ledger.recall_for(2, _anyone)
    assert ledger.finish(running, {"status": Status.DONE}) is behind
    assert ledger.recalls == {} and ledger.idle_ranks(_anyone) == [2]


def test_a_server_is_not_kept_for_a_command_asked_back_from_a_silent_one_nor_asked_to_give_back():
    ledger = _ledger([1, 2, 3])
    _busy(ledger, {1: 1, 3: 1})
    behind_silent, behind_other = _record(ledger), _record(ledger)
    ledger.place_on(behind_silent, 1)
    ledger.place_on(behind_other, 3)
    assert ledger.recall_for(2, _anyone) is behind_silent

    def answering(rank):
        return rank != 1

    assert ledger.idle_ranks(answering) == [2]
    assert ledger.recall_for(2, answering) is behind_other


def test_a_command_given_back_waits_for_any_server_again_ahead_of_those_pushed_after_it():
    ledger = _ledger([1])
    _busy(ledger, {1: 1})
    earlier, behind, later = _record(ledger), _record(ledger), _record(ledger)
    ledger.place_on(behind, 1)
    ledger.first_available.extend([earlier, later])
    ledger.wait_again(behind)
    assert list(ledger.first_available) == [earlier, behind, later]


def test_a_timed_out_command_stays_in_its_fifo_and_its_real_response_replaces_the_provisional_one_in_place():
    ledger = _ledger([1])
    first, second = _record(ledger, 1), _record(ledger, 1)
    ledger.place_on(first, 1)
    ledger.place_on(second, 1)
    provisional = {"status": "timeout", "ret": None}
    ledger.time_out(first, provisional)
    assert first.done and first.provisional and ledger.running_on(1) is first
    started = ledger.finish(first, {"status": "done", "ret": 42})
    assert first.response is provisional and provisional == {"status": "done", "ret": 42}
    assert not first.provisional and started is second and ledger.running_on(1) is second


def test_a_command_whose_worker_died_is_taken_off_its_server_to_go_again_with_the_attempt_noted():
    ledger = _ledger([1, 2])
    [record] = ledger.open(command="x", parameters=None, buffers=[b"kept"], targets=[None], push_target=None,
                           block=False, origin=None, cancel=lambda ids: None, retries=1)
    waiting = _record(ledger, 1)
    ledger.place_on(record, 1)
    ledger.place_on(waiting, 1)
    assert record.may_retry
    started = ledger.requeue(record, {"attempt": 1, "server": 1})
    assert started is waiting and (record.server, record.status, record.buffers) == (None, "queued", [b"kept"])
    assert record.attempts == [{"attempt": 1, "server": 1}] and not record.may_retry
