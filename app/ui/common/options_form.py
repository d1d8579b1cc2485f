"""A form for load and sampling options, used for the defaults and for one conversation's overrides.

OptionsForm signals:
    changed()
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLayoutItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.options import FLASH_ATTN, KV_TYPES, LoadOptions, SamplingOptions


def _spin(lo: int, hi: int, step: int = 1, special: str = "", suffix: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    if special:
        s.setSpecialValueText(special)
    if suffix:
        s.setSuffix(suffix)
    return s


def _form(box: QGroupBox, note: str) -> QFormLayout:
    """A group's form, its note first; OptionsForm puts the labels beside or above the fields."""
    lay = QFormLayout(box)
    lay.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    label = QLabel(note)
    label.setObjectName("mutedLabel")
    label.setWordWrap(True)
    lay.addRow(label)
    return lay


def _items(form: QFormLayout, *roles: QFormLayout.ItemRole) -> list[QLayoutItem]:
    """The form's items in these roles (all roles when none are given)."""
    roles = roles or tuple(QFormLayout.ItemRole)
    found = (form.itemAt(row, role) for row in range(form.rowCount()) for role in roles)
    return [item for item in found if item is not None]


def _sides(box: QGroupBox, form: QFormLayout) -> int:
    """The width a group box and its form take around the rows: frame and margins."""
    outer, inner = box.contentsMargins(), form.contentsMargins()
    return outer.left() + outer.right() + inner.left() + inner.right()


def _dspin(lo: float, hi: float, step: float, decimals: int = 2) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    return s


class OptionsForm(QWidget):
    changed = Signal()

    def __init__(self, include_load: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.include_load = include_load

        self.n_ctx = _spin(256, 1 << 20, 256, suffix=" tokens")
        self.n_threads = _spin(0, 256, special="automatic (one per core)")
        self.n_gpu_layers = _spin(-2, 999, special="")
        self.n_gpu_layers.setSpecialValueText("automatic")
        self.n_gpu_layers.setToolTip("-1 puts every layer on the GPU; 0 runs on the CPU only")
        self.kv_type = QComboBox()
        self.kv_type.addItems(list(KV_TYPES))
        self.flash_attn = QComboBox()
        self.flash_attn.addItems(list(FLASH_ATTN))
        # Short titles: a group box's title never wraps, so a long one sets the form's width.
        load_box = QGroupBox("Model loading")
        lf = _form(load_box, "Takes effect on the next load.")
        lf.addRow("Context length", self.n_ctx)
        lf.addRow("CPU threads", self.n_threads)
        lf.addRow("GPU layers", self.n_gpu_layers)
        lf.addRow("KV cache type", self.kv_type)
        lf.addRow("Flash attention", self.flash_attn)
        if include_load:
            outer.addWidget(load_box)
        else:
            load_box.hide()

        self.temperature = _dspin(0.0, 5.0, 0.05)
        self.top_k = _spin(0, 1000, special="off")
        self.top_p = _dspin(0.0, 1.0, 0.01)
        self.min_p = _dspin(0.0, 1.0, 0.01)
        self.repeat_penalty = _dspin(0.0, 10.0, 0.01)
        self.max_tokens = _spin(1, 1 << 20, 64, suffix=" tokens")
        self.seed = _spin(-1, 2_000_000_000, special="random")
        samp_box = QGroupBox("Sampling")
        sf = _form(samp_box, "Takes effect on the next reply.")
        sf.addRow("Temperature", self.temperature)
        sf.addRow("Top-k", self.top_k)
        sf.addRow("Top-p", self.top_p)
        sf.addRow("Min-p", self.min_p)
        sf.addRow("Repeat penalty", self.repeat_penalty)
        sf.addRow("Max tokens", self.max_tokens)
        sf.addRow("Seed", self.seed)
        outer.addWidget(samp_box)
        self._groups = [(load_box, lf), (samp_box, sf)]
        for w in (
            self.n_ctx,
            self.n_threads,
            self.n_gpu_layers,
            self.top_k,
            self.max_tokens,
            self.seed,
        ):
            w.valueChanged.connect(self.changed)
        for d in (self.temperature, self.top_p, self.min_p, self.repeat_penalty):
            d.valueChanged.connect(self.changed)
        for c in (self.kv_type, self.flash_attn):
            c.currentIndexChanged.connect(self.changed)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange_rows()

    def minimumSizeHint(self) -> QSize:
        """As narrow as the labels above the fields allow, whichever way they are now."""
        hint = super().minimumSizeHint()
        narrow = max(
            _sides(box, form) + max(item.minimumSize().width() for item in _items(form))
            for box, form in self._groups
        )
        return QSize(min(hint.width(), narrow), hint.height())

    def _arrange_rows(self) -> None:
        """Labels beside the fields where every field has its full width there (the Settings
        dialog), else above them (the chat's side panel). Qt's own WrapLongRows measures each
        row's label alone, so a short label ("Seed") could leave its field cut off."""
        for box, form in self._groups:
            labels = [
                item.sizeHint().width() for item in _items(form, QFormLayout.ItemRole.LabelRole)
            ]
            fields = [
                item.sizeHint().width() for item in _items(form, QFormLayout.ItemRole.FieldRole)
            ]
            beside = max(labels) + form.horizontalSpacing() + max(fields)
            policy = (
                QFormLayout.RowWrapPolicy.DontWrapRows
                if beside <= self.width() - _sides(box, form)
                else QFormLayout.RowWrapPolicy.WrapAllRows
            )
            if form.rowWrapPolicy() != policy:
                form.setRowWrapPolicy(policy)
                self.updateGeometry()

    def set_values(self, load: LoadOptions, sampling: SamplingOptions) -> None:
        blockers = [w.blockSignals(True) for w in self._widgets()]
        try:
            self.n_ctx.setValue(load.n_ctx)
            self.n_threads.setValue(load.n_threads or 0)
            self.n_gpu_layers.setValue(-2 if load.n_gpu_layers is None else load.n_gpu_layers)
            self.kv_type.setCurrentText(load.kv_type)
            self.flash_attn.setCurrentText(load.flash_attn)
            self.temperature.setValue(sampling.temperature)
            self.top_k.setValue(sampling.top_k)
            self.top_p.setValue(sampling.top_p)
            self.min_p.setValue(sampling.min_p)
            self.repeat_penalty.setValue(sampling.repeat_penalty)
            self.max_tokens.setValue(sampling.max_tokens)
            self.seed.setValue(-1 if sampling.seed is None else sampling.seed)
        finally:
            for w, was in zip(self._widgets(), blockers, strict=True):
                w.blockSignals(was)

    def _widgets(self) -> list[QWidget]:
        return [
            self.n_ctx,
            self.n_threads,
            self.n_gpu_layers,
            self.kv_type,
            self.flash_attn,
            self.temperature,
            self.top_k,
            self.top_p,
            self.min_p,
            self.repeat_penalty,
            self.max_tokens,
            self.seed,
        ]

    def load_values(self) -> dict[str, Any]:
        return {
            "n_ctx": self.n_ctx.value(),
            "n_threads": self.n_threads.value() or None,
            "n_gpu_layers": None if self.n_gpu_layers.value() == -2 else self.n_gpu_layers.value(),
            "kv_type": self.kv_type.currentText(),
            "flash_attn": self.flash_attn.currentText(),
        }

    def sampling_values(self) -> dict[str, Any]:
        return {
            "temperature": round(self.temperature.value(), 4),
            "top_k": self.top_k.value(),
            "top_p": round(self.top_p.value(), 4),
            "min_p": round(self.min_p.value(), 4),
            "repeat_penalty": round(self.repeat_penalty.value(), 4),
            "max_tokens": self.max_tokens.value(),
            "seed": None if self.seed.value() < 0 else self.seed.value(),
        }

    def overrides_against(self, load: LoadOptions, sampling: SamplingOptions) -> dict[str, Any]:
        """The values that differ from the given defaults."""
        out: dict[str, Any] = {}
        base = {**load.to_dict(), **sampling.to_dict()}
        values = {**(self.load_values() if self.include_load else {}), **self.sampling_values()}
        for key, value in values.items():
            if base.get(key) != value:
                out[key] = value
        return out
