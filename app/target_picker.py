"""Where a command goes: "first available", a set of servers (each showing its live state), or the
client itself: rank 0's client-side worker, where code may push commands to the servers itself."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QGridLayout, QHBoxLayout, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

from core.events import CLIENT_RANK

from .server_states import state_icon

COLUMNS = 8


class TargetError(ValueError):
    """No usable target is chosen; the message says what is wrong."""


class TargetPicker(QWidget):
    changed = Signal()

    def __init__(self, ranks: list[int], parent: QWidget | None = None):
        super().__init__(parent)
        self.first_available = QCheckBox("First available", self, objectName="targetFirstAvailable")
        self.first_available.setChecked(True)
        self.first_available.setToolTip("Send to whichever server is idle first (queued until one is)")
        self.first_available.toggled.connect(self._on_first_available)
        self.client = QCheckBox("Client (rank 0)", self, objectName="targetClient")
        self.client.setToolTip("Run the code on rank 0, in a worker of its own, where MPICommandClient() is "
                               "the window's client: it can push commands to the servers itself")
        self.client.toggled.connect(self._on_client)
        self.boxes: dict[int, QCheckBox] = {}
        self.states: dict[int, str] = {}
        grid_host = QWidget(self)
        grid = QGridLayout(grid_host)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, rank in enumerate(ranks):
            box = QCheckBox(str(rank), grid_host, objectName=f"targetServer{rank}")
            box.toggled.connect(self._on_server_toggled)
            grid.addWidget(box, index // COLUMNS, index % COLUMNS)
            self.boxes[rank] = box
            self.set_state(rank, "starting")
        grid.setColumnStretch(COLUMNS, 1)
        scroll = QScrollArea(self)
        scroll.setWidget(grid_host)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMaximumHeight(24 * min(4, 1 + (len(ranks) - 1) // COLUMNS) + 8)
        every = QPushButton("All", self, objectName="targetAll")
        nothing = QPushButton("None", self, objectName="targetNone")
        every.clicked.connect(lambda: self._check_all(True))
        nothing.clicked.connect(lambda: self._check_all(False))
        top = QHBoxLayout()
        top.addWidget(self.first_available)
        top.addStretch()
        top.addWidget(every)
        top.addWidget(nothing)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.client)
        layout.addWidget(scroll)

    def set_state(self, rank: int, state: str) -> None:
        box = self.boxes.get(rank)
        if box is None or self.states.get(rank) == state:
            return
        self.states[rank] = state
        box.setIcon(state_icon(state))
        box.setToolTip(f"Server {rank}: {state}")

    def targets(self) -> list[int] | None:
        """None for the first available server, `[CLIENT_RANK]` for the client, else the chosen
        ranks; raises TargetError."""
        if self.client.isChecked():
            return [CLIENT_RANK]
        if self.first_available.isChecked():
            if all(state == "lost" for state in self.states.values()):
                raise TargetError("every server is lost: nothing can run")
            return None
        chosen = [rank for rank, box in self.boxes.items() if box.isChecked()]
        if not chosen:
            raise TargetError("choose a target: \"First available\", the client or at least one server")
        lost = [rank for rank in chosen if self.states.get(rank) == "lost"]
        if lost:
            raise TargetError(f"server {', '.join(map(str, lost))} is lost and cannot take commands")
        return chosen

    def select(self, target: int | list[int] | None) -> None:
        """Show a command's target (e.g. to re-run it from the history)."""
        ranks = [] if target is None else [target] if isinstance(target, int) else list(target)
        for rank, box in self.boxes.items():
            box.setChecked(rank in ranks)
        self.client.setChecked(ranks == [CLIENT_RANK])
        self.first_available.setChecked(not ranks)

    def _on_first_available(self, checked: bool) -> None:
        self._alone(self.first_available, checked)

    def _on_client(self, checked: bool) -> None:
        self._alone(self.client, checked)

    def _alone(self, chosen: QCheckBox, checked: bool) -> None:
        """"First available" and the client each exclude every other target."""
        if checked:
            for box in (self.first_available, self.client, *self.boxes.values()):
                if box is not chosen:
                    box.setChecked(False)
        self.changed.emit()

    def _on_server_toggled(self, checked: bool) -> None:
        if checked:
            self.first_available.setChecked(False)
            self.client.setChecked(False)
        self.changed.emit()

    def _check_all(self, checked: bool) -> None:
        for box in self.boxes.values():
            box.setChecked(checked)
        if not checked:
            self.first_available.setChecked(False)
            self.client.setChecked(False)
        self.changed.emit()
