"""The progress line of the client-side worker: what its command (a script, or typed client code)
is doing while it runs, and how it ended.

"pipeline.py: running · 12/40 imaging · 120 sent · 97 done · 2 failed · 14 s" shows the code's own
latest `progress()` while it runs, counts the commands that code pushed, and keeps counting those
still running after it ended; the elapsed time is redrawn once a second.
"""
from __future__ import annotations

import time
from pathlib import PurePath
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QWidget

from core.events import CLIENT_RANK

from .command_text import headline


def _is_pushed_by_client_code(origin: str | None) -> bool:
    return origin is not None and (origin == "client" or origin.startswith("script:"))


class ClientProgress(QLabel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, objectName="clientProgress")
        self.command_id: int | None = None
        """The client-side command running (or last run)."""
        self.title = ""
        self.outcome = ""
        self.progress = ""
        """Its latest `progress()`, as `app.command_text.progress_text` words it ('' for none)."""
        self.sent = self.done = self.failed = 0
        self._pushed: set[int] = set()
        self._started = self._ended = 0.0
        self._clock = QTimer(self, interval=1000)
        self._clock.timeout.connect(self._show)

    def on_started(self, command_id: int, command: str) -> None:
        self.command_id, self.title, self.outcome, self.progress = command_id, _title(command), "", ""
        self.sent = self.done = self.failed = 0
        self._pushed.clear()
        self._started, self._ended = time.monotonic(), 0.0
        self._clock.start()
        self._show()

    def show_session(self, model) -> None:
        """Take up the client-side command of a session's snapshot (`SessionModel`), if it has one,
        and count what its code pushed so far."""
        ran = [entry for entry in model.history.values()
               if entry.target == CLIENT_RANK and entry.time_started is not None]
        if not ran:
            return
        last = ran[-1]
        self.on_started(last.id, last.text)
        self._started -= time.time() - last.time_started  # it started before this window saw it
        for entry in model.history.values():
            if entry.id > last.id:
                self.on_queued(entry)
                if entry.response is not None:
                    self.on_finished(entry.response)
        if last.response is not None:
            self.on_finished(last.response)
            self._ended = self._started + max(0.0, (last.response.get("time_end") or 0) - last.time_started)
            self._show()

    def show_progress(self, text: str) -> None:
        self.progress = text
        self._show()

    def on_queued(self, entry) -> None:
        if self.command_id is not None and not self._ended and _is_pushed_by_client_code(entry.origin):
            self.sent += 1
            self._pushed.add(entry.id)
            self._show()

    def on_finished(self, response: dict[str, Any]) -> None:
        if response["id"] == self.command_id:
            self._ended = time.monotonic()
            self._clock.stop()
            self.outcome = str(response["status"])
            if not response["successful"]:
                lines = (response["traceback"] or "").strip().splitlines()
                self.outcome += f" ({lines[-1]})" if lines else ""
            elif response["command"].startswith("run_script("):
                self.outcome = f"finished, exit status {response['ret']}"
        elif response["id"] in self._pushed:
            self._pushed.discard(response["id"])
            if response["successful"]:
                self.done += 1
            else:
                self.failed += 1
        else:
            return
        self._show()

    def _show(self) -> None:
        elapsed = (self._ended or time.monotonic()) - self._started
        state = self.outcome or " · ".join(filter(None, ["running", self.progress]))
        self.setText(f"{self.title} {state} · {self.sent} sent · {self.done} done · {self.failed} failed · "
                     f"{elapsed:.0f} s")


def _title(command: str) -> str:
    """'pipeline.py' for a script run, else the code's first line, shortened."""
    if command.startswith("run_script("):
        return PurePath(command[len("run_script("):].split(",")[0].strip("'\")")).name + ":"
    return headline(command, width=40) + ":"
