"""Quantize…: make another quant of a library model with llama.cpp's quantizer, in an engine worker.

QuantizeDialog signals:
    made(str)   the path of the new model file (the controller adds it to the library)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.quality.published import describe, expected_loss
from app.core.quality.quantize import (
    FILE_TYPES,
    FULL_PRECISION,
    NEAR_LOSSLESS,
    NEEDS_IMATRIX,
    REQUANTIZE_WARNING,
    output_name,
)
from app.core.units import human_bytes
from app.ui.quality.footer import add_run_footer
from app.ui.quality.jobs import EngineJob, quantize_work

# The presets offered first, most useful first; the rest follow in llama.cpp's order.
COMMON = ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K", "IQ4_XS", "Q4_0", "F16", "BF16"]


def offered_types() -> list[str]:
    rest = [t for t in FILE_TYPES if t not in COMMON and t not in NEEDS_IMATRIX and t != "F32"]
    return [*COMMON, *rest]


class QuantizeDialog(QDialog):
    made = Signal(str)

    def __init__(
        self,
        source: str,
        source_quant: str | None,
        parameters: int | None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quantize a model")
        self.source = source
        self.source_quant = (source_quant or "").upper() or None
        self.parameters = parameters
        self.job: EngineJob | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Make another quant of <b>{Path(source).name}</b>."))
        form = QFormLayout()
        self.type = QComboBox()
        for t in offered_types():
            self.type.addItem(t)
        form.addRow("Preset", self.type)
        self.loss = QLabel()
        self.loss.setObjectName("mutedLabel")
        self.loss.setWordWrap(True)
        form.addRow("", self.loss)
        row = QHBoxLayout()
        self.out = QLineEdit()
        row.addWidget(self.out, 1)
        self.browse = QPushButton("Browse…")
        self.browse.setAutoDefault(False)
        row.addWidget(self.browse)
        form.addRow("Save as", row)
        lay.addLayout(form)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b26a00;")
        lay.addWidget(self.warning)
        self.allow = QCheckBox("Quantize it anyway (the loss compounds)")
        lay.addWidget(self.allow)
        self.progress, self.status, self.start_button, self.cancel_button = add_run_footer(
            lay, "Quantize", "Cancel"
        )
        self.setMinimumWidth(520)

        requantize = self.source_quant not in FULL_PRECISION | NEAR_LOSSLESS
        self.warning.setVisible(requantize)
        self.allow.setVisible(requantize)
        if requantize:
            self.warning.setText(
                f"{Path(source).name} is already quantized ({self.source_quant or 'unknown type'}): "
                f"{REQUANTIZE_WARNING}."
            )
        self.type.currentTextChanged.connect(self._on_type)
        self.browse.clicked.connect(self._on_browse)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self._on_cancel)
        self.allow.toggled.connect(lambda _on: self._update_start())
        self.out.textChanged.connect(lambda _t: self._update_start())
        self._on_type(self.type.currentText())

    def set_type(self, type_name: str) -> None:
        self.type.setCurrentText(type_name)

    def _on_type(self, type_name: str) -> None:
        self.out.setText(
            str(Path(self.source).with_name(output_name(Path(self.source), type_name)))
        )
        loss = expected_loss(type_name, self.parameters)
        self.loss.setText(
            f"Expected loss: about {loss.kld:.3g} KL divergence, {describe(loss.kld)} "
            "(llama.cpp's published figure, scaled to this model's size)"
            if loss is not None
            else ""
        )
        self._update_start()

    def _update_start(self) -> None:
        blocked = not self.allow.isHidden() and not self.allow.isChecked()
        running = self.job is not None and self.job.running
        self.start_button.setEnabled(bool(self.out.text().strip()) and not blocked and not running)

    def _on_browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the quant as", self.out.text(), "GGUF models (*.gguf)"
        )
        if path:
            self.out.setText(path)

    def start(self) -> None:
        out = self.out.text().strip()
        if not out:
            return
        allow = not self.allow.isHidden() and self.allow.isChecked()
        job = EngineJob(quantize_work(self.source, self.type.currentText(), out, allow), self)
        job.engineEvent.connect(self._on_event)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        for w in (self.type, self.out, self.browse, self.allow):
            w.setEnabled(False)
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText("Starting the engine…")
        self.cancel_button.setText("Stop")
        job.start()
        self._update_start()

    def _on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") == "planned":
            warn = "".join(f"\nWarning: {w}" for w in ev.get("warnings", []))
            self.status.setText(
                f"Writing {Path(ev['out']).name} ({ev['type']}, about "
                f"{human_bytes(ev['estimated_bytes'])})…{warn}"
            )
        elif ev.get("event") == "progress":
            done, total = ev.get("done", 0), max(ev.get("total", 0), 1)
            self.progress.setValue(done * 100 // total)

    def _on_finished(self, result: dict[str, Any]) -> None:
        self.progress.setValue(100)
        self.status.setText(
            f"Made {Path(result['path']).name} ({result.get('quant')}, "
            f"{human_bytes(result['bytes'])}) in {result['seconds']:.1f} s; added to the library."
        )
        self.cancel_button.setText("Close")
        self.made.emit(result["path"])

    def _on_failed(self, text: str) -> None:
        self.status.setText(text)
        self._ready_again()

    def _on_cancelled(self) -> None:
        self.status.setText("Stopped; nothing was written.")
        self._ready_again()

    def _ready_again(self) -> None:
        self.progress.hide()
        for w in (self.type, self.out, self.browse, self.allow):
            w.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self._update_start()

    def _on_cancel(self) -> None:
        if self.job is not None and self.job.running:
            self.status.setText("Stopping…")
            self.job.cancel()
            return
        self.reject()

    def reject(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
        super().closeEvent(event)
