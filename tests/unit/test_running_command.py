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


def _limited(limit: float = 2.0, grace: float = 5.0) -> RunningCommand:
    return RunningCommand(CommandRequest(7, "x", time_limit=limit, grace=grace), started=100.0)


def test_a_command_with_a_time_limit_expires_at_its_deadline_and_is_killed_after_the_grace():
    command = _limited()
    assert (command.step(101.9), command.due_in(101.0)) == (None, 1.0)
    assert command.step(102.0) is Step.EXPIRE
    command.expire(102.0, "the stack")
    command.interrupted(102.0)
    assert command.step(102.0 + INTERRUPT_RETRY) is Step.INTERRUPT
    command.interrupted(106.9)
    assert round(command.due_in(106.9), 6) == 0.1  # the kill comes before the next retry
    assert command.step(107.0) is Step.KILL


def test_a_command_held_for_a_worker_not_ready_yet_starts_its_time_limit_with_its_clock():
    command = _limited()
    command.hold()
    assert (command.step(150.0), command.due_in(150.0)) == (None, None)
    command.start_clock(150.0)
    assert (command.step(151.9), command.step(152.0)) == (None, Step.EXPIRE)

def test_a_forced_stop_kills_after_its_own_grace_whatever_the_time_limit():
    command = _limited(limit=60.0)
    command.stop(101.0, grace=1.5)
    command.interrupted(101.0)
    assert command.step(102.5) is Step.KILL and command.stopping


def test_an_expired_command_that_ended_on_the_interrupt_says_so_with_its_stack():
    command = _limited()
    command.expire(102.0, "the stack")
    wall = command.expired_wall
    fields = command.outcome({"successful": False, "status": "interrupted", "traceback": "KeyboardInterrupt\n",
                              "time_start": wall - 2.0, "time_end": wall + 0.1}, 102.1)
    assert (fields["status"], fields["stack"]) == ("expired", "the stack")
    assert fields["traceback"] == ("KeyboardInterrupt\nTime limit expired: command 7 ran past its limit of 2 s "
                                   "and was interrupted.\n")


def test_a_command_that_ended_within_its_limit_as_the_interrupt_was_sent_keeps_its_outcome():
    command = _limited()
    command.expire(102.0, "the stack")
    wall = command.expired_wall
    done = {"successful": True, "status": "done", "traceback": None, "time_start": wall - 2.0, "time_end": wall - 0.01}
    assert command.outcome(done, 102.1) is done


def test_a_command_that_caught_the_interrupt_and_returned_late_is_expired_with_its_value_kept():
    command = _limited()
    command.expire(102.0, "the stack")
    wall = command.expired_wall
    late = command.outcome({"successful": True, "status": "done", "traceback": None, "time_start": wall - 2.0,
                            "time_end": wall + 1.5}, 103.5)
    assert (late["status"], late["successful"]) == ("expired", False)
    assert late["traceback"].endswith("it caught the interrupt and returned 3.5 s after it started (its value is "
                                      "kept).\n")


def test_an_unkillable_command_says_where_it_ran_and_how_long():
    command = _limited()
    command.expire(102.0, "the stack")
    command.cannot_kill()
    wall = command.expired_wall
    fields = command.outcome({"successful": False, "status": "interrupted", "traceback": "", "time_start": wall - 2.0,
                              "time_end": wall + 28.0}, 130.0)
    assert "isolation 'none'" in fields["traceback"] and "it ended 30.0 s after it started" in fields["traceback"]
    assert command.step(200.0) is None


def test_a_killed_commands_response_is_expired_started_when_it_was_handed_over():
    command = _limited()
    command.expire(102.0, "the stack")
    detail, fields = command.killed(4321, now=107.0)
    assert detail == ("Time limit expired: command 7 ran past its limit of 2 s and did not end within the grace "
                      "of 5 s after the interrupt, so its worker process (pid 4321) was killed. Its namespace is "
                      "lost; a fresh worker has started.")
    assert (fields["status"], fields["stack"], fields["namespace_reset"]) == ("expired", "the stack", True)
    assert round(fields["time_end"] - fields["time_start"], 1) == 7.0
