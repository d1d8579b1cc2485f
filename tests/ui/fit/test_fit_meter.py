"""The memory-fit meter in the window: library details, sliders, another machine, load options."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel

from app.core.fit.hardware import probe
from app.core.fit.shape import shape_from_name
from app.ui.fit.load_dialog import LoadDialog
from app.ui.fit.meter import FitMeter, verdict_color

pytestmark = [pytest.mark.gui]
GiB = 1 << 30


def test_meter_updates_at_once(qtbot: Any) -> None:
    meter = FitMeter()
    qtbot.addWidget(meter)
    meter.set_hardware(probe())
    meter.set_model(shape_from_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"))
    results: list[Any] = []
    meter.changed.connect(results.append)
    kv_before = meter.result.devices[0].kv_cache_bytes
    meter.ctx_slider.setValue(meter.ctx_slider.value() + 1)  # double the context
    assert results and results[-1].devices[0].kv_cache_bytes == 2 * kv_before
    meter.kv_type.setCurrentText("q8_0")
    assert results[-1].kv_type == "q8_0" and results[-1].devices[0].kv_cache_bytes < 2 * kv_before
    assert "Runs on the CPU" in meter.verdict.text() or "Does not fit" in meter.verdict.text()


def test_plan_for_another_machine(qtbot: Any) -> None:
    meter = FitMeter()
    qtbot.addWidget(meter)
    meter.set_hardware(probe())
    meter.set_model(shape_from_name("Llama-3.3-70B-Instruct-Q4_K_M.gguf"))
    meter.plan_other.setChecked(True)
    meter.ram.setValue(16)
    meter.vram.setValue(0)
    assert meter.result.verdict == "no_fit" and verdict_color(meter.result) == "red"
    assert "Does not fit" in meter.verdict.text()
    meter.ram.setValue(128)
    meter.vram.setValue(24)
    assert meter.result.verdict == "gpu_partial" and verdict_color(meter.result) == "amber"
    assert [d.kind for d in meter.result.devices] == ["cpu", "gpu"]
    meter.vram.setValue(80)
    assert meter.result.verdict == "gpu_full"
    meter.gpu_auto.setChecked(False)
    meter.gpu_slider.setValue(5)
    assert meter.result.gpu_layers == 5 and meter.result.verdict == "gpu_partial"


def test_library_details_show_the_meter(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings())
    d.w.show_page(1)
    d.qtbot.waitUntil(
        lambda: d.w.library_page.proxy.rowCount() == 1 and d.w.hardware is not None, timeout=15_000
    )
    d.w.library_page.table.selectRow(0)
    meter = d.w.library_page.meter
    d.qtbot.waitUntil(lambda: meter.result is not None, timeout=10_000)
    assert meter.result.grade == "file" and meter.result.verdict == "cpu_only"
    assert meter.result.n_layers == 30


def test_load_options_dialog_reloads_with_the_choice(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.send("Hi")
    d.wait_reply()
    d.qtbot.waitUntil(lambda: d.w.hardware is not None, timeout=15_000)
    labels: list[str] = []

    def choose() -> None:  # as the user does, in the dialog on screen
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, LoadDialog):
            return
        timer.stop()
        labels.extend(w.text() for w in dialog.findChildren(QLabel))
        dialog.meter.ctx_slider.setValue(0)  # 512 tokens
        dialog.meter.kv_type.setCurrentText("q8_0")
        dialog.accept()

    timer = QTimer()
    timer.timeout.connect(choose)
    timer.start(50)
    d.w.open_load_options()
    d.qtbot.waitUntil(lambda: (d.w.bridge.loaded_info or {}).get("n_ctx") == 512, timeout=30_000)
    assert d.w.bridge.loaded_info["kv_type"] == "q8_0"
    assert d.w.controller.conv.overrides["n_ctx"] == 512
    # the dialog showed what the previous load really took
    assert any("llama.cpp allocated" in t for t in labels)
    assert "Memory: estimated" in d.w.picker.status.toolTip()


def test_meter_says_why_a_gpu_build_offloads_nothing(qtbot: Any) -> None:
    meter = FitMeter()
    qtbot.addWidget(meter)
    meter.show()
    cpu = {"name": "CPU", "description": "", "type": "cpu", "free_bytes": 0, "total_bytes": 0}
    meter.set_hardware(probe([cpu], "Vulkan", gpu_offload=False))
    meter.set_model(shape_from_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"))
    assert meter.hw_note.isVisible()
    assert "llama.cpp build is for Vulkan" in meter.hw_note.text()
    assert "found no Vulkan device" in meter.hw_note.text()
    assert [d.kind for d in meter.result.devices] == ["cpu"]  # nothing planned on a GPU
    meter.plan_other.setChecked(True)  # the note is about this machine, not the planned one
    assert not meter.hw_note.isVisible()
    meter.plan_other.setChecked(False)
    assert meter.hw_note.isVisible()
    # A CPU build beside no GPU names the build once.
    meter.set_hardware(probe([cpu], "CPU", gpu_offload=False))
    assert meter.hw_note.text().startswith("llama.cpp build: CPU. No GPU found")


def test_plan_for_a_small_machine_shows_its_free_memory(qtbot: Any) -> None:
    meter = FitMeter()
    qtbot.addWidget(meter)
    meter.set_hardware(probe())
    meter.set_model(shape_from_name("SmolLM2-135M-Instruct.Q4_1.gguf"))
    meter.plan_other.setChecked(True)
    meter.ram.setValue(2)
    meter.vram.setValue(0)
    # A 2 GiB board keeps a quarter for its system: the rest is free for the model.
    [figures] = meter.bars.figures()
    assert figures.endswith("of 1.5 GiB free (2.0 GiB total)"), figures
    assert meter.result.verdict == "cpu_only" and "Runs on the CPU" in meter.verdict.text()
    assert "2 GiB of RAM (0.5 GiB kept for its system)" in meter.details.text()
    # A machine with no memory free says so in words.
    busy = probe()
    busy.ram_available = 0
    meter.plan_other.setChecked(False)
    meter.set_hardware(busy)
    figures = meter.bars.figures()[0]
    assert "none free" in figures and " of 0.0 GiB" not in figures, figures
    assert meter.result.verdict == "no_fit"
