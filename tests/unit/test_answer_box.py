"""A worker's answers past its rank (`core.wire.answers`, `core.worker.answering`): what the
client's box takes, and when a worker answers at all."""
from __future__ import annotations

import os
import socket

import pytest

from core.wire import answers
from core.wire.answers import Answer, AnswerBox, AnswerSender, StreamReads, answer_bytes
from core.wire.batches import unbatch
from core.wire.boards import AnsweredWord, Board
from core.wire.messages import SERVER_RANK_VARIABLE, CommandRequest, WorkerKind
from core.wire.worker_channel import FrameChannel
from core.worker.answering import Answering


pytestmark = pytest.mark.skipif(not Board.available(), reason="workers answer where boards work (memfd, x86)")


@pytest.fixture
def box():
    box = AnswerBox()
    yield box
    box.close()


def sender_to(box: AnswerBox) -> AnswerSender:
    sock = answers.connect(box.address)
    return AnswerSender(sock.detach())


def test_the_box_takes_an_answer_with_its_buffers_in_the_order_they_came(box):
    sender = sender_to(box)
    for number in (1, 2):
        assert sender.send(answer_bytes(Answer(3, 99, number, 0, [({"id": number}, 1)]), [b"result %d" % number]))
    for number in (1, 2):
        answer, buffers = box.take()
        assert answer == Answer(3, 99, number, 0, [({"id": number}, 1)])
        assert [bytes(b) for b in buffers] == [b"result %d" % number]
    assert box.take() is None


def test_the_box_drops_what_is_not_an_answer(box):
    sock = answers.connect(box.address)
    sock.send(b"not a frame")
    sock.send(answer_bytes(Answer(1, 2, 3, 0, []), [])[:-1])  # cut short
    assert box.take() is None


@pytest.mark.skipif(os.getuid() != 0, reason="sending as another user needs root")
def test_the_box_drops_an_answer_from_another_user(box):
    pid = os.fork()
    if pid == 0:  # the child becomes `nobody` and sends a well-made answer
        try:
            os.setuid(65534)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.sendto(answer_bytes(Answer(1, 2, 0, 0, [({"id": 1, "ret": "forged"}, 0)]), []), box.address)
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert box.take() is None


def test_a_worker_that_cannot_send_its_answer_now_says_so_and_its_rank_answers(box):
    sender = sender_to(box)
    large = answer_bytes(Answer(1, 2, 0, 0, []), [bytes(answers.MAX_ANSWER)])
    assert not sender.send(large)
    assert all(sender.send(answer_bytes(Answer(1, 2, n, 0, []), [])) for n in range(3))
    box.close()  # the client is gone
    assert not sender.send(answer_bytes(Answer(1, 2, 3, 0, []), []))


@pytest.fixture
def rank_reads():
    """The rank's side of the count of its reads of the worker's pipes."""
    reads = StreamReads()
    yield reads
    reads.close()


@pytest.fixture
def client_board():
    board = Board()
    yield board
    board.close()


@pytest.fixture
def answering(box, client_board, rank_reads, monkeypatch):
    """A worker of rank 4's answering, its channel's other end kept open."""
    monkeypatch.setenv(SERVER_RANK_VARIABLE, "4")
    rank_end, worker_end = socket.socketpair()
    yield Answering(sender_to(box), AnsweredWord(os.dup(client_board.fd)), StreamReads(os.dup(rank_reads.fd)),
                    FrameChannel(worker_end.detach()))
    rank_end.close()


REQUEST = CommandRequest(7, "6 * 7")


def answer_sent(answering: Answering, box: AnswerBox) -> bool:
    """Whether the worker answered the command begun last (and the box has exactly that)."""
    if not answering.answer(REQUEST, (5, 9), {"successful": True, "status": "done"}, [b"42"]):
        assert box.take() is None
        return False
    answer, buffers = box.take()
    [(fields, result)] = list(unbatch(answer.responses, buffers))
    assert (answer.rank, answer.rank_pid, answer.sent_before, answer.taken) == (4, os.getppid(), 5, 9)
    assert fields == {"successful": True, "status": "done", "id": 7, "server": 4, "namespace_reset": False}
    assert [bytes(b) for b in result] == [b"42"]
    return True


def test_a_worker_answers_a_command_that_said_nothing_else_and_says_so_on_its_clients_board(
        answering, box, client_board):
    assert not client_board.take_answered()
    answering.begin()
    assert answer_sent(answering, box)
    assert client_board.take_answered() and not client_board.take_answered()


def test_a_worker_leaves_to_its_rank_a_command_whose_output_the_rank_has_read(answering, box, rank_reads):
    answering.begin()
    rank_reads.bump()  # the rank began a read of the pipes: it holds output, perhaps
    assert not answer_sent(answering, box)


def test_a_worker_leaves_to_its_rank_a_command_that_sent_it_a_frame(answering, box):
    answering.begin()
    answering.channel.send(WorkerKind.LOG, None)
    assert not answer_sent(answering, box)
    answering.begin()  # the next command starts afresh
    assert answer_sent(answering, box)


def test_a_worker_leaves_to_its_rank_a_command_that_an_interrupt_reached(answering, box):
    answering.begin()
    answering.interrupted = True
    assert not answer_sent(answering, box)
