"""Starting Python processes of our own (spawned server ranks, workers) on this very copy of `core`.

A child started as `python -m core.worker` would import whatever `core` comes first on its
`sys.path`: the working directory's, or one on `PYTHONPATH`, if the user happens to have a folder of
that name. So children run a `-c` line that puts the directory holding this `core` first.
"""
from __future__ import annotations

from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
"""The directory that holds this `core` package."""


def python_code(module: str, call: str) -> str:
    """A `python -c` program that imports `module` from this copy of `core` and runs `call`."""
    return f"import sys; sys.path.insert(0, {ROOT!r}); from {module} import main; {call}"
