"""Render the icon's source, app/resources/mpipanel.svg, to the PNG sizes in resources/ that
desktop integration uses (share/icons/hicolor/256x256).

    QT_QPA_PLATFORM=offscreen python tools/render_icon.py
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "app" / "resources" / "mpipanel.svg"
RESOURCES = REPO / "resources"


def render(size: int, target: Path) -> None:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(SOURCE)).render(painter)
    painter.end()
    image.save(str(target))


if __name__ == "__main__":
    app = QGuiApplication([])
    render(256, RESOURCES / "mpipanel.png")
    render(48, RESOURCES / "mpipanel-48.png")
