"""Load options: an exact context length typed in, and a dialog about this machine only."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QCheckBox

from app.core.fit.hardware import probe
from app.core.fit.shape import shape_from_name
from app.core.options import LoadOptions
from app.ui.fit.load_dialog import LoadDialog
from app.ui.fit.meter import FitMeter

pytestmark = [pytest.mark.gui]


def type_context(qtbot: Any, meter: FitMeter, text: str) -> None:
    """Select what the context box holds, type over it and press Enter, as a user does."""
    meter.ctx_spin.setFocus()
    meter.ctx_spin.lineEdit().selectAll()
    qtbot.keyClicks(meter.ctx_spin, text)
    qtbot.keyClick(meter.ctx_spin, Qt.Key.Key_Return)


def test_meter_takes_an_exact_context_length(qtbot: Any) -> None:
    meter = FitMeter()
    qtbot.addWidget(meter)
    meter.show()
    meter.set_hardware(probe())
    meter.set_model(shape_from_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"))  # 131,072 trained
    kv_4096 = meter.result.devices[0].kv_cache_bytes
    assert meter.result.n_ctx == 4096
    type_context(qtbot, meter, "12288")  # between the presets
    assert meter.options().n_ctx == 12288 and meter.result.n_ctx == 12288
    assert meter.result.devices[0].kv_cache_bytes == 3 * kv_4096
    assert meter.ctx_spin.text() == "12,288 tokens"
    type_context(qtbot, meter, "40,000")  # with a separator, as the box shows lengths
    assert meter.result.n_ctx == 40000
    # Above what the model was trained for: the longest it takes, and the hint says why.
    type_context(qtbot, meter, "200000")
    assert meter.result.n_ctx == 131072
    assert "131,072" in meter.ctx_hint.text() and "trained" in meter.ctx_hint.text()
    assert meter.ctx_hint.isVisible()
    type_context(qtbot, meter, "100")  # below the shortest
    assert meter.result.n_ctx == 256
    # The presets stay quick choices and show in the box.
    meter.ctx_slider.setValue(meter.ctx_slider.maximum())
    assert meter.ctx_spin.value() == 131072 and meter.result.n_ctx == 131072


def test_load_dialog_is_about_this_machine(qtbot: Any) -> None:
    shape = shape_from_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    dialog = LoadDialog(
        "/models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", shape, probe(), LoadOptions()
    )
    qtbot.addWidget(dialog)
    dialog.show()
    shown = [c.text() for c in dialog.findChildren(QCheckBox) if c.isVisible()]
    assert "Plan for another machine" not in shown
    assert not dialog.meter.ram.isVisible() and not dialog.meter.vram.isVisible()
    # Where planning makes sense, the library's meter keeps it.
    library_meter = FitMeter()
    qtbot.addWidget(library_meter)
    library_meter.show()
    assert library_meter.plan_other.isVisible() and library_meter.ram.isVisible()


def test_load_options_dialog_loads_a_typed_context(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.qtbot.waitUntil(lambda: d.w.hardware is not None, timeout=15_000)
    seen: dict[str, Any] = {}

    def choose() -> None:  # as the user does, in the dialog on screen
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, LoadDialog):
            return
        timer.stop()
        meter = dialog.meter
        seen["planning shown"] = [c.text() for c in dialog.findChildren(QCheckBox) if c.isVisible()]
        type_context(d.qtbot, meter, "12288")  # more than SmolLM2 was trained for
        seen["clamped"] = meter.result.n_ctx
        seen["hint"] = meter.ctx_hint.text()
        type_context(d.qtbot, meter, "3000")
        seen["estimated"] = meter.result.n_ctx
        dialog.accept()

    timer = QTimer()
    timer.timeout.connect(choose)
    timer.start(50)
    d.w.open_load_options()
    d.qtbot.waitUntil(lambda: "estimated" in seen, timeout=15_000)
    assert "Plan for another machine" not in seen["planning shown"]
    assert seen["clamped"] == 8192 and "8,192" in seen["hint"]
    assert seen["estimated"] == 3000
    # The chat shown (a new one, before its first message) loads with it; Settings keeps 2048.
    ctl = d.w.controller
    d.qtbot.waitUntil(lambda: ctl.overrides_of(ctl.conv).get("n_ctx") == 3000, timeout=5_000)
    d.qtbot.waitUntil(
        lambda: (d.w.bridge.loaded_info or {}).get("n_ctx", 2048) >= 3000, timeout=30_000
    )
    assert d.w.settings.load.n_ctx == 2048
    assert d.w.panel.form.n_ctx.value() == 3000  # the chat's settings panel shows it
