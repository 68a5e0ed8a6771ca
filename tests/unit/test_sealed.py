"""The user's values over the link: sealed each on its own, so that one the frontend cannot rebuild fails
alone; large results as summaries; plain values as they are."""
from __future__ import annotations

import pickle
import sys
import types

from core.events import CommandFinished, CommandQueued
from core.frontends import sealed


def _vanishing_value():
    """A value whose class lives in a module that is gone by the time it is unpickled."""
    module = types.ModuleType("vanishing_module")
    exec("class Thing:\n    pass\n", module.__dict__)
    sys.modules["vanishing_module"] = module
    return module.Thing()


def _response(command_id: int, ret, size: int = 8, parameters=None) -> dict:
    return {"id": command_id, "command": "x", "parameters": parameters, "server": 1, "status": "done",
            "successful": True, "traceback": None, "ret": ret, "ret_size": size, "ret_dropped": None}


def _over_the_link(batch):
    return sealed.open_events(pickle.loads(pickle.dumps(sealed.seal_events(batch))))


def test_plain_results_and_parameters_travel_as_they_are():
    response = _response(1, [1, 2], parameters={"a": 1, "b": "two"})
    assert sealed.seal_response(response) is response
    [(_, finished)] = _over_the_link([(1, CommandFinished(response))])
    assert finished.response == response


def test_a_value_the_frontend_cannot_rebuild_fails_alone():
    odd = _vanishing_value()
    batch = [(1, CommandQueued(id=1, command="f(t)", parameters={"t": odd, "n": 3}, target=1, block=False, time=0.0,
                               push=1, push_target=1)),
             (2, CommandFinished(_response(1, odd))), (3, CommandFinished(_response(2, "fine")))]
    data = pickle.dumps(sealed.seal_events(batch))
    del sys.modules["vanishing_module"]
    (_, queued), (_, finished), (_, other) = sealed.open_events(pickle.loads(data))
    assert queued.parameters["n"] == 3 and "cannot be rebuilt here" in repr(queued.parameters["t"])
    assert finished.response["ret"] is None and finished.response["ret_dropped"]["reason"] == "unrebuilt"
    assert finished.response["ret_dropped"]["summary"]["type"] == "vanishing_module.Thing"
    assert other.response["ret"] == "fine"


def test_a_result_beyond_the_link_limit_is_a_summary():
    big = bytes(sealed.LINK_RESULT_LIMIT + 1)
    [(_, finished)] = _over_the_link([(1, CommandFinished(_response(1, big, size=len(big))))])
    dropped = finished.response["ret_dropped"]
    assert finished.response["ret"] is None and dropped["reason"] == "link" and dropped["summary"]["type"] == "bytes"
    whole = sealed.open_response(pickle.loads(pickle.dumps(sealed.seal_response(_response(1, big, len(big)), None))))
    assert whole["ret"] == big
