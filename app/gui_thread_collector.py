"""Python's cyclic garbage collection, run on the GUI thread while a window is open.

The collector runs on whichever thread happens to allocate past its threshold. A Qt object caught
in a reference cycle (a widget whose slot holds the widget, say) is then freed on that thread: on
the client's progress thread, its C++ destructor waited for the GIL while the GUI thread, in a
model's `data()`, waited for Qt: the window froze for good (seen twice in the suite, once the
Stacks view's, once in a client-code test). So while a window is open, automatic collection is
off and a timer on the GUI thread collects instead: the young generation every tick (the count
Python starts a collection by is allocations net of frees, which a burst of short-lived objects
leaves near zero), an older one when Python's own thresholds say it is due. Once the last window
is gone, Python collects as usual again (from the next turn of the event loop).
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QObject, QTimer

INTERVAL_MS = 1000
"""How often the GUI thread collects: the middle generation every 10 s, the oldest every 100 s
(Python's thresholds of 10 and 10)."""


class GuiThreadCollector(QObject):
    """Owned by the application; collects while windows are open (`windows`)."""

    def __init__(self, application: QCoreApplication):
        super().__init__(application)
        self.windows = 0
        self.thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(INTERVAL_MS)

    def window_opened(self, window: QObject) -> None:
        self.windows += 1
        gc.disable()
        window.destroyed.connect(self._window_gone)

    def _window_gone(self) -> None:
        """Called from inside the window's destructor, where an automatic collection would free
        other Qt objects while Qt holds a lock their destructors take (the GUI thread deadlocked
        on itself): Python collects by itself again only from the next turn of the event loop."""
        self.windows -= 1
        QTimer.singleShot(0, self._enable_when_no_window)

    def _enable_when_no_window(self) -> None:
        if self.windows == 0:
            gc.enable()

    def collect_due(self) -> None:
        """The oldest generation whose count passed its threshold, else the young one."""
        if gc.isenabled():
            return  # no window: Python collects by itself
        counts = gc.get_count()
        due = [generation for generation in (2, 1) if counts[generation] >= self.thresholds[generation]]
        gc.collect(due[0] if due else 0)


def collect_on_the_gui_thread(window: QObject) -> None:
    """From now until `window` is destroyed (and every other window that asked), Python's cyclic
    collection runs on the GUI thread only."""
    application = QCoreApplication.instance()
    collector = application.findChild(GuiThreadCollector) or GuiThreadCollector(application)
    collector.window_opened(window)
