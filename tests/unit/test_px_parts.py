"""The pure parts of the notebook's `%px`: targets read from text, the output cap, tagged lines,
the feed that keeps only a cell's output, and `%px`'s options split from its code."""
from __future__ import annotations

import io
import logging

import pytest

from core.events import CommandQueued, ServerOutput
from core.jupyter.autopx import AutoPx
from core.jupyter.cell_output import CellFeed, Chunk, OutputCap, TaggedPrinter
from core.jupyter.px_line import split_px_line
from core.jupyter.targets import ALL, FIRST, TargetsError, parse_targets, resolve_targets
from core.wire.messages import LogItem, OutputItem

SERVERS = {1: True, 2: True, 3: False, 4: True}


@pytest.mark.parametrize("text, parsed", [("all", ALL), (" FIRST ", FIRST), ("2", (2,)), ("3,1", (1, 3)),
                                          ("1-4", (1, 2, 3, 4)), ("1-2, 5,2", (1, 2, 5))])
def test_targets_are_read_as_names_ranks_and_ranges(text, parsed):
    assert parse_targets(text) == parsed


@pytest.mark.parametrize("text, complaint", [("1;import os", "not '1;import os'"), ("x", "not 'x'"),
                                             ("4-2", "runs backwards"), ("", "not ''"),
                                             ("1-99999999999", "no server rank")])
def test_bad_targets_are_refused_naming_the_option(text, complaint):
    with pytest.raises(TargetsError, match="--targets") as error:
        parse_targets(text)
    assert complaint in str(error.value)


def test_targets_resolve_to_the_servers_that_can_take_commands():
    assert resolve_targets(ALL, SERVERS) == [1, 2, 4]
    assert resolve_targets(FIRST, SERVERS) is None
    assert resolve_targets((1, 4), SERVERS) == [1, 4]
    with pytest.raises(TargetsError, match="--targets: no server 7; the servers are 1, 2, 3, 4"):
        resolve_targets((1, 7), SERVERS)
    with pytest.raises(TargetsError, match="--targets: server 3 is lost"):
        resolve_targets((3,), SERVERS)


def test_the_cap_keeps_the_first_lines_and_counts_the_rest():
    cap = OutputCap(max_lines=3, max_characters=1000)
    assert cap.take("a\nb\n") == "a\nb\n"
    assert cap.take("c\nd\ne\n") == "c\n"
    assert cap.take("f\n") == ""
    assert (cap.dropped_lines, cap.dropped_characters) == (3, 6)
    assert "3 more lines (6 characters) were dropped" in cap.summary()


def test_the_cap_also_stops_at_its_characters():
    cap = OutputCap(max_lines=100, max_characters=5)
    assert cap.take("abcdefgh\n") == "abcde"
    assert cap.dropped_lines == 1 and OutputCap().summary() is None


def test_lines_an_attached_session_let_go_in_a_flood_count_in_the_cells_summary():
    cap = OutputCap(max_lines=1, max_characters=1000)
    feed = CellFeed(cap)
    feed.watch([5])
    feed(ServerOutput(1, [OutputItem(5, "stdout", "a\nb\n")], dropped=40))
    feed(ServerOutput(2, [OutputItem(4, "stdout", "not the cell's\n")], dropped=7))
    assert feed.drain() == [Chunk(1, "stdout", "stdout", "a\n")]
    assert ("41 more lines were dropped, 40 of them by the session under the flood and 1 (2 characters) here"
            in cap.summary())


def _printer(grouping: str):
    streams = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    return TaggedPrinter(grouping, streams), streams


def test_lines_are_tagged_with_stream_and_server_and_unfinished_lines_wait_for_their_end():
    printer, streams = _printer("arrival")
    printer.add([Chunk(2, "stdout", "stdout", "one\ntw"), Chunk(1, "stderr", "stderr", "oops\n")])
    printer.add([Chunk(2, "stdout", "stdout", "o\nthr")])
    assert streams["stdout"].getvalue() == "[stdout:2] one\n[stdout:2] two\n"
    printer.end_server(2)
    assert streams["stdout"].getvalue().endswith("[stdout:2] thr\n")
    assert streams["stderr"].getvalue() == "[stderr:1] oops\n"


def test_grouping_by_server_writes_each_servers_output_together_in_rank_order():
    printer, streams = _printer("server")
    printer.add([Chunk(2, "stdout", "stdout", "b1\n"), Chunk(1, "stdout", "stdout", "a1\n"),
                 Chunk(2, "stdout", "stdout", "b2\n"), Chunk(1, "stdout", "stdout", "a2")])
    assert streams["stdout"].getvalue() == ""
    printer.close()
    assert streams["stdout"].getvalue() == "[stdout:1] a1\n[stdout:1] a2\n[stdout:2] b1\n[stdout:2] b2\n"


def test_the_feed_keeps_only_the_cells_output_and_log_records_at_their_level():
    feed = CellFeed(OutputCap())
    feed(ServerOutput(1, [OutputItem(5, "stdout", "early\n")]))  # before the cell knows its ids
    feed.watch([5, 6])
    feed(ServerOutput(2, [OutputItem(6, "stdout", "mine\n"), OutputItem(9, "stdout", "not mine\n"),
                          LogItem(6, 0.0, logging.WARNING, "calib", "low flux")]))
    feed(CommandQueued(id=7, command="x", parameters=None, target=None, block=False, time=0.0, push=7,
                       push_target=None))
    assert feed.drain() == [Chunk(1, "stdout", "stdout", "early\n"), Chunk(2, "stdout", "stdout", "mine\n"),
                            Chunk(2, "log", "stderr", "WARNING calib: low flux\n")]
    assert feed.drain() == []


def test_px_options_come_before_the_code_which_stays_verbatim():
    assert split_px_line("--targets 1,3 --noblock print('a  b')") == ("--targets 1,3 --noblock", "print('a  b')")
    assert split_px_line("-t first x = 1") == ("-t first", "x = 1")
    assert split_px_line("--timeout=2 x") == ("--timeout=2", "x")
    assert split_px_line("-- -x") == ("", "-x")


class _Shell:
    input_transformers_cleanup: list = []


def test_autopx_turns_every_cell_into_a_px_cell_but_leaves_its_own_magics_alone():
    shell = _Shell()
    auto = AutoPx(shell)
    auto.turn_on("--targets 2")
    assert auto.on
    assert auto.transform(["x = 1\n", "x\n"]) == ["get_ipython().run_cell_magic('px', '--targets 2', 'x = 1\\nx\\n')\n"]
    assert auto.transform(["%autopx\n"]) == ["%autopx\n"]
    assert auto.transform(["\n", "%pxresult\n"]) == ["\n", "%pxresult\n"]
    auto.turn_off()
    assert not auto.on and shell.input_transformers_cleanup == []


class _Table:
    """A value with a rich display, as a pandas frame has."""

    def _repr_html_(self) -> str:
        return "<table><tr><td>1</td></tr></table>"


class _Lines:
    def __repr__(self) -> str:
        return "one\ntwo"


def test_values_show_after_their_prompts_plain_ones_of_consecutive_servers_in_one_display(monkeypatch, tmp_path):
    pytest.importorskip("IPython")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))  # the shell's history database goes there
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    from core.jupyter.cell_display import show_values
    shell = InteractiveShell.instance()
    shell.display_pub = CapturingDisplayPublisher()
    show_values(shell, 5, [(1, 42), (2, _Table()), (3, "x"), (4, _Lines())])
    shown = [output["data"] for output in shell.display_pub.outputs]
    assert [data["text/plain"] for data in shown if data.keys() == {"text/plain"}] == \
        ["Out[1:5]: 42\nOut[2:5]:", "Out[3:5]: 'x'\nOut[4:5]:\none\ntwo"]
    assert shown[1]["text/html"] == "<table><tr><td>1</td></tr></table>" and len(shown) == 3
