"""Loading a model can be stopped from the window: the load ends, the model before stays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.conftest import stored_messages

pytestmark = [pytest.mark.gui]


def pick(d: Any, path: Path) -> None:
    """Choose ``path`` in the model picker, as a click on its item does."""
    combo = d.w.picker.combo
    index = combo.findData(str(path))
    assert index >= 0, f"{path} is not offered"
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


@pytest.mark.parametrize("how", ["esc", "button"])
def test_a_load_stopped_keeps_the_model_before(
    open_window: Any, make_settings: Any, starter_installed: Path, gemma_path: Path, how: str
) -> None:
    """Esc, or the picker's Stop loading (in Unload's place while a model loads)."""
    settings = make_settings()
    d = open_window(settings)
    w = d.w
    d.wait_loaded(starter_installed)
    d.send("Hello")
    d.wait_reply()
    w.picker.set_models([str(starter_installed), str(gemma_path)])
    failed: list[tuple[str, str]] = []
    w.bridge.loadFailed.connect(lambda code, message: failed.append((code, message)))
    w.activateWindow()
    d.qtbot.waitUntil(w.isActiveWindow, timeout=5_000)
    width = w.picker.eject.width()
    pick(d, gemma_path)
    assert w.bridge.state == "loading"
    assert w.picker.state_slot.currentWidget() is w.picker.progress  # loading shows progress
    assert w.picker.eject.text() == "Stop loading" and w.picker.eject.isEnabled()
    assert w.picker.eject.width() == width  # one width for both texts: the row keeps still
    if how == "esc":
        QTest.keyClick(w, Qt.Key.Key_Escape)
    else:
        QTest.mouseClick(w.picker.eject, Qt.MouseButton.LeftButton)
    d.qtbot.waitUntil(lambda: bool(failed) and w.bridge.state == "idle", timeout=20_000)
    assert failed[0][0] == "cancelled"
    # The model before is loaded again, and the window says so everywhere.
    assert w.bridge.loaded_info is not None
    assert w.bridge.loaded_info["path"] == str(starter_installed)
    assert w.picker.current() == str(starter_installed)
    assert w.picker.state_slot.currentWidget() is w.picker.status
    assert w.picker.status.text() == "2,048-token context"
    assert w.picker.eject.text() == "Unload" and w.picker.eject.isEnabled()
    assert w.engine_state_text == "Ready · SmolLM2-135M-Instruct.Q4_1"
    assert w.controller.conv is not None
    assert w.controller.conv.model_path == str(starter_installed)
    assert not w.notice.isVisible()  # stopping is not an error
    # Still usable: the next message is answered by that model, without loading anything.
    loads: list[str] = []
    w.bridge.stateChanged.connect(lambda state: loads.append(state) if state == "loading" else None)
    d.send("And again")
    reply = d.wait_reply()
    assert reply.message.state == "done" and reply.message.model == str(starter_installed)
    assert not loads
    d.wait_saved()
    assert stored_messages()[-1].model == str(starter_installed)
