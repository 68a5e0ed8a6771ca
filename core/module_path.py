"""The working directory goes last on `sys.path` in every process mpipanel starts, never first.

`python -c` and `python -m` put the working directory at the head of `sys.path`, ahead of the
standard library: a `socket.py` someone left in a shared directory where a user starts mpipanel
would run, as that user, in every server rank and worker. Yet CASA users import their own modules
from the working directory in commands, so it stays on the path, at the end.

Children of ours (`core.boot`) start with `boot_line`, before any import. Ranks started as
`python -m core ...` (or `python -m app`) reorder the path in the first statement of
`core/__init__.py` (and `app/__init__.py`). What no code of ours can prevent there is what Python
imports before it: the package itself (a `core/` folder in the working directory is what runs),
and the modules that `-m` loads after putting the directory
first and that no `.pth` file loaded before (measured in a bare 3.11 venv: `types`, `warnings`,
`contextlib`, `collections`, `functools`, `keyword`, `operator`, `reprlib`). `python -P -m core`
(3.11+, or `PYTHONSAFEPATH=1`) leaves the directory off `sys.path` and closes that too.
This module imports nothing: it runs before anything else may.
"""
import os
import sys

CURRENT = ""
"""`sys.path`'s name for the working directory of the moment (it follows `os.chdir`)."""


def boot_line(root: str) -> str:
    """Python code that puts `root` (the directory holding this `core`) first and the working
    directory last: the first statement of every child's `python -c` program."""
    return (f"import sys; sys.path[:] = [{root!r}] + [p for p in sys.path if p not in ({root!r}, {CURRENT!r})]"
            f" + [{CURRENT!r}]")


def reorder_if_run_with_m() -> None:
    """Under `python -m core...` (while Python finds the module, `sys.argv[0]` is '-m' and the
    working directory leads `sys.path`): move it to the end."""
    if sys.argv[:1] == ["-m"] and sys.path and sys.path[0] == os.getcwd():
        sys.path.append(sys.path.pop(0))
