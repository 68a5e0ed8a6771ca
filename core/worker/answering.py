"""A server's worker answering the client itself, past its rank (`core.wire.answers`).

The rank allows it command by command (`WorkerKind.RUN_AND_ANSWER`); the worker then answers only
a command that said nothing else on the way: no output (on its pipes, or already read by the rank),
no frame to the rank (a log record, progress), no interrupt, and a small result. Anything else
goes the rank's way, in order behind what it relays.
"""
from __future__ import annotations

import os
from typing import Any

from core.wire.answers import Answer, AnswerSender, StreamReads, answer_bytes, fits
from core.wire.batches import Batch
from core.wire.boards import AnsweredWord
from core.wire.messages import SERVER_RANK_VARIABLE, CommandRequest
from core.wire.worker_channel import FrameChannel


class Answering:
    def __init__(self, sender: AnswerSender, answered: AnsweredWord, reads: StreamReads, channel: FrameChannel) -> None:
        self.sender = sender
        self.answered = answered
        self.reads = reads
        self.channel = channel
        self.rank = int(os.environ[SERVER_RANK_VARIABLE])
        self.rank_pid = os.getppid()
        self.interrupted = False
        """An interrupt came since the command began: the rank answers (it may be a time limit's)."""
        self._frames = self._reads = 0

    def begin(self) -> None:
        """A command allowed to be answered here begins."""
        self.interrupted = False
        self._frames, self._reads = self.channel.frames_sent, self.reads.count

    def answer(self, request: CommandRequest, terms: tuple[int, int], fields: dict[str, Any], result: list) -> bool:
        """Answer the client for the command begun last, if it said nothing else on the way and
        its answer can go now: True then (the DONE says so). Call it once its pipes are known to
        be read to the end (`StandardStreams.unread`)."""
        if (self.interrupted or self.channel.frames_sent != self._frames or self.reads.count != self._reads
                or not fits(result)):
            return False
        responses = Batch()
        responses.add({**fields, "id": request.id, "server": self.rank, "namespace_reset": False}, result)
        answer = Answer(self.rank, self.rank_pid, *terms, responses.items)
        if not self.sender.send(answer_bytes(answer, responses.buffers)):
            return False
        self.answered.set()
        return True
