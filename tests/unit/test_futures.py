"""Command futures, and `when_all`: the one wait for a set of futures, on whichever thread ends it."""
from __future__ import annotations

import threading
from concurrent.futures import Future

import pytest

from core.futures import CommandFuture, when_all


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


def test_all_of_no_futures_is_done_at_once():
    assert when_all([]).result(0) == []


def test_all_is_done_when_the_last_is_done_and_keeps_their_order():
    futures = [Future() for _ in range(3)]
    combined = when_all(futures)
    futures[2].set_result("c")
    futures[0].set_result("a")
    assert not combined.done()
    futures[1].set_result("b")
    assert combined.result(0) == ["a", "b", "c"]


def test_each_value_is_taken_when_its_future_is_done():
    futures = [Future(), Future()]
    combined = when_all(futures, take=lambda future: dict(future.result()))
    changing = {"ret": 1}
    futures[0].set_result(changing)
    changing["ret"] = None  # as the result budget drops a value in place
    futures[1].set_result({"ret": 2})
    assert combined.result(0) == [{"ret": 1}, {"ret": 2}]


def test_a_failure_is_raised_once_all_are_done():
    futures = [Future(), Future()]
    combined = when_all(futures)
    futures[0].set_exception(ValueError("first"))
    assert not combined.done()
    futures[1].set_result(2)
    with pytest.raises(ValueError, match="first"):
        combined.result(0)


def test_futures_finished_on_many_threads_resolve_it_exactly_once():
    futures = [Future() for _ in range(200)]
    combined = when_all(futures)
    resolved = []
    combined.add_done_callback(resolved.append)
    threads = [threading.Thread(target=future.set_result, args=(index,)) for index, future in enumerate(futures)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert combined.result(0) == list(range(200)) and len(resolved) == 1
