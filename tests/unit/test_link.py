"""The frontend link over any byte stream (here two pipes, as an ssh's stdio would be): the hand-shake,
frames both ways, and the ways a link ends, each said in one line."""
from __future__ import annotations

import os
import struct
import threading

import pytest

from core.wire.link import (HELLO_LIMIT, KEY_BYTES, MAX_FRAME, FdStream, Frame, Link, LinkClosedError, LinkError,
                            RefusedError, open_handshake, read_hello, serve_handshake)

KEY = bytes(range(KEY_BYTES))


def _pipes() -> tuple[FdStream, FdStream]:
    """Two ends of a byte stream made of two pipes."""
    a_read, b_write = os.pipe()
    b_read, a_write = os.pipe()

    def closer(*fds):
        def close() -> None:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
        return close

    return (FdStream(a_read, a_write, closer(a_read, a_write), 5.0),
            FdStream(b_read, b_write, closer(b_read, b_write), 5.0))


def _shake(frontend_key: bytes = KEY, version: str = "1.0"):
    """Both sides of a hand-shake, the session's in a thread: (frontend's answer or error, session's result)."""
    session_end, frontend_end = _pipes()
    served: dict = {}

    def serve() -> None:
        try:
            served["hello"] = serve_handshake(session_end, KEY, lambda hello: {"ok": hello["mpipanel"] == "1.0",
                                                                               "error": "other version"})
        except LinkError as exc:
            served["error"] = exc

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        answer = open_handshake(frontend_end, frontend_key, {"mpipanel": version, "label": "test"})
    except LinkError as exc:
        answer = exc
    thread.join()
    return answer, served, session_end, frontend_end


def test_a_hand_shake_then_frames_both_ways_over_two_pipes():
    answer, served, session_end, frontend_end = _shake()
    assert answer["ok"] and served["hello"] == {"mpipanel": "1.0", "label": "test"}
    session, frontend = Link(session_end, "session"), Link(frontend_end, "frontend")
    frontend.post(Frame.REQUEST, (1, "submit", b"x" * 200_000))
    assert session.receive() == (Frame.REQUEST, (1, "submit", b"x" * 200_000))
    session.post(Frame.EVENTS, [(1, "event")])
    assert frontend.receive() == (Frame.EVENTS, [(1, "event")])
    frontend.finish()
    with pytest.raises(LinkClosedError, match="the other side closed the link"):
        session.receive()
    session.close()


def test_a_wrong_key_is_refused_before_the_hello_is_read():
    answer, served, *_ = _shake(frontend_key=bytes(KEY_BYTES))
    assert isinstance(answer, RefusedError) and "refused" in str(answer)
    assert str(served["error"]) == "wrong key"


def test_the_session_may_refuse_a_hello_saying_why():
    answer, served, *_ = _shake(version="0.9")
    assert str(answer) == "other version" and str(served["error"]) == "other version"


@pytest.mark.parametrize("data, problem", [
    (struct.pack("!I", MAX_FRAME + 1), "more than the limit"),
    (struct.pack("!I", 10) + b"12345", "a truncated frame (5 of 10 bytes)"),
    (struct.pack("!I", 3) + b"\x80\x05x", "cannot be decoded"),
])
def test_a_bad_frame_ends_the_link_saying_why(data, problem):
    near, far = _pipes()
    far.write(data)
    far.close()
    with pytest.raises(LinkError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        Link(near, "test").receive()


def test_a_silent_link_is_dead_after_its_timeout():
    near, far = _pipes()
    near.timeout = 0.2
    with pytest.raises(LinkError, match="nothing came for 0.2 s"):
        Link(near, "test").receive()


def test_a_hello_too_long_is_refused():
    near, far = _pipes()
    far.write(struct.pack("!I", HELLO_LIMIT + 1))
    with pytest.raises(LinkError, match="a hello of 4097 bytes"):
        read_hello(near)
