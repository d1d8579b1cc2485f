"""The download queue on screen: a row per model with progress, speed and ETA, and its buttons.

DownloadsPanel signals:
    pauseRequested(str)     download id
    resumeRequested(str)    download id (also "try again" after a failure)
    cancelRequested(str)    download id
    resumeAllRequested()
    clearRequested()        forget finished and cancelled rows
    chatRequested(str)      path of a downloaded model
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.hub.queue import (
    CANCELLED,
    DONE,
    FAILED,
    PAUSED,
    QUEUED,
    RUNNING,
    Download,
)
from app.core.units import format_eta, human_bytes


def status_text(d: Download) -> str:
    of = f"{human_bytes(d.done_bytes)} of {human_bytes(d.total_bytes)}"
    if d.state == RUNNING:
        speed = f"{human_bytes(d.speed)}/s" if d.speed else "waiting for data…"
        left = f" · {format_eta(d.eta)} left" if d.eta is not None else ""
        n = len(d.jobs)
        part = f" · file {d.current + 1} of {n}: {d.jobs[d.current].dest.name}" if n > 1 else ""
        return f"{of} · {speed}{left}{part}"
    if d.state == QUEUED:
        return f"Waiting · {of}"
    if d.state == PAUSED:
        why = f" ({d.error})" if d.error else ""
        return f"Paused at {of}{why}"
    if d.state == FAILED:
        return d.error or "Failed"
    if d.state == DONE:
        return f"Downloaded and verified · {human_bytes(d.total_bytes)}"
    return "Cancelled: the partial file was deleted"


class DownloadRow(QFrame):
    def __init__(self, panel: DownloadsPanel, d: Download) -> None:
        super().__init__()
        self.setObjectName("downloadRow")
        self.dl_id = d.id
        self.path: str | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(3)
        top = QHBoxLayout()
        self.title = QLabel(f"<b>{html.escape(d.repo)}</b> · {html.escape(d.quant)}")
        top.addWidget(self.title, 1)
        self.pause = QPushButton("Pause")
        self.cancel = QPushButton("Cancel")
        self.chat = QPushButton("Chat")
        for b in (self.pause, self.cancel, self.chat):
            b.setAutoDefault(False)
            top.addWidget(b)
        lay.addLayout(top)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        lay.addWidget(self.bar)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.status)
        self.pause.clicked.connect(lambda: panel._on_pause_clicked(self))
        self.cancel.clicked.connect(lambda: panel.cancelRequested.emit(self.dl_id))
        self.chat.clicked.connect(lambda: self.path and panel.chatRequested.emit(self.path))
        self.state = ""
        self.update_from(d)

    def update_from(self, d: Download) -> None:
        self.state = d.state
        self.bar.setValue(int(d.fraction * 1000))
        self.status.setText(html.escape(status_text(d)))
        self.status.setStyleSheet("color: #c62828" if d.state == FAILED else "")
        live = d.state in (RUNNING, QUEUED)
        self.pause.setText("Pause" if live else "Try again" if d.state == FAILED else "Resume")
        self.pause.setVisible(d.state not in (DONE, CANCELLED))
        self.cancel.setVisible(d.state not in (DONE, CANCELLED))
        models = d.model_paths
        self.path = str(models[0]) if models else None
        self.chat.setVisible(d.state == DONE and self.path is not None)


class DownloadsPanel(QWidget):
    pauseRequested = Signal(str)
    resumeRequested = Signal(str)
    cancelRequested = Signal(str)
    resumeAllRequested = Signal()
    clearRequested = Signal()
    chatRequested = Signal(str)
    rowsChanged = Signal(int)  # how many downloads are listed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        title = QLabel("<b>Downloads</b>")
        head.addWidget(title)
        self.overall = QLabel("Nothing downloading")
        self.overall.setObjectName("mutedLabel")
        head.addWidget(self.overall, 1)
        self.resume_all = QPushButton("Resume all")
        self.clear = QPushButton("Clear finished")
        head.addWidget(self.resume_all)
        head.addWidget(self.clear)
        lay.addLayout(head)
        self.overall_bar = QProgressBar()
        self.overall_bar.setRange(0, 1000)
        self.overall_bar.setTextVisible(False)
        self.overall_bar.setMaximumHeight(6)
        lay.addWidget(self.overall_bar)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        inner = QWidget()
        self.rows_layout = QVBoxLayout(inner)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.addStretch(1)
        self.scroll_area.setWidget(inner)
        lay.addWidget(self.scroll_area, 1)
        self.rows: dict[str, DownloadRow] = {}
        self.resume_all.clicked.connect(self.resumeAllRequested)
        self.clear.clicked.connect(self.clearRequested)
        self.set_totals(0, 0, 0.0, 0)
        self.scroll_area.hide()  # no rows: the panel is its header line

    def _on_pause_clicked(self, row: DownloadRow) -> None:
        if row.state in (RUNNING, QUEUED):
            self.pauseRequested.emit(row.dl_id)
        else:
            self.resumeRequested.emit(row.dl_id)

    def update_download(self, d: Download) -> None:
        row = self.rows.get(d.id)
        if row is None:
            row = DownloadRow(self, d)
            self.rows[d.id] = row
            self.rows_layout.insertWidget(self.rows_layout.count() - 1, row)
            self.scroll_area.setVisible(True)
            self.rowsChanged.emit(len(self.rows))
        else:
            row.update_from(d)

    def keep_only(self, ids: set[str]) -> None:
        for dl_id in [i for i in self.rows if i not in ids]:
            row = self.rows.pop(dl_id)
            row.setParent(None)
            row.deleteLater()
        self.scroll_area.setVisible(bool(self.rows))
        self.rowsChanged.emit(len(self.rows))

    def set_totals(self, done: int, total: int, speed: float, resumable: int) -> None:
        if total:
            eta = format_eta((total - done) / speed) if speed > 0 else "—"
            rate = f" · {human_bytes(speed)}/s · {eta} left" if speed > 0 else ""
            self.overall.setText(f"{human_bytes(done)} of {human_bytes(total)}{rate}")
            self.overall_bar.setValue(int(done * 1000 / total))
        else:
            self.overall.setText("Nothing downloading")
            self.overall_bar.setValue(0)
        self.resume_all.setVisible(resumable > 0)
