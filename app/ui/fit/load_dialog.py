"""Load options for a model, with the memory-fit meter: how it loads before it loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.core.fit.hardware import Hardware
from app.core.fit.placement import FitOptions
from app.core.fit.shape import ModelShape
from app.core.options import LoadOptions
from app.ui.fit.meter import FitMeter


class LoadDialog(QDialog):
    """Choose context length, GPU layers and KV cache type, seeing the memory they take."""

    def __init__(
        self,
        path: str,
        shape: ModelShape,
        hardware: Hardware,
        load: LoadOptions,
        measured: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Load {Path(path).stem}")
        self.resize(640, 520)
        lay = QVBoxLayout(self)
        self.meter = FitMeter(planning=False)  # loading here is about this machine
        self.meter.set_hardware(hardware)
        self.meter.set_model(shape, FitOptions.from_load(load))
        lay.addWidget(self.meter)
        if measured:
            note = QLabel(measured)
            note.setObjectName("mutedLabel")
            note.setWordWrap(True)
            lay.addWidget(note)
        lay.addStretch(1)  # spare height below the choices, not between them
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Load")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def overrides(self) -> dict[str, Any]:
        """The chosen options, as a conversation's load overrides."""
        o = self.meter.options()
        return {
            "n_ctx": o.n_ctx,
            "kv_type": o.kv_type,
            "n_gpu_layers": None if o.n_gpu_layers == "auto" else int(o.n_gpu_layers),
            "flash_attn": "auto" if o.kv_type == "f16" else "on",
        }
