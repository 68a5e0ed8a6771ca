"""Stacks: faulthandler's text read into threads, the command's own frames kept, servers grouped."""
from __future__ import annotations

import threading

from core import stacks
from core.stacks import COMMAND_THREAD, StackFrame, StackReport, ThreadStack

RUNNER = stacks._RUNNER[0]
DUMP = f'''Thread 0x00007f23ef7af6c0 (most recent call first):
  File "{stacks._THREADING}", line 320 in wait
  File "{stacks._CORE}worker/progress.py", line 98 in _run
  File "{stacks._THREADING}", line 982 in run

Thread 0x00007f23ef7af6c1 (most recent call first):
  File "/home/me/pipeline.py", line 5 in watch
  File "{stacks._THREADING}", line 982 in run

Current thread 0x00007f23f05f1b80 (most recent call first):
  File "<command 12>", line 2 in wait_for
  File "<command 12>", line 5 in flagdata
  File "<command 12>", line 7 in <module>
  File "{RUNNER}", line 180 in _run_command
  File "{stacks._CORE}worker/__main__.py", line 150 in serve
  File "<string>", line ??? in <module>
'''


def test_a_faulthandler_dump_reads_as_threads_with_their_calls_outermost_first():
    threads = stacks.parse_faulthandler(DUMP)
    assert [thread.name for thread in threads] == ["Thread 0x00007f23ef7af6c0", "Thread 0x00007f23ef7af6c1",
                                                   "Thread 0x00007f23f05f1b80"]
    assert threads[2].frames[0] == StackFrame("<string>", None, "<module>")
    assert threads[2].frames[-1] == StackFrame("<command 12>", 2, "wait_for")


def test_the_command_thread_comes_first_cut_to_its_own_calls_and_the_machinerys_threads_go():
    threads = stacks.command_threads(stacks.parse_faulthandler(DUMP))
    assert [thread.name for thread in threads] == [COMMAND_THREAD, "Thread 0x00007f23ef7af6c1"]
    assert [frame.function for frame in threads[0].frames] == ["<module>", "flagdata", "wait_for"]


def test_a_dump_cut_short_keeps_what_it_read():
    threads = stacks.parse_faulthandler(DUMP[:DUMP.index("line 5 in flagdata")])
    assert [frame.function for frame in threads[-1].frames] == ["wait_for"]


def test_this_processs_threads_are_read_with_their_names():
    names = [thread.name for thread in stacks.current_threads()]
    assert threading.current_thread().name in names


def _report(rank: int, *functions: str, command: int | None = 1) -> StackReport:
    frames = [StackFrame(f"<command {command}>", line, function) for line, function in enumerate(functions, 1)]
    return StackReport(rank, command if functions else None, [ThreadStack(COMMAND_THREAD, frames)] if functions else [])


def test_servers_in_the_same_calls_group_together_whatever_their_lines_and_command_ids():
    reports = [_report(rank, "<module>", "flagdata", "wait_for", command=rank) for rank in range(1, 15)]
    reports += [_report(15, "<module>", "setjy"), _report(16)]
    groups = stacks.group_stacks(reports)
    assert [ranks for _, ranks in groups] == [list(range(1, 15)), [15], [16]]
    assert stacks.describe_groups(groups) == ("14 servers in <module> → flagdata → wait_for; "
                                              "server 15 in <module> → setjy; server 16 in nothing (idle)")


def test_a_long_call_path_is_told_by_its_outermost_and_innermost_calls():
    path = stacks.call_path(_report(1, "<module>", "run", "step", "solve", "wait_for"))
    assert stacks.describe_path(path) == "<module> → … → solve → wait_for"


def test_stacks_read_as_text_like_a_traceback():
    text = stacks.format_threads([ThreadStack(COMMAND_THREAD, [StackFrame("<command 3>", 4, "nap")])])
    assert text == "Thread 'command' (most recent call last):\n  File \"<command 3>\", line 4, in nap\n"
