"""Compare quants: measure a model's quants against its best one (``hearth quality``'s method, in an
engine worker) and show the table; every result is kept as a measured figure for the Hub.

CompareDialog signals:
    measuredSaved()   a comparison finished and its figures were stored
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.quality.stats import QualityResult
from app.ui.quality.footer import add_run_footer
from app.ui.quality.jobs import EngineJob, compare_work

COLUMNS = ("Quant", "Perplexity", "KL mean", "KL median", "KL p99", "Same top", "PPL ratio")


def _duration(seconds: float) -> str:
    return f"{max(seconds, 1):.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class CompareDialog(QDialog):
    measuredSaved = Signal()

    def __init__(
        self,
        reference: tuple[str, str],
        models: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        """``reference`` and ``models``: (path, quant) pairs."""
        super().__init__(parent)
        self.setWindowTitle("Compare quants")
        self.reference = reference
        self.models = models
        self.results: list[QualityResult] = []
        self.job: EngineJob | None = None
        lay = QVBoxLayout(self)
        names = ", ".join(q for _p, q in models)
        intro = QLabel(
            f"Measure {names} against <b>{reference[1]}</b> ({Path(reference[0]).name}): "
            "perplexity on the bundled text, and how far each quant's next-token "
            "distributions are from the reference's (KL divergence, in nats; lower is closer)."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        opts = QHBoxLayout()
        opts.addWidget(QLabel("Tokens per chunk"))
        self.ctx = QSpinBox()
        self.ctx.setRange(16, 8192)
        self.ctx.setValue(512)
        opts.addWidget(self.ctx)
        opts.addWidget(QLabel("Chunks"))
        self.chunks = QSpinBox()
        self.chunks.setRange(2, 10_000)
        self.chunks.setValue(40)
        self.chunks.setToolTip("More chunks: steadier figures, a longer run")
        opts.addWidget(self.chunks)
        opts.addStretch(1)
        lay.addLayout(opts)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)
        self.progress, self.status, self.start_button, self.cancel_button = add_run_footer(
            lay, "Measure", "Close"
        )
        self.resize(680, 360)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._on_cancel)

    def start(self) -> None:
        job = EngineJob(
            compare_work(
                self.reference[0],
                [p for p, _q in self.models],
                self.ctx.value(),
                self.chunks.value(),
            ),
            self,
        )
        job.engineEvent.connect(self._on_event)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(lambda: self._ended("Stopped."))
        self.job = job
        self.results = []
        self.table.setRowCount(0)
        for w in (self.ctx, self.chunks, self.start_button):
            w.setEnabled(False)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText("Starting the engine…")
        self.cancel_button.setText("Stop")
        job.start()

    def _quant(self, index: int) -> str:
        return self.models[index][1] if 0 <= index < len(self.models) else "?"

    def _on_event(self, ev: dict[str, Any]) -> None:
        kind, i, count = ev.get("event"), int(ev.get("index", 0)), int(ev.get("count", 1))
        if kind == "estimate":
            what = " (the reference first)" if ev.get("reference_cached") is False else ""
            self.status.setText(
                f"Measuring {self._quant(i)} ({i + 1} of {count}){what}: about "
                f"{_duration(float(ev.get('seconds', 0.0)))}"
                + (" left" if ev.get("basis") == "measured" else "")
            )
        elif kind == "progress":
            done, total = ev.get("done", 0), max(ev.get("total", 0), 1)
            share = (i + done / total) / max(count, 1)
            self.progress.setValue(int(share * 100))
        elif kind == "measured":
            self._add_row(ev["result"], self._quant(i))

    def _add_row(self, r: QualityResult, quant: str) -> None:
        self.results.append(r)
        kld = r["kl_divergence"] or {"mean": 0.0, "median": 0.0, "p99": 0.0}
        cells = [
            quant,
            f"{r['perplexity']:.4f}",
            f"{kld['mean']:.5f}",
            f"{kld['median']:.5f}",
            f"{kld['p99']:.4f}",
            f"{100 * (r['same_top'] or 0):.1f}%",
            f"{r['perplexity_ratio'] or 0:.4f}",
        ]
        row = self.table.rowCount()
        self.table.insertRow(row)
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, col, item)

    def rows(self) -> list[list[str]]:
        return [
            [
                (self.table.item(r, c) or QTableWidgetItem()).text()
                for c in range(self.table.columnCount())
            ]
            for r in range(self.table.rowCount())
        ]

    def _on_finished(self, results: list[QualityResult]) -> None:
        ref_ppl = results[0]["reference_perplexity"] if results else None
        tokens = results[0]["tokens"] if results else 0
        self._ended(
            f"Done: {tokens:,} tokens scored per quant; {self.reference[1]}'s perplexity is "
            f"{ref_ppl:.4f}. Kept as measured figures: the Hub shows them for these quants."
            if ref_ppl is not None
            else "Done."
        )
        self.measuredSaved.emit()

    def _on_failed(self, text: str) -> None:
        self._ended(text)

    def _ended(self, text: str) -> None:
        self.status.setText(text)
        self.progress.hide()
        for w in (self.ctx, self.chunks, self.start_button):
            w.setEnabled(True)
        self.cancel_button.setText("Close")

    def _on_cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.status.setText("Stopping…")
            self.job.cancel()
            return
        self.accept()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
        super().closeEvent(event)
