"""Where a command goes: "first available", a set of servers (each showing its live state), or the
client itself: rank 0's client-side worker, where code may push commands to the servers itself.

A session may have 128 servers, so a set of servers can be chosen three ways that stay in step:
a box per server (in a grid that wraps to the width, `WrappingGrid`), a range typed in the
Servers field (`1-8, 12`, `all`, `none`: `app.rank_ranges`), and a host from the Host menu (the
servers on one machine, as their statuses name it). Ticking boxes writes the range back (`1-4, 7`);
a range that is no selection is marked and refused, naming the field and its bad part.
"""
from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QMenu, QPushButton, QVBoxLayout, QWidget

from core.events import CLIENT_RANK

from .rank_ranges import RankRangeError, parse_ranks, ranks_text
from .server_states import state_icon
from .wrapping_grid import WrappingGrid

MAX_VISIBLE_ROWS = 5
"""Rows of server boxes shown before the grid scrolls: the editor and parameters keep their room."""
MENU_RANKS_CHARS = 24
"""A host's servers as the Host menu shows them beside its name, cut to this many characters."""
RANGE_FIELD = "Servers"
_RANGE_TIP = "Servers to send to: numbers and ranges separated by commas (1-8, 12), all or none"
_BAD_RANGE_STYLE = "QLineEdit { background: rgba(211, 47, 47, 60); }"


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
        self.hosts: dict[int, str] = {}
        self._quiet = False
        """True while the picker ticks boxes itself: their toggles are then one change, not many."""
        self.range_error: str | None = None
        """Why the Servers field's text is no selection, while it is not."""
        self.grid = WrappingGrid(MAX_VISIBLE_ROWS, self)
        self.grid.setObjectName("targetGrid")
        for rank in ranks:
            box = QCheckBox(str(rank), self.grid.widget(), objectName=f"targetServer{rank}")
            box.setIconSize(QSize(12, 12))  # the state's dot, no wider than drawn: more columns fit
            box.toggled.connect(self._on_server_toggled)
            self.grid.add(box)
            self.boxes[rank] = box
            self.set_state(rank, "starting")
        self.range = QLineEdit(self, objectName="targetRange", clearButtonEnabled=True,
                               placeholderText="e.g. 1-8, 12  ·  all  ·  none")
        self.range.setToolTip(_RANGE_TIP)
        self.range.textEdited.connect(self._on_range_edited)
        self.range.editingFinished.connect(self._on_range_finished)
        self.host_menu = QMenu(self)
        self.host_menu.aboutToShow.connect(self._fill_host_menu)
        self.host_button = QPushButton("Host", self, objectName="targetHost")
        self.host_button.setToolTip("Choose every server on one host")
        self.host_button.setMenu(self.host_menu)
        every = QPushButton("All", self, objectName="targetAll")
        nothing = QPushButton("None", self, objectName="targetNone")
        every.clicked.connect(lambda: self._check_all(True))
        nothing.clicked.connect(lambda: self._check_all(False))
        self.range_message = QLabel(self, objectName="targetRangeMessage", wordWrap=True)
        self.range_message.setStyleSheet("color: #d32f2f;")
        self.range_message.hide()
        top = QHBoxLayout()
        top.addWidget(self.first_available)
        top.addWidget(self.client)
        top.addStretch()
        servers = QHBoxLayout()
        servers.addWidget(QLabel(f"{RANGE_FIELD}:", self))
        servers.addWidget(self.range, 1)
        servers.addWidget(self.host_button)
        servers.addWidget(every)
        servers.addWidget(nothing)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(servers)
        layout.addWidget(self.range_message)
        layout.addWidget(self.grid)
        layout.addStretch()

    def set_state(self, rank: int, state: str) -> None:
        box = self.boxes.get(rank)
        if box is None or self.states.get(rank) == state:
            return
        self.states[rank] = state
        box.setIcon(state_icon(state))
        self._describe(rank)

    def set_host(self, rank: int, host: str) -> None:
        """The machine server `rank` runs on (its status's `processor`), for the Host menu."""
        if rank in self.boxes and host and self.hosts.get(rank) != host:
            self.hosts[rank] = host
            self._describe(rank)

    def _describe(self, rank: int) -> None:
        where = f" on {self.hosts[rank]}" if rank in self.hosts else ""
        self.boxes[rank].setToolTip(f"Server {rank}{where}: {self.states.get(rank, 'starting')}")

    def chosen(self) -> list[int]:
        """The ticked servers, in rank order."""
        return [rank for rank, box in self.boxes.items() if box.isChecked()]

    def targets(self) -> list[int] | None:
        """None for the first available server, `[CLIENT_RANK]` for the client, else the chosen
        ranks; raises TargetError."""
        if self.client.isChecked():
            return [CLIENT_RANK]
        if self.first_available.isChecked():
            if all(state == "lost" for state in self.states.values()):
                raise TargetError("every server is lost: nothing can run")
            return None
        if self.range_error is not None:
            self._show_range_error()
            raise TargetError(f"{RANGE_FIELD}: {self.range_error}")
        chosen = self.chosen()
        if not chosen:
            raise TargetError("choose a target: \"First available\", the client or at least one server")
        lost = [rank for rank in chosen if self.states.get(rank) == "lost"]
        if lost:
            raise TargetError(f"server {ranks_text(lost)} is lost and cannot take commands")
        return chosen

    def select(self, target: int | list[int] | None) -> None:
        """Show a command's target (e.g. to re-run it from the history)."""
        ranks = [] if target is None else [target] if isinstance(target, int) else list(target)
        self._tick(ranks)
        self.client.setChecked(ranks == [CLIENT_RANK])
        self.first_available.setChecked(not ranks)

    def select_host(self, host: str) -> None:
        """Choose exactly the servers on `host`."""
        self._tick([rank for rank, on in self.hosts.items() if on == host])

    def servers_by_host(self) -> dict[str, list[int]]:
        """Each host the servers have reported, with its servers in rank order."""
        by_host: dict[str, list[int]] = {}
        for rank in self.boxes:
            if rank in self.hosts:
                by_host.setdefault(self.hosts[rank], []).append(rank)
        return by_host

    def _fill_host_menu(self) -> None:
        """Hosts are known only once servers report, so the menu is made as it opens."""
        self.host_menu.clear()
        for host, ranks in sorted(self.servers_by_host().items()):
            count = f"{len(ranks)} server{'s' if len(ranks) > 1 else ''}"
            which = ranks_text(ranks)  # long when a launcher deals ranks to hosts in turn
            which = which if len(which) <= MENU_RANKS_CHARS else which[:MENU_RANKS_CHARS - 1] + "…"
            action = self.host_menu.addAction(f"{host} — {count}  ({which})")
            action.triggered.connect(lambda _checked=False, h=host: self.select_host(h))
        if self.host_menu.isEmpty():
            self.host_menu.addAction("No server has said where it runs yet").setEnabled(False)

    def _on_first_available(self, checked: bool) -> None:
        self._alone(self.first_available, checked)

    def _on_client(self, checked: bool) -> None:
        self._alone(self.client, checked)

    def _alone(self, chosen: QCheckBox, checked: bool) -> None:
        """"First available" and the client each exclude every other target."""
        if checked:
            other = self.client if chosen is self.first_available else self.first_available
            other.setChecked(False)
            self._tick([], exclusive=False)
        self.changed.emit()

    def _on_server_toggled(self, checked: bool) -> None:
        if self._quiet:
            return
        if checked:
            self._exclude_single_targets()
        self._show_range(ranks_text(self.chosen()))
        self.changed.emit()

    def _tick(self, ranks: Iterable[int], exclusive: bool = True, show: bool = True) -> None:
        """Tick exactly these servers, as one change; with any ticked (and `exclusive`), "First
        available" and the client are no longer chosen. With `show`, the Servers field says which."""
        wanted = set(ranks)
        self._quiet = True
        try:
            for rank, box in self.boxes.items():
                box.setChecked(rank in wanted)
        finally:
            self._quiet = False
        if wanted and exclusive:
            self._exclude_single_targets()
        if show:
            self._show_range(ranks_text(self.chosen()))
        self.changed.emit()

    def _exclude_single_targets(self) -> None:
        for box in (self.first_available, self.client):
            box.blockSignals(True)
            box.setChecked(False)
            box.blockSignals(False)

    def _check_all(self, checked: bool) -> None:
        if not checked:
            self._exclude_single_targets()
        self._tick(self.boxes if checked else [])

    def _on_range_edited(self, text: str) -> None:
        """Typed ranges tick their boxes at once, leaving the text as typed until editing ends; a
        range being typed is marked until it parses. Typing a range chooses servers: "First
        available" and the client are no longer chosen."""
        if text.strip():
            self._exclude_single_targets()
        try:
            ranks = parse_ranks(text, self.boxes)
        except RankRangeError as problem:
            self._mark_range(str(problem))
            self.changed.emit()
            return
        self._mark_range(None)
        self._tick(ranks, show=False)

    def _on_range_finished(self) -> None:
        if self.range_error is None:
            self._show_range(ranks_text(self.chosen()))
        else:
            self._show_range_error()

    def _show_range(self, text: str) -> None:
        """Write the selection into the Servers field (a valid selection: any mark goes)."""
        if self.range.text() != text:
            self.range.setText(text)
        self._mark_range(None)

    def _mark_range(self, problem: str | None) -> None:
        if problem == self.range_error:
            return
        self.range_error = problem
        self.range.setStyleSheet("" if problem is None else _BAD_RANGE_STYLE)
        self.range.setToolTip(_RANGE_TIP if problem is None else f"{RANGE_FIELD}: {problem}")
        if problem is None:
            self.range_message.hide()

    def _show_range_error(self) -> None:
        self.range_message.setText(f"{RANGE_FIELD}: {self.range_error}")
        self.range_message.show()
