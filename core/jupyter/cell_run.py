"""One `%px` cell: its commands sent, waited for while their output prints, then shown.

The waiting happens on the cell's own thread, the kernel's main thread (see `cell_output`).
Kernel > Interrupt raises KeyboardInterrupt there: the cell then stops its commands on the
servers, waits up to `INTERRUPT_WAIT` for them to end, shows what came, and raises
`CellInterrupted`, so that "run all" stops and the kernel is free again.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TextIO

from core.jupyter.cell_display import CellInterrupted, ProgressLine, PxCellError, show_value
from core.jupyter.cell_output import CellFeed, Chunk, OutputCap, TaggedPrinter
from core.jupyter.session_client import SessionClient
from core.wire.responses import CommandResponse

INTERRUPT_WAIT = 10.0
"""Seconds an interrupted cell waits for its commands to end before it gives the kernel back."""
TICK = 0.25
"""How often the waiting thread looks at the clock when nothing happens (the progress line)."""


@dataclass(frozen=True)
class CellOptions:
    target: list[int] | None
    """The ranks, or None for the first available server."""
    block: bool = True
    timeout: float | None = None
    grouping: str = "arrival"
    """'arrival' or 'server' (`cell_output.TaggedPrinter`)."""


class CellRun:
    """A cell's commands from sending to showing. `show` can be called again (`%pxresult`
    twice): it then prints the output kept the first time (within the cap) and the values."""

    def __init__(self, client: SessionClient, command: str, options: CellOptions, count: int | None):
        self.options = options
        self.count = count
        """The cell's execution count, for `Out[server:count]`."""
        self.feed = CellFeed(OutputCap())
        self._unsubscribe = client.subscribe(self.feed)
        try:
            self.futures = client.send(command, options.target, options.timeout)
        except BaseException:
            self._unsubscribe()
            raise
        self.sent = time.monotonic()
        self.ids = [future.command_id for future in self.futures]
        self.feed.watch(self.ids)
        for future in self.futures:
            future.add_done_callback(lambda _future: self.feed.wake())
        self.client = client
        self._kept: list[Chunk] = []
        self._shown = False

    def describe(self) -> str:
        """Where the commands went, for a cell that does not wait for them."""
        where = ("the first available server" if self.options.target is None
                 else f"server{'s' if len(self.ids) > 1 else ''} {', '.join(map(str, self.options.target))}")
        return f"sent to {where} (command{'s' if len(self.ids) > 1 else ''} {', '.join(map(str, self.ids))})"

    def discard(self) -> None:
        """Nobody will show this cell: stop keeping its output (its time limit holds on the servers)."""
        self._unsubscribe()

    def show(self, shell, streams: dict[str, TextIO]) -> None:
        """Wait for the commands, printing their output as it comes; then each server's value as
        `Out[server:count]`. Raises PxCellError when a command did not succeed, CellInterrupted
        on Kernel > Interrupt."""
        printer = TaggedPrinter(self.options.grouping, streams)
        progress = ProgressLine(len(self.futures))
        if self._shown:
            printer.add(self._kept)
        try:
            self._wait(printer, progress, until=None)
            interrupted = None
        except KeyboardInterrupt:
            interrupted = self._stop_after_interrupt(printer, progress)
        self._end_output(printer, progress, streams)
        if interrupted is not None:
            raise CellInterrupted(interrupted) from None
        self._show_results(shell, streams)

    def _wait(self, printer: TaggedPrinter, progress: ProgressLine, until: float | None) -> bool:
        """Print output until every command is done (True) or `until` passes (False)."""
        ended: set[int] = set()
        while True:
            done = [future for future in self.futures if future.done()]
            self._print(printer)  # a command's output arrives before its response
            for future in done:
                if future.command_id not in ended:
                    ended.add(future.command_id)
                    printer.end_server(future.result()["server"])
            now = time.monotonic()
            progress.update(len(done), now - self.sent)
            if len(done) == len(self.futures):
                return True
            if until is not None and now >= until:
                return False
            self.feed.wait(TICK if until is None else min(TICK, until - now))

    def _print(self, printer: TaggedPrinter) -> None:
        chunks = self.feed.drain()
        if chunks:
            self._kept.extend(chunks)
            printer.add(chunks)

    def _stop_after_interrupt(self, printer: TaggedPrinter, progress: ProgressLine) -> str:
        """Stop the cell's unfinished commands and wait a while for them to end; what happened."""
        unfinished = [future.command_id for future in self.futures if not future.done()]
        self.client.stop_commands(unfinished)
        try:
            ended = self._wait(printer, progress, until=time.monotonic() + INTERRUPT_WAIT)
        except KeyboardInterrupt:  # a second interrupt: stop waiting
            ended = False
        stopped = sorted({future.result()["server"] for future in self.futures
                          if future.done() and future.command_id in unfinished})
        message = (f"the cell's commands were interrupted on server{'s' if len(stopped) != 1 else ''} "
                   f"{', '.join(map(str, stopped)) or 'none'}")
        if not ended:
            message += (f"; {sum(not future.done() for future in self.futures)} had not stopped after "
                        f"{INTERRUPT_WAIT:g} s (%mpipanel status shows what runs)")
        return message

    def _end_output(self, printer: TaggedPrinter, progress: ProgressLine, streams: dict[str, TextIO]) -> None:
        self._print(printer)
        printer.close()
        progress.finish(sum(future.done() for future in self.futures), time.monotonic() - self.sent)
        if not self._shown:
            self._shown = True
            self._unsubscribe()
        summary = self.feed.cap.summary()
        if summary:
            streams["stderr"].write(summary)

    def _show_results(self, shell, streams: dict[str, TextIO]) -> None:
        responses: list[CommandResponse] = sorted((future.result() for future in self.futures),
                                                  key=lambda response: response["server"] or 0)
        for response in responses:
            if response["namespace_reset"] and response["successful"]:
                streams["stderr"].write(f"[server {response['server']} started afresh: its namespace was lost "
                                        f"since its previous command]\n")
            if response["successful"] and response["ret"] is not None:
                show_value(shell, response["server"], self.count, response["ret"])
        failed = [response for response in responses if not response["successful"]]
        if failed:
            raise PxCellError(failed)
