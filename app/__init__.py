"""mpipanel's Qt GUI (PySide6): a window on a session, its own (as MPI rank 0) or one elsewhere.

    from app import MainWindow
    from app.bridge import SessionBridge, own_session
    window = MainWindow(own_session(client))      # the session of a started core.MPICommandClient
    window = MainWindow(SessionBridge(frontend), closing="ask")   # a session behind a frontend

`MainWindow` loads on first use, so `mpipanel --help` does not start Qt.
"""
from __future__ import annotations

from core.module_path import reorder_if_run_with_m

reorder_if_run_with_m()  # first: under `python -m app`, before any other import

from typing import TYPE_CHECKING

__all__ = ["MainWindow"]

if TYPE_CHECKING:
    from .main_window import MainWindow


def __getattr__(name: str):
    if name == "MainWindow":
        from .main_window import MainWindow
        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
