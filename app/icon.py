"""The application icon: from the install's share/icons, the desktop theme, or the source tree."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

CANDIDATES = (
    Path(sys.prefix) / "share" / "icons" / "hicolor" / "scalable" / "apps" / "mpipanel.svg",
    Path(__file__).resolve().parent.parent / "resources" / "mpipanel.svg",
)


def app_icon() -> QIcon:
    for path in CANDIDATES:
        if path.exists():
            return QIcon(str(path))
    return QIcon.fromTheme("mpipanel")
