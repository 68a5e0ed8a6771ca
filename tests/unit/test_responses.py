"""A response rebuilt on the client: its status is a `Status` again, however it travelled."""
from __future__ import annotations

import pickle

import pytest

from core.wire import blobs
from core.wire.responses import Status, failure, rebuild_result, success


def test_a_success_whose_status_travelled_as_its_value_gets_the_status_member_and_its_result():
    fields = pickle.loads(pickle.dumps(success("eval", 0.0)))
    rebuilt = rebuild_result(fields, blobs.pack(42))
    assert rebuilt["status"] is Status.DONE and rebuilt["ret"] == 42


@pytest.mark.parametrize("status", list(Status))
def test_a_failure_whose_status_travelled_as_the_member_keeps_that_member(status):
    fields = pickle.loads(pickle.dumps(failure(status, "Traceback ...\n")))
    assert rebuild_result(fields, [])["status"] is status
