"""View > Result memory…: how many MiB of command results the client keeps (`result_memory`).

Beyond the limit the oldest results' values are let go (the history keeps everything else and
says "result freed"); lowering it lets go at once. It holds for this session; `mpipanel
--result-memory MB` sets it at start.
"""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QSpinBox, QVBoxLayout, QWidget

from .sizes import MIB, size_text


class ResultMemoryDialog(QDialog):
    def __init__(self, limit: int | None, used: int, parent: QWidget | None = None):
        """`limit`, `used`: the client's budget (None: no limit) and what it keeps now, in bytes."""
        super().__init__(parent)
        self.setWindowTitle("Result Memory")
        self.megabytes = QSpinBox(self, objectName="resultMemoryMiB", suffix=" MiB", maximum=1024 * 1024)
        self.megabytes.setValue(256 if limit is None else limit // MIB)
        self.unlimited = QCheckBox("No limit", self, objectName="resultMemoryUnlimited")
        self.unlimited.toggled.connect(lambda on: self.megabytes.setEnabled(not on))
        self.unlimited.setChecked(limit is None)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Keep at most this much of the commands' results in this window "
                                f"(now {size_text(used)}). Beyond it the oldest results' values are "
                                f"freed; the history keeps their status, timings and a summary.", self,
                                wordWrap=True))
        layout.addWidget(self.megabytes)
        layout.addWidget(self.unlimited)
        layout.addWidget(buttons)

    def limit(self) -> int | None:
        """The chosen budget in bytes, None for no limit."""
        return None if self.unlimited.isChecked() else self.megabytes.value() * MIB
