"""File > Save Session As Script…: which commands go into the script, then where it goes."""
from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget


class SaveSessionDialog(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Save Session As Script")
        self.only_successful = QCheckBox("Only commands that succeeded", self, objectName="onlySuccessful")
        self.include_interrupted = QCheckBox("Include interrupted and cancelled commands", self,
                                             objectName="includeInterrupted")
        self.include_interrupted.setChecked(True)
        self.only_successful.toggled.connect(lambda on: self.include_interrupted.setEnabled(not on))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                   self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The script replays the commands in the order they were sent, with "
                                "their targets and parameters, blocking where they blocked.", self,
                                wordWrap=True))
        layout.addWidget(self.only_successful)
        layout.addWidget(self.include_interrupted)
        layout.addWidget(buttons)

    def options(self) -> dict[str, bool]:
        """Keyword arguments for `MPICommandClient.save_session`."""
        return {"only_successful": self.only_successful.isChecked(),
                "include_interrupted_cancelled": self.include_interrupted.isChecked()}
