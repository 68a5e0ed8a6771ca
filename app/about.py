"""What the About box says: the versions a bug report needs, and where this session is."""
from __future__ import annotations

import html
import platform

import mpi4py
import PySide6
from PySide6.QtCore import qVersion

import core


def mpi_library_version() -> str:
    from mpi4py import MPI
    return MPI.Get_library_version().strip().splitlines()[0].replace("Version:", "").strip()


def about_text(client) -> str:
    rows = [
        ("mpipanel", core.__version__),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("MPI library", mpi_library_version()),
        ("mpi4py", mpi4py.__version__),
        ("Python", platform.python_version()),
        ("Launch mode", client.launch_mode),
        ("Servers", str(len(client.server_ranks()))),
        ("Isolation", client.isolation),
        ("Session log", str(client.session_log_path or "off")),
    ]
    table = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return ("<p><b>mpipanel</b> — a control panel for an interactive MPI session: "
            "Python commands on MPI servers, their output, results and load, live.</p>"
            f"<table cellspacing='6'>{table}</table>")
