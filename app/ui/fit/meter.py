"""The memory-fit meter: a stacked bar per device against its free memory, with a verdict, and
controls for context length and GPU layers that update it at once.

FitMeter signals:
    changed(object)    the FitResult after any change
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.core.fit.hardware import Hardware, devices_for, host_reserve
from app.core.fit.placement import FitOptions, estimate
from app.core.fit.result import DeviceUse, FitResult
from app.core.fit.shape import FitError, ModelShape
from app.ui.fit.context_spin import MIN_CTX, UNKNOWN_MAX_CTX, ContextSpin

GiB = 1 << 30
SEGMENTS = [
    ("weights_bytes", "weights", QColor("#4c78a8")),
    ("repack_bytes", "repacked", QColor("#72b7b2")),
    ("kv_cache_bytes", "KV cache", QColor("#f58518")),
    ("compute_bytes", "compute", QColor("#54a24b")),
    ("overhead_bytes", "overhead", QColor("#9d9da3")),
]
VERDICT_COLORS = {"green": "#2e7d32", "amber": "#b26a00", "red": "#c62828"}


def verdict_color(r: FitResult) -> str:
    """Green: fits with room; amber: fits but tight, or only partly on the GPU; red: does not fit."""
    if r.verdict == "no_fit":
        return "red"
    tight = any(u.free_bytes and u.resident_bytes > 0.85 * u.free_bytes for u in r.devices)
    return "amber" if tight or r.verdict == "gpu_partial" else "green"


def context_steps(max_ctx: int) -> list[int]:
    """Context lengths the slider offers: powers of two from 512 up to the model's limit."""
    steps = [512]
    while steps[-1] * 2 <= max_ctx:
        steps.append(steps[-1] * 2)
    if steps[-1] != max_ctx:
        steps.append(max_ctx)
    return steps


def device_figures(u: DeviceUse) -> str:
    """What a device's bar says in numbers: the memory this load keeps, what is free, the total."""
    total = f"{u.capacity_bytes / GiB:.1f} GiB total"
    if u.free_bytes <= 0:
        return f"{u.resident_bytes / GiB:.2f} GiB needed, none free ({total})"
    return f"{u.resident_bytes / GiB:.2f} of {u.free_bytes / GiB:.1f} GiB free ({total})"


class MemoryBars(QWidget):
    """One bar per device: the estimate's parts, a line at free memory and the bar's end at total."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.result: FitResult | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_result(self, result: FitResult | None) -> None:
        self.result = result
        self.setFixedHeight(self.sizeHint().height())
        self.update()

    def sizeHint(self) -> QSize:
        n = len(self.result.devices) if self.result else 1
        return QSize(360, 8 + n * 44)

    def figures(self) -> list[str]:
        """What each device's bar says in numbers, as drawn."""
        return [device_figures(u) for u in self.result.devices] if self.result else []

    def paintEvent(self, _event: Any) -> None:
        if self.result is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.windowText().color()
        metrics = p.fontMetrics()
        width = self.width() - 16
        y = 4
        for u in self.result.devices:
            scale = max(u.capacity_bytes, u.total_bytes, 1)
            p.setPen(text)
            figures = device_figures(u)
            # The figures always show in full; a long device name gives way.
            room = max(0, width - metrics.horizontalAdvance(figures) - 12)
            label = metrics.elidedText(
                f"{'RAM' if u.kind == 'cpu' else 'VRAM'} · {u.name}",
                Qt.TextElideMode.ElideRight,
                room,
            )
            p.drawText(QRectF(8, y, width, 16), Qt.AlignmentFlag.AlignLeft, label)
            p.drawText(QRectF(8, y, width, 16), Qt.AlignmentFlag.AlignRight, figures)
            bar = QRectF(8, y + 18, width, 16)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.alternateBase().color().darker(110))
            p.drawRoundedRect(bar, 3, 3)
            x = bar.left()
            for key, _name, color in SEGMENTS:
                w = getattr(u, key) / scale * bar.width()
                if w > 0:
                    p.setBrush(color)
                    p.drawRect(QRectF(x, bar.top(), min(w, bar.right() - x), bar.height()))
                    x += w
            free_x = bar.left() + u.free_bytes / scale * bar.width()
            p.setPen(QPen(QColor("#c62828"), 2))
            p.drawLine(int(free_x), int(bar.top() - 2), int(free_x), int(bar.bottom() + 2))
            y += 44
        p.end()


class FitMeter(QWidget):
    """``planning``: offer to plan for another machine's RAM and VRAM (the library and the Hub);
    off where the question is loading on this machine."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None, planning: bool = True) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.verdict = QLabel("—")
        self.verdict.setWordWrap(True)
        lay.addWidget(self.verdict)
        self.bars = MemoryBars()
        lay.addWidget(self.bars)
        legend = QLabel(
            "  ".join(f'<span style="color:{c.name()}">■</span> {n}' for _k, n, c in SEGMENTS)
            + '  <span style="color:#c62828">|</span> free now'
        )
        legend.setObjectName("mutedLabel")
        legend.setWordWrap(True)
        lay.addWidget(legend)

        form = QFormLayout()
        # Context length: the slider's stops are quick choices, the box takes any exact length.
        self.ctx_slider = QSlider(Qt.Orientation.Horizontal)
        self.ctx_slider.setToolTip("Quick choices: powers of two up to the model's trained context")
        self.ctx_spin = ContextSpin()
        self.ctx_hint = QLabel()
        self.ctx_hint.setObjectName("mutedLabel")
        self.ctx_hint.setWordWrap(True)
        ctx_row = QHBoxLayout()
        ctx_row.addWidget(self.ctx_slider, 1)
        ctx_row.addWidget(self.ctx_spin)
        ctx_field = QVBoxLayout()
        ctx_field.setSpacing(2)
        ctx_field.addLayout(ctx_row)
        ctx_field.addWidget(self.ctx_hint)
        form.addRow("Context length", ctx_field)
        self.gpu_slider = QSlider(Qt.Orientation.Horizontal)
        self.gpu_auto = QCheckBox("auto")
        self.gpu_auto.setChecked(True)
        self.gpu_label = QLabel()
        gpu_row = QHBoxLayout()
        gpu_row.addWidget(self.gpu_slider, 1)
        gpu_row.addWidget(self.gpu_label)
        gpu_row.addWidget(self.gpu_auto)
        form.addRow("GPU layers", gpu_row)
        self.kv_type = QComboBox()
        self.kv_type.addItems(["f16", "q8_0", "q4_0"])
        form.addRow("KV cache", self.kv_type)
        self.planning = planning
        self.plan_other = QCheckBox("Plan for another machine")
        self.ram = QDoubleSpinBox()
        self.ram.setRange(1, 4096)
        self.ram.setSuffix(" GiB RAM")
        self.vram = QDoubleSpinBox()
        self.vram.setRange(0, 1024)
        self.vram.setSuffix(" GiB VRAM")
        machine = QHBoxLayout()
        machine.addWidget(self.ram, 1)
        machine.addWidget(self.vram, 1)
        form.addRow(self.plan_other)
        form.addRow(machine)  # across the form: the two boxes need the room
        if not planning:
            for row in (form.rowCount() - 2, form.rowCount() - 1):
                form.setRowVisible(row, False)
        lay.addLayout(form)
        self.details = QLabel()
        self.details.setObjectName("mutedLabel")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.details)
        # What the llama.cpp build can do with this machine's GPUs (a CPU build beside an NVIDIA
        # card, a Vulkan build that found no device): why GPU layers stay at 0.
        self.hw_note = QLabel()
        self.hw_note.setObjectName("mutedLabel")
        self.hw_note.setWordWrap(True)
        self.hw_note.hide()
        lay.addWidget(self.hw_note)

        self.shape: ModelShape | None = None
        self.hardware: Hardware | None = None
        self.result: FitResult | None = None
        self._steps: list[int] = [4096]
        self._base = FitOptions()
        self.ctx_slider.valueChanged.connect(self._on_ctx_slider)
        self.ctx_spin.valueChanged.connect(self._on_ctx_spin)
        self.gpu_slider.valueChanged.connect(self.update_estimate)
        self.gpu_auto.toggled.connect(self._on_auto)
        self.kv_type.currentIndexChanged.connect(self.update_estimate)
        self.plan_other.toggled.connect(self._on_plan_other)
        self.ram.valueChanged.connect(self.update_estimate)
        self.vram.valueChanged.connect(self.update_estimate)
        self._on_plan_other(False)
        self._set_ctx_hint(None)

    # -- inputs -----------------------------------------------------------------------------------

    def set_hardware(self, hw: Hardware) -> None:
        self.hardware = hw
        note = " ".join(hw.notes)
        if note and "llama.cpp build" not in note:  # else the note names the build itself
            note = f"llama.cpp build: {hw.build_backend}. {note}"
        self.hw_note.setText(note)
        self.hw_note.setVisible(bool(hw.notes) and not self._planning_other())
        if not self.plan_other.isChecked():
            self.ram.setValue(round(hw.ram_total / GiB))
        self.update_estimate()

    def set_model(self, shape: ModelShape | None, options: FitOptions | None = None) -> None:
        self.shape = shape
        self._base = options or FitOptions()
        widgets = (self.ctx_slider, self.ctx_spin, self.gpu_slider, self.kv_type, self.gpu_auto)
        blockers = [w.blockSignals(True) for w in widgets]
        try:
            trained = shape.n_ctx_train if shape and shape.n_ctx_train else None
            self._steps = context_steps(trained or 131072)
            self.ctx_slider.setRange(0, len(self._steps) - 1)
            self.ctx_spin.setMaximum(max(MIN_CTX, trained or UNKNOWN_MAX_CTX))
            self.ctx_spin.setValue(min(self._base.n_ctx, self.ctx_spin.maximum()))
            self._place_ctx_slider(self.ctx_spin.value())
            self._set_ctx_hint(trained)
            n_layer = (shape.n_layer or 0) if shape else 0
            self.gpu_slider.setRange(0, n_layer + 1)
            auto = self._base.n_gpu_layers == "auto"
            self.gpu_auto.setChecked(auto)
            if not auto:
                n = int(self._base.n_gpu_layers)
                self.gpu_slider.setValue(n_layer + 1 if n < 0 else n)
            self.kv_type.setCurrentText(self._base.kv_type)
        finally:
            for w, was in zip(widgets, blockers, strict=True):
                w.blockSignals(was)
        self._on_auto(self.gpu_auto.isChecked())

    def _set_ctx_hint(self, trained: int | None) -> None:
        if trained:
            text = (
                f"Type any length from {MIN_CTX:,} to {trained:,} tokens, the most this model "
                "was trained for."
            )
        else:
            text = (
                f"Type any length from {MIN_CTX:,} tokens; this model does not say how long a "
                "context it was trained for."
            )
        self.ctx_hint.setText(text)
        self.ctx_spin.setToolTip(text)

    def _place_ctx_slider(self, n_ctx: int) -> None:
        """Put the slider at the quick choice nearest an exact length, without changing it."""
        was = self.ctx_slider.blockSignals(True)
        self.ctx_slider.setValue(
            min(range(len(self._steps)), key=lambda i: abs(self._steps[i] - n_ctx))
        )
        self.ctx_slider.blockSignals(was)

    def _on_ctx_slider(self, index: int) -> None:
        was = self.ctx_spin.blockSignals(True)
        self.ctx_spin.setValue(self._steps[index])
        self.ctx_spin.blockSignals(was)
        self.update_estimate()

    def _on_ctx_spin(self, n_ctx: int) -> None:
        self._place_ctx_slider(n_ctx)
        self.update_estimate()

    def _on_auto(self, auto: bool) -> None:
        self.gpu_slider.setEnabled(not auto)
        self.update_estimate()

    def _planning_other(self) -> bool:
        return self.planning and self.plan_other.isChecked()

    def _on_plan_other(self, on: bool) -> None:
        self.ram.setEnabled(on)
        self.vram.setEnabled(on)
        # about this machine only
        self.hw_note.setVisible(bool(self.hw_note.text()) and not self._planning_other())
        self.update_estimate()

    def options(self) -> FitOptions:
        gpu: int | str = "auto" if self.gpu_auto.isChecked() else self.gpu_slider.value()
        return FitOptions(
            n_ctx=self.ctx_spin.value(),
            kv_type=self.kv_type.currentText(),
            n_batch=self._base.n_batch,
            n_ubatch=self._base.n_ubatch,
            flash_attn=self._base.flash_attn,
            n_gpu_layers=gpu,
        )

    # -- output -----------------------------------------------------------------------------------

    def update_estimate(self) -> None:
        opts = self.options()
        if self.shape is None or self.hardware is None:
            self.verdict.setText(
                "Pick a model to see whether it fits."
                if self.hardware
                else "Looking at this machine…"
            )
            self.bars.set_result(None)
            return
        planned = ""
        if self._planning_other():
            ram, vram = self.ram.value(), self.vram.value()
            devices = devices_for(self.hardware, ram, vram)
            reserve = host_reserve(int(ram * GiB)) / GiB
            gpu = f"{vram:g} GiB of VRAM" if vram else "no GPU"
            planned = (
                f" Planned for another machine: {ram:g} GiB of RAM ({reserve:.1f} GiB kept for "
                f"its system), {gpu}, a CPU like this one."
            )
        else:
            devices = devices_for(self.hardware)
        try:
            r = estimate(self.shape, opts, devices, self.hardware.flags)
        except FitError as exc:
            self.verdict.setText(f"<b>Cannot estimate:</b> {exc}")
            self.bars.set_result(None)
            return
        self.result = r
        n_layer = (self.shape.n_layer or 0) + 1
        self.gpu_label.setText(f"{r.gpu_layers} of {n_layer}")
        if self.gpu_auto.isChecked():
            self.gpu_slider.blockSignals(True)
            self.gpu_slider.setValue(r.gpu_layers)
            self.gpu_slider.blockSignals(False)
        color = VERDICT_COLORS[verdict_color(r)]
        extra = (
            f" With every layer on the GPU the context can go up to {r.max_ctx:,} tokens."
            if r.max_ctx
            else ""
        )
        self.verdict.setText(
            f'<span style="color:{color}; font-weight:600">● {r.summary}</span>{extra}'
        )
        self.bars.set_result(r)
        self.details.setText(
            f"Estimate from the {r.grade}. "
            + " ".join(f"{a[0].upper()}{a[1:]}." for a in r.assumptions)
            + planned
        )
        self.changed.emit(r)
