"""Starting Python processes of our own (spawned server ranks, workers) on this very copy of `core`.

A child started as `python -m core.worker` would import whatever `core` comes first on its
`sys.path`: the working directory's, or one on `PYTHONPATH`, if the user happens to have a folder of
that name. So children run a `-c` line that puts the directory holding this `core` first and the
working directory last (`core.module_path`: a planted `socket.py` must not shadow the standard
library), and then honour the switches their parent passed on in the environment (`--casa`:
`core.casampi.switch`) before they import anything else.
"""
from __future__ import annotations

from pathlib import Path

from core.module_path import boot_line

ROOT = str(Path(__file__).resolve().parent.parent)
"""The directory that holds this `core` package."""


def python_code(module: str, call: str) -> str:
    """A `python -c` program that imports `module` from this copy of `core` and runs `call`."""
    return (f"{boot_line(ROOT)}; from core.boot import honour_switches; honour_switches(); "
            f"from {module} import main; {call}")


def honour_switches() -> None:
    from core.casampi.switch import install_if_requested
    install_if_requested()
