"""Quitting cleanly when the X display goes away (ssh -X dropped, the X server stopped).

Qt notices a broken X connection in one of two ways: its xcb reader ends the event loop (the
launcher then finds the loop ended under an open window), or Xlib's I/O error handler runs, which
never returns: Xlib exits the process when it is done, before Python's atexit handlers could stop
the servers or close the session log. So `on_xlib_display_loss` installs an Xlib handler that
does the clean stop itself and then exits.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable

_IO_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)
_installed: list = []  # keeps the C callback alive as long as Xlib may call it


def on_xlib_display_loss(stop: Callable[[], None]) -> None:
    """Run `stop`, then exit with status 1, when Xlib reports that the display is gone."""
    library = ctypes.util.find_library("X11")
    if library is None:
        return  # Qt then talks to X through xcb only, which ends the event loop instead

    def handler(_display) -> int:
        stop()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(1)

    callback = _IO_ERROR_HANDLER(handler)
    _installed.append(callback)
    ctypes.CDLL(library).XSetIOErrorHandler(callback)
