"""How a command is shown: the text its sender gave for it (casampi's layer gives a request as
its own sender wrote it), else the command itself, on one line."""
from __future__ import annotations

from app.command_text import headline, shown_text
from core.casampi.requests import shown_command


def test_a_parallel_task_job_is_shown_as_the_call_casampi_makes_of_it():
    assert shown_command("flagdata()", "eval", {"vis": "x.mms/SUBMSS/x.0003.ms", "mode": "manual"}) == (
        "flagdata(vis='x.mms/SUBMSS/x.0003.ms', mode='manual')")


def test_other_casampi_requests_are_shown_as_their_own_command():
    assert shown_command("import os", "exec", None) == "import os"
    assert shown_command("f()", "eval", {}) == "f()"
    assert shown_command("a", "push", {"a": 1}) == "a"
    assert shown_command("f()", "exec", {"a": 1}) == "f()"


def test_the_window_shows_the_text_a_command_came_with_else_the_command():
    assert shown_text("1 + 1") == "1 + 1"
    assert shown_text("__wrapper__(globals())", "flagdata(vis='x.ms')") == "flagdata(vis='x.ms')"
    assert shown_text("pass", "") == ""


def test_a_headline_is_the_first_line_cut_to_its_width():
    assert headline("\n  for i in range(3):\n    pass\n") == "for i in range(3):"
    assert headline("   ") == ""
    assert headline("x" * 50, width=10) == "x" * 9 + "…"
    assert headline("x" * 10, width=10) == "x" * 10
