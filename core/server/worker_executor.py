"""Isolation 'process': a server rank's commands run in a worker process it supervises.

The rank never runs user code, so a segfault, a kill, `os._exit` or an OOM in a command costs
the worker and its namespace, never the MPI job. This executor feeds the worker, relays its
frames and its stdout/stderr pipes to the rank (all through the rank's selector, so the rank
sleeps in one `select()`), and on the worker's death reports it and starts a fresh one. Every
worker, the first and each fresh one, runs the session's preload before its first command.
"""
from __future__ import annotations

import logging
import selectors

import psutil

from core.server.worker_process import WorkerProcess
from core.wire.messages import CommandRequest, WorkerKind


class WorkerExecutor:
    def __init__(self, server):
        self.server = server
        self.selector: selectors.BaseSelector = server.selector
        self.worker = self._start()

    @property
    def pid(self) -> int:
        return self.worker.pid

    def run(self, request: CommandRequest, buffers: list) -> None:
        self.worker.run(request, buffers)

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        return self.worker.hand_over(request, buffers)

    def take_back(self, ids: set[int]) -> set[int]:
        return self.worker.take_back(ids)

    def next_frames(self) -> None:
        self._on_frame(self.worker.channel)

    def interrupt(self) -> None:
        self.worker.interrupt()

    def restart(self) -> bool:
        self._replace()
        return True

    def set_log_level(self, level: int) -> None:
        self.worker.send(WorkerKind.SET_LOG_LEVEL, level)

    def close(self) -> None:
        self.worker.kill()

    def usage(self) -> tuple[float, int]:
        try:
            process = self.worker.psutil_process
            return process.cpu_percent(None), process.memory_info().rss
        except psutil.Error:
            return 0.0, 0

    # ----- the worker's channel and streams ---------------------------------------------------
    def _start(self) -> WorkerProcess:
        worker = WorkerProcess(allocate=self.server.staging.take, queued=True)
        if self.server.log_level != logging.INFO:
            worker.send(WorkerKind.SET_LOG_LEVEL, self.server.log_level)
        self.selector.register(worker.channel, selectors.EVENT_READ, self._on_frame)
        for fd in worker.streams:
            self.selector.register(fd, selectors.EVENT_READ, self._on_stream)
        if self.server.preload is not None:
            worker.send(WorkerKind.PRELOAD, self.server.preload)  # runs before any command
        return worker

    def _on_frame(self, channel) -> None:
        """Handle the frames waiting, up to a full batch of output: the rank's loop must come round
        to send it, and to pause a flood of log records (one batch of 1 MB records held 16 MB,
        and the client took them 64 batches at a time)."""
        try:
            while True:
                kind, payload, buffers = channel.receive()
                if kind == WorkerKind.LOG:
                    self.server.add_log(payload)
                    if self.server.output_due():
                        return
                elif kind == WorkerKind.DONE:
                    self._done(payload, buffers)
                elif kind == WorkerKind.PRELOADED:
                    self._drain_streams()
                    self.server.preloaded(payload)
                if not channel.poll():
                    return
        except (EOFError, OSError):
            self._on_death()

    def _done(self, fields: dict, buffers: list) -> None:
        """A command is over. Output it left unread (its worker said so, and waits) is its own;
        any other was read as it came (`_on_stream`), and what the pipes hold now is the next
        command's, which its worker started at once (`core.wire.command_queue`)."""
        drain = fields.pop("drain", False)
        if drain:
            self._drain_streams()
        self.server.complete(fields, buffers)
        if drain:
            self.worker.channel.send(WorkerKind.DRAINED, None)

    def _on_stream(self, fd: int) -> None:
        if self.server.ahead and self.worker.channel.poll():
            # The worker may have ended the command the rank believes runs and started the next,
            # which wrote this: its DONE came first, so take the frames first.
            self._on_frame(self.worker.channel)
            if fd not in self.worker.streams:
                return  # the worker died meanwhile, and its streams are drained
        data = self.worker.read_stream(fd)
        if data == b"":
            self.selector.unregister(fd)
        elif data:
            self.server.add_output(self.worker.streams[fd], data)

    def _drain_streams(self) -> None:
        for fd, stream in self.worker.streams.items():
            while data := self.worker.read_stream(fd):
                self.server.add_output(stream, data)

    def pause_output(self, paused: bool) -> None:
        """Stop or resume reading the worker's pipes and its channel, whose log records are output
        too: a paused worker blocks in `write` or `send`, so that a flood of either costs bounded
        memory (its response, after them on the channel, waits as it must)."""
        for fileobj, on_ready in ((self.worker.channel, self._on_frame),
                                  *((fd, self._on_stream) for fd in self.worker.streams)):
            key = self.selector.get_map().get(fileobj)
            if paused and key is not None:
                self.selector.unregister(fileobj)
            elif not paused and key is None and not self._closed(fileobj):
                self.selector.register(fileobj, selectors.EVENT_READ, on_ready)

    def _closed(self, fileobj) -> bool:
        if fileobj is self.worker.channel:
            return fileobj.sock.fileno() < 0
        process = self.worker.process
        return (process.stdout if self.worker.streams[fileobj] == "stdout" else process.stderr).closed

    # ----- death and replacement ------------------------------------------------------------
    def _on_death(self) -> None:
        old = self.worker
        how = old.death_description()
        self._replace()
        server = self.server
        server.reset(f"The worker process of server {server.rank} (pid {old.pid} on {server.host}) "
                     f"{how}. Its namespace is lost; a fresh worker has started.")

    def _replace(self) -> None:
        """Stop listening to the current worker, keep what it printed, take back what was handed
        to it ahead of time, start a fresh one."""
        old = self.worker
        self.server.reclaim_ahead()
        for fileobj in (old.channel, *old.streams):
            try:
                self.selector.unregister(fileobj)
            except KeyError:
                pass
        self._drain_streams()
        old.kill()
        self.worker = self._start()
