"""Isolation 'process': a server rank's commands run in a worker process it supervises.

The rank never runs user code, so a segfault, a kill, `os._exit` or an OOM in a command costs
the worker and its namespace, never the MPI job. This executor feeds the worker, relays its
frames and its stdout/stderr pipes to the rank (all through the rank's selector, so the rank
sleeps in one `select()`), and on the worker's death reports it and starts a fresh one.
"""
from __future__ import annotations

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

    def interrupt(self) -> None:
        self.worker.interrupt()

    def restart(self) -> bool:
        self._replace()
        return True

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
        worker = WorkerProcess(allocate=self.server.staging.take)
        self.selector.register(worker.channel, selectors.EVENT_READ, self._on_frame)
        for fd in worker.streams:
            self.selector.register(fd, selectors.EVENT_READ, self._on_stream)
        return worker

    def _on_frame(self, channel) -> None:
        try:
            while True:
                kind, payload, buffers = channel.receive()
                if kind == WorkerKind.LOG:
                    self.server.add_log(payload)
                elif kind == WorkerKind.DONE:
                    self._drain_streams()
                    self.server.complete(payload, buffers)
                if not channel.poll():
                    return
        except (EOFError, OSError):
            self._on_death()

    def _on_stream(self, fd: int) -> None:
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
        for fd in self.worker.streams:
            key = self.selector.get_map().get(fd)
            if paused and key is not None:
                self.selector.unregister(fd)
            elif not paused and key is None and not self._stream_closed(fd):
                self.selector.register(fd, selectors.EVENT_READ, self._on_stream)

    def _stream_closed(self, fd: int) -> bool:
        process = self.worker.process
        return (process.stdout if self.worker.streams[fd] == "stdout" else process.stderr).closed

    # ----- death and replacement ------------------------------------------------------------
    def _on_death(self) -> None:
        old = self.worker
        how = old.death_description()
        self._replace()
        server = self.server
        server.reset(f"The worker process of server {server.rank} (pid {old.pid} on {server.host}) "
                     f"{how}. Its namespace is lost; a fresh worker has started.")

    def _replace(self) -> None:
        """Stop listening to the current worker, keep what it printed, start a fresh one."""
        old = self.worker
        for fileobj in (old.channel, *old.streams):
            try:
                self.selector.unregister(fileobj)
            except KeyError:
                pass
        self._drain_streams()
        old.kill()
        self.worker = self._start()
