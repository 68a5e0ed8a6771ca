"""How the window shows a command: casampi's wrapped requests as their senders wrote them."""
from __future__ import annotations

from app.command_text import headline
from core.casampi.requests import COMMAND, REQUEST_NAME, shown_command


def test_a_parallel_task_job_is_shown_as_the_call_casampi_makes_of_it():
    job = {REQUEST_NAME: ("flagdata()", "eval", {"vis": "x.mms/SUBMSS/x.0003.ms", "mode": "manual"})}
    assert shown_command(COMMAND, job) == "flagdata(vis='x.mms/SUBMSS/x.0003.ms', mode='manual')"


def test_other_casampi_requests_are_shown_as_their_own_command():
    assert shown_command(COMMAND, {REQUEST_NAME: ("import os", "exec", None)}) == "import os"
    assert shown_command(COMMAND, {REQUEST_NAME: ("f()", "eval", {})}) == "f()"
    assert shown_command(COMMAND, {REQUEST_NAME: ("a", "push", {"a": 1})}) == "a"


def test_anything_else_is_shown_as_sent():
    assert shown_command("1 + 1", None) == "1 + 1"
    assert shown_command("x", {REQUEST_NAME: ("f()", "eval", {})}) == "x"  # not the wrapper
    assert shown_command(COMMAND, {"other": 1}) == COMMAND
    assert shown_command(COMMAND, {REQUEST_NAME: "not a request"}) == COMMAND


def test_a_headline_is_the_first_line_cut_to_its_width():
    assert headline("\n  for i in range(3):\n    pass\n") == "for i in range(3):"
    assert headline("   ") == ""
    assert headline("x" * 50, width=10) == "x" * 9 + "…"
    assert headline("x" * 10, width=10) == "x" * 10
