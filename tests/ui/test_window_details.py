"""More of the window: composing, copying, renaming, deleting, per-chat options, settings, themes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication

from app.core import paths
from app.core.chat.store import ChatStore
from app.core.settings import load_settings
from tests import gguf_factory as F
from tests.ui.conftest import press_in_box, stored_messages

pytestmark = [pytest.mark.gui, pytest.mark.model]


def test_shift_enter_makes_a_new_line_and_enter_sends(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=8))
    d.wait_loaded()
    box = d.w.composer.input
    d.qtbot.keyClicks(box, "line one")
    d.qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    d.qtbot.keyClicks(box, "line two")
    assert d.w.composer.text() == "line one\nline two"
    assert d.controller.active is None
    d.qtbot.keyClick(box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    d.wait_reply()
    assert d.w.view.widgets[0].text == "line one\nline two"


def test_copy_a_reply_and_a_code_block(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=8))
    d.wait_loaded()
    d.send("Hi")
    reply = d.wait_reply()
    reply.copy_btn.click()
    assert QGuiApplication.clipboard().text() == reply.text
    assert "Copied" in reply.copy_btn.text()  # the button says it, for a moment
    d.qtbot.waitUntil(lambda: reply.copy_btn.text() == "Copy", timeout=3_000)
    reply.end_stream("Here:\n\n```python\nprint('hi')\n```\n")
    link = reply.body.document().find("Copy")  # the code block's Copy link
    at = reply.body.cursorRect(link).center() - QPoint(6, 0)
    assert reply.body.anchorAt(at) == "hearth-copy:0"
    d.qtbot.mouseClick(reply.body.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert QGuiApplication.clipboard().text() == "print('hi')\n"


def test_rename_and_delete_a_conversation(
    open_window: Any, make_settings: Any, monkeypatch: Any
) -> None:
    d = open_window(make_settings(max_tokens=8))
    d.wait_loaded()
    d.send("Original title")
    d.wait_reply()
    model = d.w.sidebar.model
    d.qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.setData(model.index(0), "Renamed chat")
    d.wait_saved()
    assert d.w.windowTitle().startswith("Renamed chat")
    conv_id = d.controller.conv.id
    # Cancel keeps it; the box names the chat and says Delete / Cancel, not Yes / No
    said = press_in_box(d.qtbot, lambda: d.w.sidebar.deleteRequested.emit(conv_id), "Cancel")
    assert said["text"] == "Delete “Renamed chat” and all its messages?"
    assert said["buttons"] == ["Cancel", "Delete"]
    d.wait_saved()
    assert model.rowCount() == 1 and len(stored_messages()) == 2
    press_in_box(d.qtbot, lambda: d.w.sidebar.deleteRequested.emit(conv_id), "Delete")
    d.wait_saved()
    assert model.rowCount() == 0
    assert d.w.view.widgets == []
    assert stored_messages() == []


def test_per_conversation_overrides(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=200, ignore_eos=True))
    d.wait_loaded()
    d.send("Count to ten.")
    first = d.wait_reply()
    assert first.message.stats["completion_tokens"] == 200
    d.w.panel_button.click()
    assert d.w.panel.isVisible()
    d.w.panel.form.max_tokens.setValue(5)
    d.w.panel.use_default_prompt.setChecked(False)
    d.w.panel.system_prompt.setPlainText("Answer in French.")
    d.w.panel._emit()
    assert d.controller.conv.overrides == {"max_tokens": 5}
    assert d.controller.conv.system_prompt == "Answer in French."
    d.send("Again")
    second = d.wait_reply()
    assert second.message.stats["completion_tokens"] == 5
    assert d.controller._history(d.controller.conv)[0] == {
        "role": "system",
        "content": "Answer in French.",
    }
    # The defaults are untouched.
    assert d.w.settings.sampling.max_tokens == 200


def test_old_messages_left_out_are_shown(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=40, ignore_eos=True))
    d.wait_loaded()
    d.send("Start.")
    d.wait_reply()
    d.controller.update_conversation(None, {"n_ctx": 256})
    for i in range(4):
        d.send(f"Tell me more, part {i}.")
        d.wait_reply()
    assert d.w.notice.isVisible() and "no longer fit" in d.w.notice.label.text()
    assert d.w.view.widgets[0].context_note.isVisible()
    assert not d.w.view.widgets[-1].context_note.isVisible()


def test_settings_dialog_saves_and_switches_theme(
    open_window: Any, make_settings: Any, qtbot: Any
) -> None:
    from app.ui.settings_dialog import SettingsDialog

    d = open_window(make_settings())
    dialog = SettingsDialog(d.w.settings, d.w)
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(2)  # dark
    dialog.form.n_ctx.setValue(1024)
    dialog.form.temperature.setValue(0.3)
    dialog.system_prompt.setPlainText("Be kind.")
    dialog.accept()
    d.w.save_settings()
    qtbot.waitUntil(lambda: load_settings()[0].theme == "dark", timeout=5_000)
    saved = load_settings()[0]
    assert (saved.load.n_ctx, saved.sampling.temperature, saved.system_prompt) == (
        1024,
        0.3,
        "Be kind.",
    )
    dark = d.w._apply_theme("dark")
    assert dark and QGuiApplication.palette().window().color().lightness() < 100
    assert not d.w._apply_theme("light")
    assert QGuiApplication.palette().window().color().lightness() > 150


def test_many_quick_saves_of_the_settings_end_with_the_last_on_disk(
    open_window: Any, make_settings: Any
) -> None:
    d = open_window(make_settings())
    d.wait_loaded()
    for i in range(60):
        d.w.settings.system_prompt = f"prompt {i}"
        d.w.save_settings()
    d.w.close()  # what is queued is written before the window goes
    assert load_settings()[0].system_prompt == "prompt 59"


def test_opening_a_conversation_does_not_reorder_the_list(
    open_window: Any, make_settings: Any
) -> None:
    def stored() -> dict[str, float]:
        store = ChatStore(paths.chats_db_path())
        try:
            return {c.title: c.updated_at for c in store.conversations()}
        finally:
            store.close()

    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.send("older chat")
    d.wait_reply()
    d.qtbot.keyClick(d.w.composer.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    d.send("newer chat")
    d.wait_reply()
    d.wait_saved()
    before = stored()
    model = d.w.sidebar.model
    older_row = next(
        i for i in range(model.rowCount()) if model.data(model.index(i)) == "older chat"
    )
    d.w.sidebar.view.setCurrentIndex(model.index(older_row))
    d.qtbot.waitUntil(lambda: bool(d.w.view.widgets) and d.w.view.widgets[0].text == "older chat")
    d.qtbot.wait(600)  # longer than the chat panel's save delay
    d.wait_saved()
    assert stored() == before
    assert list(before) == ["newer chat", "older chat"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_window_state_file_is_private(open_window: Any, make_settings: Any) -> None:
    old = os.umask(0o022)
    try:
        d = open_window(make_settings())
        d.w.close()
    finally:
        os.umask(old)
    window_ini = paths.config_dir() / "window.ini"
    assert window_ini.exists()
    assert window_ini.stat().st_mode & 0o777 == 0o600


def test_chat_settings_say_how_the_system_prompt_reaches_the_model(
    open_window: Any, make_settings: Any, tmp_path: Path, smollm_path: Path
) -> None:
    from tests.engine.test_loader_template import REFUSES_SYSTEM

    d = open_window(make_settings())
    d.wait_loaded()
    route = d.w.panel.system_route
    assert "as a message of its own" in route.text()
    refusing = F.with_chat_template(smollm_path, tmp_path / "no-system.gguf", REFUSES_SYSTEM)
    d.w.open_model(str(refusing))
    d.qtbot.waitUntil(lambda: "in front of your first message" in route.text(), timeout=60_000)
    d.w.panel_button.click()
    assert route.isVisible()
