"""A `%px` cell's output, from the client's events to tagged lines on the cell's streams.

The client delivers events on its progress thread; ipykernel routes output by the thread that
writes it, and the cell's own thread (the kernel's main thread, which waits for the cell's
commands) is the one whose output lands in the cell. So `CellFeed`, subscribed to the client,
only keeps the cell's output, within `OutputCap`, and wakes that thread, which prints it with
`TaggedPrinter`. The cap is applied where the output arrives, so a flood costs the kernel
bounded memory and bounded printing, and the kernel stays responsive. A session the notebook is
attached to has let go of part of a flood already (its feed hands a frontend at most 320 kB/s,
`core.frontends.feed`): those lines, `ServerOutput.dropped`, are counted in the cell's summary too.
"""
from __future__ import annotations

import logging
import threading
from typing import NamedTuple, TextIO

from core.events import ServerOutput
from core.wire.messages import LogItem, OutputItem

MAX_LINES = 2000
MAX_CHARACTERS = 200_000


class Chunk(NamedTuple):
    """A piece of one server's output: `tag` is 'stdout', 'stderr' or 'log', `stream` where it
    is printed ('stdout' or 'stderr': log records of WARNING and above go to stderr)."""

    server: int
    tag: str
    stream: str
    text: str


def chunk_of(server: int, item: OutputItem | LogItem) -> Chunk:
    if isinstance(item, LogItem):
        stream = "stderr" if item.level >= logging.WARNING else "stdout"
        text = f"{logging.getLevelName(item.level)} {item.logger}: {item.message}\n"
        return Chunk(server, "log", stream, text)
    return Chunk(server, item.stream, item.stream, item.text)


class OutputCap:
    """How much of a cell's output is kept: the first `max_lines` lines or `max_characters`
    characters, whichever comes first; the rest is only counted."""

    def __init__(self, max_lines: int = MAX_LINES, max_characters: int = MAX_CHARACTERS):
        self.max_lines = max_lines
        self.max_characters = max_characters
        self.lines = 0
        self.characters = 0
        self.dropped_lines = 0
        self.dropped_characters = 0
        self.dropped_by_session = 0
        """Lines the session let go before they reached the kernel (their characters unknown)."""

    def take(self, text: str) -> str:
        """The part of `text` that fits; the rest is counted as dropped."""
        if self.dropped_characters:
            self._drop(text)
            return ""
        cut = min(len(text), self.max_characters - self.characters)
        newline = -1
        for _ in range(self.max_lines - self.lines):
            newline = text.find("\n", newline + 1, cut)
            if newline < 0:
                break
        else:  # the last line allowed ends inside `text`
            cut = newline + 1
        kept, rest = text[:cut], text[cut:]
        self.lines += kept.count("\n")
        self.characters += len(kept)
        if rest:
            self._drop(rest)
        return kept

    def _drop(self, text: str) -> None:
        self.dropped_lines += text.count("\n")
        self.dropped_characters += len(text)

    def summary(self) -> str | None:
        """What was dropped, for the end of the cell; None when nothing was."""
        if not self.dropped_characters and not self.dropped_by_session:
            return None
        what = f"{self.dropped_lines:,} more lines ({self.dropped_characters:,} characters) were dropped"
        if self.dropped_by_session:
            what = (f"{self.dropped_lines + self.dropped_by_session:,} more lines were dropped, "
                    f"{self.dropped_by_session:,} of them by the session under the flood and "
                    f"{self.dropped_lines:,} ({self.dropped_characters:,} characters) here")
        return (f"[output cut: {what}; a cell keeps {self.max_lines:,} lines "
                f"or {self.max_characters:,} characters]\n")


class CellFeed:
    """Subscribed to the client while a cell's commands run: keeps their output (within the cap)
    for the cell's thread, and wakes it. Runs on the client's progress thread, so it only
    filters, cuts and appends.

    Output may arrive before the cell knows its command ids (the progress thread can send a
    command and hear back before `submit` returns): it is held until `watch` names them."""

    def __init__(self, cap: OutputCap):
        self.cap = cap
        self._ids: frozenset[int] | None = None
        self._early: list[ServerOutput] = []
        self._chunks: list[Chunk] = []
        self._changed = threading.Condition()
        self._woken = False

    def watch(self, ids: list[int]) -> None:
        with self._changed:
            self._ids = frozenset(ids)
            early, self._early = self._early, []
            for event in early:
                self._take(event)
            self._wake()

    def __call__(self, event) -> None:
        if not isinstance(event, ServerOutput):
            return
        with self._changed:
            if self._ids is None:
                self._early.append(event)
            else:
                self._take(event)
            self._wake()

    def _take(self, event: ServerOutput) -> None:
        if event.dropped and event.items and event.items[0].command_id in self._ids:
            self.cap.dropped_by_session += event.dropped  # they came before the cell's first line kept
        for item in event.items:
            if item.command_id in self._ids:
                chunk = chunk_of(event.server, item)
                text = self.cap.take(chunk.text)
                if text:
                    self._chunks.append(chunk._replace(text=text))

    def wake(self) -> None:
        """Wake the cell's thread (a command finished: a future's callback, any thread)."""
        with self._changed:
            self._wake()

    def _wake(self) -> None:
        self._woken = True
        self._changed.notify_all()

    def wait(self, timeout: float) -> None:
        """Return once woken since the last `drain`, or after `timeout` seconds. Interruptible:
        a KeyboardInterrupt (Kernel > Interrupt) reaches the waiting thread."""
        with self._changed:
            self._changed.wait_for(lambda: self._woken, timeout)

    def drain(self) -> list[Chunk]:
        with self._changed:
            chunks, self._chunks = self._chunks, []
            self._woken = False
            return chunks


class TaggedPrinter:
    """Writes servers' output as tagged lines, `[stdout:2] text`, on the cell's own streams.

    Grouping 'arrival' writes each line as it comes (a line a server has not finished waits
    for its end, or for the server's command to end); 'server' holds everything until the cell
    ends and writes it server by server, in rank order."""

    def __init__(self, grouping: str, streams: dict[str, TextIO]):
        self.grouping = grouping
        self.streams = streams
        self._partial: dict[tuple[int, str], tuple[str, str]] = {}
        self._held: dict[int, list[tuple[str, str]]] = {}

    def add(self, chunks: list[Chunk]) -> None:
        pieces: list[tuple[int, str, str]] = []
        for chunk in chunks:
            key = (chunk.server, chunk.tag)
            _, before = self._partial.pop(key, (chunk.stream, ""))
            text = before + chunk.text
            end = text.rfind("\n") + 1
            if end < len(text):
                self._partial[key] = (chunk.stream, text[end:])
            if end:
                pieces.append((chunk.server, chunk.stream, _tagged(chunk.server, chunk.tag, text[:end])))
        self._emit(pieces)

    def end_server(self, server: int) -> None:
        """The server's command ended: its unfinished lines are complete now."""
        pieces = []
        for key in [key for key in self._partial if key[0] == server]:
            stream, text = self._partial.pop(key)
            pieces.append((server, stream, _tagged(server, key[1], text + "\n")))
        self._emit(pieces)

    def close(self) -> None:
        for server in sorted({s for s, _ in self._partial}):
            self.end_server(server)
        held, self._held = self._held, {}
        self._write([piece for server in sorted(held) for piece in held[server]])

    def _emit(self, pieces: list[tuple[int, str, str]]) -> None:
        if self.grouping == "server":
            for server, stream, text in pieces:
                self._held.setdefault(server, []).append((stream, text))
        else:
            self._write([(stream, text) for _, stream, text in pieces])

    def _write(self, pieces: list[tuple[str, str]]) -> None:
        """One write per run of pieces for the same stream, so a burst makes few messages."""
        run_stream, run = None, []
        for stream, text in [*pieces, (None, "")]:
            if stream != run_stream and run:
                self.streams[run_stream].write("".join(run))
                run = []
            run_stream = stream
            run.append(text)


def _tagged(server: int, tag: str, text: str) -> str:
    """Every line of `text` (which ends with a newline) prefixed with `[tag:server] `."""
    prefix = f"[{tag}:{server}] "
    return prefix + text[:-1].replace("\n", "\n" + prefix) + "\n"
