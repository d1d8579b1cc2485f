"""What a user sets or opens is what the chat uses: a new chat's settings before its first
message, settings typed just before Regenerate, a broken model file that must not stick, and the
status bar's figures belonging to the chat shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from app.core.settings import load_settings
from tests.ui.conftest import stored_messages


def _system_of(d: Any) -> str | None:
    a = d.controller.active
    assert a is not None
    first = a.history[0]
    return first["content"] if first["role"] == "system" else None


def test_a_new_chat_takes_a_system_prompt_before_its_first_message(
    open_window: Any, make_settings: Any
) -> None:
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.w.controller.new_chat()
    d.w.panel_button.click()
    panel = d.w.panel
    assert panel.isEnabled() and panel.use_default_prompt.isEnabled()
    panel.use_default_prompt.setChecked(False)
    panel.system_prompt.setPlainText("Answer in French.")
    panel.form.max_tokens.setValue(3)
    d.send("Hello")  # at once, within the panel's typing pause
    assert _system_of(d) == "Answer in French."
    assert d.controller.active.sampling["max_tokens"] == 3
    d.wait_reply()
    d.wait_saved()
    conv = d.controller.conv
    assert conv is not None and conv.system_prompt == "Answer in French."
    assert conv.overrides.get("max_tokens") == 3
    # the saved chat shows the same settings when opened again
    d.w.controller.new_chat()
    assert not panel.system_prompt.isEnabled()  # a new chat starts from the defaults
    d.w.controller.open_conversation(conv.id)
    d.qtbot.waitUntil(lambda: panel.system_prompt.toPlainText() == "Answer in French.")


def test_regenerate_uses_the_system_prompt_just_typed(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.send("Hi")
    d.wait_reply()
    d.wait_saved()
    d.w.panel_button.click()
    d.w.panel.use_default_prompt.setChecked(False)
    d.w.panel.system_prompt.setPlainText("Reply with one word.")
    QApplication.processEvents()
    d.qtbot.keyClick(d.w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # Regenerate
    assert d.controller.active is not None
    assert _system_of(d) == "Reply with one word."
    d.wait_reply()
    d.wait_saved()
    assert d.controller.conv.system_prompt == "Reply with one word."


def _truncated_copy(good: Path, folder: Path) -> Path:
    bad = folder / "trunc-data-50.gguf"
    data = good.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    return bad


def _open_a_broken_file_after_a_reply(
    open_window: Any, make_settings: Any, good: Path, folder: Path
) -> tuple[Any, Path, int]:
    """A chat with a reply, then a truncated model opened as Ctrl+O opens the file chosen:
    (the driver, the broken file, the first chat's id)."""
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded(good)
    d.send("Hi")
    d.wait_reply()
    d.wait_saved()
    first_chat = d.controller.conv.id
    bad = _truncated_copy(good, folder)
    d.w.open_model(str(bad))
    return d, bad, first_chat


def test_a_broken_model_file_does_not_stick(
    open_window: Any, make_settings: Any, starter_installed: Path, tmp_path: Path
) -> None:
    d, bad, first_chat = _open_a_broken_file_after_a_reply(
        open_window, make_settings, starter_installed, tmp_path
    )
    # a new chat asked for it and shows why it cannot load
    assert d.controller.conv is None and d.w.picker.current() == str(bad)
    d.qtbot.waitUntil(
        lambda: d.w.notice.isVisible() and "trunc-data-50.gguf" in d.w.notice.label.text()
    )
    text = d.w.notice.label.text()
    assert text.startswith("Cannot load trunc-data-50.gguf:") and text.count("trunc-data-50") == 1
    # the working model stays loaded, and stays the last one used
    assert d.w.bridge.loaded_info is not None
    assert d.w.bridge.loaded_info["path"] == str(starter_installed)
    assert d.w.settings.last_model == str(starter_installed)
    d.wait_saved()
    assert load_settings()[0].last_model == str(starter_installed)
    # the first chat is not touched by the error
    d.w.controller.open_conversation(first_chat)
    d.qtbot.waitUntil(lambda: d.controller.conv is not None and d.controller.conv.id == first_chat)
    assert not d.w.notice.isVisible()
    # Library -> Chat with the good model: loaded at once, no old error
    d.w.chat_with(str(starter_installed))
    assert not d.w.notice.isVisible()
    assert d.w.picker.eject.isEnabled() and "context" in d.w.picker.status.text()
    d.send("Hello again")
    assert d.wait_reply().message.state == "done"


def test_a_broken_model_is_not_replayed_at_the_next_launch(
    open_window: Any, make_settings: Any, starter_installed: Path, tmp_path: Path
) -> None:
    d, _bad, _first = _open_a_broken_file_after_a_reply(
        open_window, make_settings, starter_installed, tmp_path
    )
    d.qtbot.waitUntil(lambda: d.w.notice.isVisible())
    d.wait_saved()
    d.w.close()
    again = open_window(load_settings()[0])
    again.wait_loaded(starter_installed)
    again.qtbot.wait(300)
    assert not (again.w.notice.isVisible() and "Cannot load" in again.w.notice.label.text())
    assert again.w.picker.current() == str(starter_installed)


def test_the_status_bar_figures_belong_to_the_chat_shown(
    open_window: Any, make_settings: Any
) -> None:
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.send("Hi")
    d.wait_reply()
    d.wait_saved()
    figures = d.w.figures_label.text()
    assert "tok/s" in figures
    first = d.controller.conv.id
    d.qtbot.keySequence(d.w, QKeySequence.StandardKey.New)
    assert d.w.figures_label.text() == ""  # a new chat has no reply yet
    d.w.controller.open_conversation(first)
    d.qtbot.waitUntil(lambda: d.w.figures_label.text() == figures)
    # a passing message takes the state's place; it never overlaps the figures
    d.w.show_passing("Exported to /tmp/chat.md", 5000)
    assert d.w.statusBar().currentMessage() == ""
    assert d.w.state_label.text() == "Exported to /tmp/chat.md"
    assert d.w.figures_label.isVisible() and d.w.figures_label.text() == figures
    assert stored_messages()
