"""The foot of a dialog that runs a job: a progress bar, a status line, and Start / Cancel."""

from __future__ import annotations

from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QLabel, QProgressBar, QPushButton


def add_run_footer(
    lay: QBoxLayout, start: str, cancel: str
) -> tuple[QProgressBar, QLabel, QPushButton, QPushButton]:
    """Add the progress bar (hidden until the job starts), the status line and the two buttons
    (``start`` is the default one) to ``lay``; returns them in that order."""
    progress = QProgressBar()
    progress.setRange(0, 100)
    progress.hide()
    lay.addWidget(progress)
    status = QLabel()
    status.setWordWrap(True)
    lay.addWidget(status)
    buttons = QHBoxLayout()
    buttons.addStretch(1)
    start_button = QPushButton(start)
    start_button.setDefault(True)
    cancel_button = QPushButton(cancel)
    cancel_button.setAutoDefault(False)
    buttons.addWidget(start_button)
    buttons.addWidget(cancel_button)
    lay.addLayout(buttons)
    return progress, status, start_button, cancel_button
