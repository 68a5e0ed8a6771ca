"""What is due for a running command, and when: the rules every runner of commands follows."""
from __future__ import annotations

from core.supervision.running_command import INTERRUPT_RETRY, RunningCommand, Step
from core.wire.messages import CommandRequest


def test_nothing_is_due_for_a_command_left_alone():
    command = RunningCommand(CommandRequest(1, "x"), started=100.0)
    assert (command.step(1000.0), command.due_in(1000.0)) == (None, None)


def test_an_interrupt_is_sent_again_every_retry_period_until_the_command_ends():
    command = RunningCommand(CommandRequest(1, "x"), started=100.0)
    command.interrupted(101.0)
    assert command.step(101.0 + INTERRUPT_RETRY / 2) is None
    assert command.due_in(101.0 + INTERRUPT_RETRY / 2) == INTERRUPT_RETRY / 2
    assert command.step(101.0 + INTERRUPT_RETRY) is Step.INTERRUPT
    command.interrupted(101.0 + INTERRUPT_RETRY)
    assert command.step(101.0 + INTERRUPT_RETRY * 1.5) is None
