"""Qt objects in reference cycles are freed on the GUI thread, never on a core thread that
happened to allocate past the collector's threshold (which froze the window for good)."""
from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, Qt, QThread
from PySide6.QtWidgets import QApplication



class Cycle:
    """Holds a QObject and itself: only the cyclic collector frees it."""

    def __init__(self):
        self.qobject = QObject()
        self.me = self


def test_a_qt_object_in_a_reference_cycle_is_freed_on_the_gui_thread(qtbot, window):
    freed_on = []
    cycle = Cycle()
    cycle.qobject.destroyed.connect(lambda: freed_on.append(QThread.currentThread()),
                                    Qt.ConnectionType.DirectConnection)
    del cycle
    churn = threading.Thread(target=lambda: [[] for _ in range(20 * gc.get_threshold()[0])])
    churn.start()
    churn.join()
    qtbot.waitUntil(lambda: bool(freed_on), timeout=10000)
    assert freed_on == [QApplication.instance().thread()]
    assert not gc.isenabled()


def test_python_collects_by_itself_again_once_the_last_window_is_gone(qtbot, gui_session):
    from PySide6.QtCore import QCoreApplication, QEvent

    from app import MainWindow
    from app.bridge import SessionBridge
    from core.frontends.local import LocalFrontend
    window = MainWindow(SessionBridge(LocalFrontend(gui_session, label="typed")), theme="light", closing="detach")
    assert not gc.isenabled()
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(gc.isenabled)
