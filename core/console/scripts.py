"""Running a Python script as one command of rank 0's client-side worker (`mpipanel --script`).

`run_script(path, args)` runs the file as `__main__` with `sys.argv == [path, *args]`, as
`python path args` would, and keeps `running` set meanwhile so that the commands the script pushes
are marked 'script:LINE' (`core.console.proxy`). It needs nothing else of the console: a saved
session script calls it too.
"""
from __future__ import annotations

import os
import runpy
import sys

running: str | None = None
"""The path of the script running now, as its frames name it."""


def run_script(path: str | os.PathLike, args: list | tuple = ()) -> int:
    """Run the script; its exit status (0). A non-zero `sys.exit` or an exception propagates,
    with a traceback that starts in the script rather than in `runpy`."""
    global running
    path = str(path)
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv[:] = [path, *map(str, args)]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    running = path
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
    except BaseException as exc:  # noqa: BLE001 - raised again, whatever it is
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != path:
            tb = tb.tb_next
        raise exc.with_traceback(tb or exc.__traceback__)  # noqa: B904 - the same exception, cut to the script
    finally:
        running = None
        sys.argv[:], sys.path[:] = saved_argv, saved_path
    return 0
