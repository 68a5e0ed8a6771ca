"""The application icon, shipped inside the `app` package (app/resources/mpipanel.svg, the one
source of the artwork) so that any installed copy finds it beside its code, wherever and however
it was installed; share/icons gets the same file only for desktop integration."""
from __future__ import annotations

from importlib.resources import files

from PySide6.QtGui import QIcon

ICON = files("app") / "resources" / "mpipanel.svg"


def app_icon() -> QIcon:
    return QIcon(str(ICON))
