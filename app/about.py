"""What the About box says: the versions a bug report needs, which session this is, where it runs,
and where its logs are (its session log, and the servers' own log files in the 'separated' log
mode)."""
from __future__ import annotations

import datetime
import html
import platform
from collections.abc import Mapping
from importlib import metadata

import PySide6
from PySide6.QtCore import qVersion

import core
from core.frontends.model import SessionInfo
from core.server_state import ServerState


def about_text(info: SessionInfo, servers: Mapping[int, ServerState] | None = None) -> str:
    """The window's own versions, then the session's (which may run elsewhere, attached);
    `servers`: the servers' last states, which name their log files."""
    started = datetime.datetime.fromtimestamp(info.started).strftime("%Y-%m-%d %H:%M:%S")
    rows = [
        ("mpipanel", core.__version__),
        ("Qt", f"{qVersion()} (PySide6 {PySide6.__version__})"),
        ("Python", platform.python_version()),
        ("mpi4py", metadata.version("mpi4py")),
        ("Session", f"{info.session_id} ({info.kind}{', ' + info.program if info.program else ''})"),
        ("Runs on", f"{info.host}, pid {info.pid}, since {started}, mpipanel {info.version}"),
        ("MPI library", info.mpi_library or "unknown"),
        ("Launch mode", info.launch_mode),
        ("Servers", str(len(info.servers))),
        ("Isolation", info.isolation),
        ("Session log", str(info.session_log_path or "off")),
    ]
    rows += [(f"Log of server {rank}", status["log_file"]) for rank, status in (servers or {}).items()
             if status.get("log_file")]
    table = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return ("<p><b>mpipanel</b> — a control panel for an interactive MPI session: "
            "Python commands on MPI servers, their output, results and load, live.</p>"
            f"<table cellspacing='6'>{table}</table>")
