"""Requests for stacks: one future per request, resolved once every server asked has answered,
None for a server that was lost or did not answer in time."""
from __future__ import annotations

from concurrent.futures import Future

from core.client.stack_requests import STACKS_DEADLINE, StackRequests
from core.events import EventHub
from core.stacks import StackReport


def _delivered(hub: EventHub, future: Future) -> dict:
    hub.deliver()
    return future.result(0)


def test_a_request_resolves_once_every_server_answered():
    hub, future = EventHub(), Future()
    requests = StackRequests(hub)
    number = requests.open([1, 2], future, now=0.0)
    requests.answer(number, 2, StackReport(2, None, []))
    hub.deliver()
    assert not future.done()
    requests.answer(number, 1, StackReport(1, 7, []))
    assert _delivered(hub, future) == {1: StackReport(1, 7, []), 2: StackReport(2, None, [])}


def test_a_lost_server_and_one_too_late_answer_none():
    hub, future = EventHub(), Future()
    requests = StackRequests(hub)
    number = requests.open([1, 2, 3], future, now=0.0)
    requests.answer(number, 1, StackReport(1, None, []))
    requests.lost(2)
    requests.expire(STACKS_DEADLINE / 2)
    hub.deliver()
    assert not future.done()
    requests.expire(STACKS_DEADLINE)
    assert _delivered(hub, future) == {1: StackReport(1, None, []), 2: None, 3: None}
    requests.answer(number, 3, StackReport(3, None, []))  # too late: nothing left to resolve


def test_a_request_to_no_server_is_answered_at_once():
    hub, future = EventHub(), Future()
    StackRequests(hub).open([], future, now=0.0)
    assert _delivered(hub, future) == {}
