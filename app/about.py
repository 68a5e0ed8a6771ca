"""What the About box says: the versions a bug report needs, and where this session is (its log,
and the servers' own log files in the 'separated' log mode)."""
from __future__ import annotations

import html
import platform

import PySide6
from PySide6.QtCore import qVersion

import core


def about_text(bridge) -> str:
    rows = [
        ("mpipanel", core.__version__),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("MPI library", bridge.mpi_library),
        ("mpi4py", bridge.mpi4py_version),
        ("Python", platform.python_version()),
        ("Launch mode", bridge.launch_mode),
        ("Servers", str(len(bridge.ranks))),
        ("Isolation", bridge.isolation),
        ("Session log", str(bridge.session_log_path or "off")),
    ]
    rows += [(f"Log of server {rank}", status["log_file"]) for rank, status in bridge.server_statuses().items()
             if status.get("log_file")]
    table = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return ("<p><b>mpipanel</b> — a control panel for an interactive MPI session: "
            "Python commands on MPI servers, their output, results and load, live.</p>"
            f"<table cellspacing='6'>{table}</table>")
