"""The event hub: order of delivery, unsubscribing, a failing subscriber, delivery from inside one."""
from __future__ import annotations

import logging

from core.events import CommandStarted, EventHub


def _event(number: int) -> CommandStarted:
    return CommandStarted(id=number, server=1, time=0.0)


def test_every_subscriber_gets_every_event_in_the_order_posted():
    hub, first, second = EventHub(), [], []
    hub.subscribe(first.append)
    hub.subscribe(second.append)
    for number in (1, 2, 3):
        hub.post(_event(number))
    hub.deliver()
    assert first == second == [_event(1), _event(2), _event(3)]


def test_nothing_is_delivered_until_deliver_is_called():
    hub, seen = EventHub(), []
    hub.subscribe(seen.append)
    hub.post(_event(1))
    assert seen == []
    hub.deliver()
    hub.deliver()
    assert seen == [_event(1)]


def test_a_queued_call_runs_in_order_with_the_events():
    hub, seen = EventHub(), []
    hub.subscribe(seen.append)
    hub.post(_event(1))
    hub.post_call(lambda: seen.append("future resolved"))
    hub.post(_event(2))
    hub.deliver()
    assert seen == [_event(1), "future resolved", _event(2)]


def test_an_event_posted_as_its_maker_is_made_only_when_delivered_and_in_order_with_the_others():
    hub, seen, made = EventHub(), [], []
    hub.subscribe(seen.append)
    hub.post(_event(1))
    hub.post_made(lambda: made.append(2) or _event(2))
    hub.post(_event(3))
    assert made == []
    hub.deliver()
    assert made == [2] and seen == [_event(1), _event(2), _event(3)]


def test_an_unsubscribed_subscriber_gets_nothing_more_and_the_others_carry_on():
    hub, gone, staying = EventHub(), [], []
    unsubscribe = hub.subscribe(gone.append)
    hub.subscribe(staying.append)
    hub.post(_event(1))
    hub.deliver()
    unsubscribe()
    hub.post(_event(2))
    hub.deliver()
    assert gone == [_event(1)]
    assert staying == [_event(1), _event(2)]


def test_a_subscriber_unsubscribing_itself_still_lets_the_others_get_that_event():
    hub, seen, others = EventHub(), [], []

    def once(event):
        seen.append(event)
        unsubscribe()

    unsubscribe = hub.subscribe(once)
    hub.subscribe(others.append)
    hub.post(_event(1))
    hub.post(_event(2))
    hub.deliver()
    assert seen == [_event(1)]
    assert others == [_event(1), _event(2)]


def test_a_failing_subscriber_is_logged_and_does_not_stop_the_others(caplog):
    hub, seen = EventHub(), []

    def broken(event):
        raise RuntimeError("broken subscriber")

    hub.subscribe(broken)
    hub.subscribe(seen.append)
    hub.post(_event(1))
    hub.post(_event(2))
    with caplog.at_level(logging.ERROR, logger="core.events"):
        hub.deliver()
    assert seen == [_event(1), _event(2)]
    assert [r.getMessage() for r in caplog.records] == [f"event subscriber {broken!r} failed"] * 2
    assert caplog.records[0].exc_info[1].args == ("broken subscriber",)


def test_an_event_posted_by_a_subscriber_is_delivered_after_the_current_one_not_inside_it():
    hub, log = EventHub(), []

    def first(event):
        log.append(("first", event.id))
        if event.id == 1:
            hub.post(_event(2))
            hub.deliver()

    hub.subscribe(first)
    hub.subscribe(lambda event: log.append(("second", event.id)))
    hub.post(_event(1))
    hub.deliver()
    assert log == [("first", 1), ("second", 1), ("first", 2), ("second", 2)]
