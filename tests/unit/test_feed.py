"""A frontend's feed: events in order, output coalesced and bounded, a command's output before its result;
the journal a frontend resumes from."""
from __future__ import annotations

from core.events import CommandFinished, CommandStarted, ServerOutput, ServerStatusChanged
from core.frontends.feed import MAX_HANDOVER_CHARS, MIN_SERVER_CHARS, OUTPUT_INTERVAL, Feed, server_output_limit
from core.frontends.journal import Journal
from core.frontends.model import LoadFigures, LoadSampled
from core.server_state import server_state
from core.wire.messages import LogItem, OutputItem


def _line(text: str, command_id: int | None = 1) -> OutputItem:
    return OutputItem(command_id, "stdout", text + "\n")


def _finished(command_id: int, server: int) -> CommandFinished:
    return CommandFinished({"id": command_id, "server": server, "status": "done", "ret": None})


def _texts(event: ServerOutput) -> list[str]:
    return [item.text for item in event.items]


def test_events_other_than_output_are_due_at_once_and_come_in_order():
    feed = Feed(servers=2, after=10)
    assert feed.due_in(0.0) is None
    feed.add(11, CommandStarted(1, 1, 1.0))
    feed.add(12, ServerStatusChanged(2, server_state(2, "idle")))
    assert feed.due_in(0.0) == 0.0
    assert [seq for seq, _ in feed.take(0.0)] == [11, 12]
    assert feed.take(0.0) == [] and feed.due_in(0.0) is None and feed.last_seq == 12


def test_output_is_coalesced_per_server_and_handed_over_at_most_every_interval():
    feed = Feed(servers=2, after=0)
    feed.add(1, ServerOutput(1, [_line("a")]))
    feed.add(2, ServerOutput(2, [_line("b")]))
    feed.add(3, ServerOutput(1, [_line("c")]))
    first = feed.take(100.0)
    assert [(seq, event.server, _texts(event)) for seq, event in first] == [
        (3, 1, ["a\n", "c\n"]), (2, 2, ["b\n"])]
    feed.add(4, ServerOutput(1, [_line("d")]))
    assert abs(feed.due_in(100.0) - OUTPUT_INTERVAL) < 1e-9
    assert feed.take(100.0 + OUTPUT_INTERVAL / 2) == []
    assert [_texts(event) for _, event in feed.take(100.0 + OUTPUT_INTERVAL)] == [["d\n"]]


def test_a_commands_output_comes_before_its_result_and_other_servers_output_waits():
    feed = Feed(servers=2, after=0)
    feed.add(0, ServerOutput(2, [_line("earlier")]))
    feed.take(0.0)  # an output hand-over was just made: the next waits its interval
    feed.add(1, ServerOutput(1, [_line("last line of 7")]))
    feed.add(2, ServerOutput(2, [_line("server 2 goes on", 8)]))
    feed.add(3, _finished(7, server=1))
    batch = feed.take(0.01)
    assert [(seq, type(event).__name__) for seq, event in batch] == [(1, "ServerOutput"), (3, "CommandFinished")]
    assert [(seq, event.server) for seq, event in feed.take(OUTPUT_INTERVAL)] == [(2, 2)]


def test_a_flood_is_bounded_per_hand_over_counting_the_lines_let_go():
    servers = 4
    feed = Feed(servers=servers, after=0)
    limit = server_output_limit(servers)
    assert limit == MAX_HANDOVER_CHARS // servers
    for seq in range(1, 1001):
        feed.add(seq, ServerOutput(1 + seq % servers, [_line("x" * 99) for _ in range(50)]))
    batch = feed.take(1.0)
    assert sum(len(item.text) for _, event in batch for item in event.items) <= MAX_HANDOVER_CHARS
    for _, event in batch:
        kept = len(event.items)
        assert kept == limit // 100 and event.dropped == 250 * 50 - kept


def test_many_servers_keep_at_least_a_minimum_each():
    assert server_output_limit(128) == MIN_SERVER_CHARS


def test_lines_a_source_already_let_go_are_counted_on():
    feed = Feed(servers=1, after=0)
    feed.add(1, ServerOutput(1, [LogItem(1, 1.0, 20, "x", "kept")], dropped=5))
    feed.add(2, ServerOutput(1, [], dropped=2))
    [(_, event)] = feed.take(1.0)
    assert event.dropped == 7 and event.items[0].message == "kept"


def test_the_journal_gives_the_events_after_a_number_it_still_covers():
    journal = Journal(max_events=5)
    for seq in range(1, 9):
        journal.add(seq, CommandStarted(seq, 1, 0.0))
    assert [seq for seq, _ in journal.after(5)] == [6, 7, 8]
    assert [seq for seq, _ in journal.after(3)] == [4, 5, 6, 7, 8]
    assert journal.after(8) == []
    assert journal.after(2) is None  # event 3 was let go
    assert journal.after(9) is None  # a number this session never gave


def test_the_journal_is_bounded_by_what_its_events_hold():
    journal = Journal(max_events=1000, max_weight=1000)
    for seq in range(1, 21):
        journal.add(seq, ServerOutput(1, [_line("y" * 99)]))
    assert len(journal) == 10 and journal.weight == 1000
    assert journal.after(10) is not None and journal.after(9) is None
    for seq in range(21, 31):
        journal.add(seq, LoadSampled(0.0, {rank: LoadFigures(0.0, 0, 0, 0) for rank in range(1, 9)}))
    assert len(journal) == 1  # a sample of 8 servers weighs 800
