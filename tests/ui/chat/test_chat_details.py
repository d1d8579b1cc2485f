"""Small things a user notices in the chat: a failed reply's reason and actions,
searching with no match, the export file name, the message being edited, a title that follows
an edit of the first message, and a model row that does not jump when loading starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.core import paths
from app.core.chat.store import ChatStore
from app.core.settings import load_settings
from app.ui.chat.controller import title_from
from app.ui.chat.conversations import export_name
from tests import gguf_factory as F

pytestmark = [pytest.mark.gui, pytest.mark.model]


def test_a_failed_reply_keeps_its_reason_and_offers_retry_only(
    open_window: Any, make_settings: Any, starter_installed: Path, tmp_path: Path
) -> None:
    """A chat template that is blocked: the reply fails with a plain reason, shows Retry (not
    Regenerate too), and after a restart the bubble still says why."""
    blocked = F.with_chat_template(
        starter_installed,
        tmp_path / "blocked.gguf",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    )
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.w.controller.choose_model(str(blocked))
    d.wait_loaded(blocked)
    d.send("Hello")
    reply = d.wait_reply()
    assert reply.message.state == "error"
    reason = "This model's chat template tried to reach Python internals and was blocked"
    assert reason in reply.footer.text()
    assert "SecurityError" not in reply.footer.text() and "__init__" not in reply.footer.text()
    assert reply.retry_btn.isVisibleTo(reply) and not reply.regen_btn.isVisibleTo(reply)
    d.wait_saved()
    conv_id = d.controller.conv.id
    d.w.close()
    again = open_window(load_settings()[0])
    again.w.controller.open_conversation(conv_id)
    again.qtbot.waitUntil(lambda: len(again.w.view.widgets) == 2)
    shown = again.w.view.widgets[-1]
    assert shown.footer.text().startswith("Failed: " + reason)
    assert shown.retry_btn.isVisibleTo(shown) and not shown.regen_btn.isVisibleTo(shown)


def test_a_search_without_match_says_so(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.send("Apples are red")
    d.wait_reply()
    bar = d.w.sidebar
    d.qtbot.keyClicks(bar.search, "zebra")
    d.qtbot.waitUntil(lambda: bar.no_match.isVisibleTo(bar), timeout=5_000)
    assert bar.no_match.text() == "No chats match “zebra”."
    assert not bar.view.isVisibleTo(bar)
    bar.search.clear()
    d.qtbot.waitUntil(lambda: bar.view.isVisibleTo(bar) and bar.model.rowCount() == 1)
    assert not bar.no_match.isVisibleTo(bar)


def test_titles_and_export_names_end_at_a_word() -> None:
    long = "Please explain how photosynthesis works in desert plants during drought conditions"
    title = title_from(long)
    assert title.endswith("…") and len(title) <= 48
    assert long.startswith(title[:-1]) and long[len(title) - 1] == " "  # a whole word
    name = export_name(title)
    assert long.startswith(name) and not name.endswith(("_", " ", "…"))
    assert long[len(name)] == " "
    assert export_name("What is 2/3 + 1/6?") == "What is 2 3 1 6"
    assert export_name("???") == "chat"


def test_the_message_being_edited_is_marked_and_a_derived_title_follows(
    open_window: Any, make_settings: Any
) -> None:
    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.send("Tell me about cats")
    d.wait_reply()
    d.wait_saved()
    first = d.w.view.widgets[0]
    first.edit_btn.click()
    assert first.property("editing") is True and "editing" in first.title.text()
    d.qtbot.keyClick(d.w.composer.input, Qt.Key.Key_Escape)
    assert first.property("editing") is False
    first.edit_btn.click()
    d.w.composer.set_text("Tell me about dogs")
    d.qtbot.keyClick(d.w.composer.input, Qt.Key.Key_Return)
    assert not any(w.property("editing") for w in d.w.view.widgets)
    d.wait_reply()
    d.wait_saved()
    model = d.w.sidebar.model
    d.qtbot.waitUntil(lambda: model.conversation(0).title == "Tell me about dogs")
    assert d.w.windowTitle().startswith("Tell me about dogs")
    store = ChatStore(paths.chats_db_path())
    try:
        assert store.conversations()[0].title == "Tell me about dogs"
    finally:
        store.close()
    # a title the user gave is kept when the first message is edited
    assert model.setData(model.index(0), "My pets")
    d.wait_saved()
    d.w.view.widgets[0].edit_btn.click()
    d.w.composer.set_text("Tell me about birds")
    d.qtbot.keyClick(d.w.composer.input, Qt.Key.Key_Return)
    d.wait_reply()
    d.wait_saved()
    assert model.conversation(0).title == "My pets"


def test_the_model_row_does_not_move_when_loading_starts(
    open_window: Any, make_settings: Any, gemma_path: Path
) -> None:
    d = open_window(make_settings())
    d.wait_loaded()
    picker = d.w.picker
    before = (picker.options_btn.x(), picker.combo.width())
    d.w.controller.choose_model(str(gemma_path))
    d.qtbot.waitUntil(lambda: picker.progress.isVisible(), timeout=10_000)
    assert (picker.options_btn.x(), picker.combo.width()) == before
    d.wait_loaded(gemma_path)
    assert (picker.options_btn.x(), picker.combo.width()) == before


def test_the_model_has_one_name_everywhere(
    open_window: Any, make_settings: Any, starter_installed: Path
) -> None:
    """The status bar, the picker and the library name the model by its file, not by the
    header's general.name ("Smollm2 135M 8k Lc100K Mix1 Ep2")."""
    d = open_window(make_settings())
    d.wait_loaded()
    d.qtbot.waitUntil(lambda: d.w.engine_state_text.startswith("Ready"), timeout=10_000)
    name = "SmolLM2-135M-Instruct.Q4_1"
    assert d.w.engine_state_text == f"Ready · {name}"
    assert d.w.picker.combo.currentText() == name
    assert d.w.bridge.loaded_info["name"] == name
    d.w.show_page(1)
    table = d.w.library_page.table.model()
    d.qtbot.waitUntil(lambda: table.rowCount() >= 1, timeout=10_000)
    assert table.index(0, 0).data() == name


def test_export_from_the_window_closes_a_code_block_a_stopped_reply_left_open(
    open_window: Any, make_settings: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    from PySide6.QtWidgets import QFileDialog

    d = open_window(make_settings(max_tokens=4))
    d.wait_loaded()
    d.send("Write a loop")
    reply = d.wait_reply()
    d.wait_saved()
    store = ChatStore(paths.chats_db_path())  # the reply as a Stop inside a code block leaves it
    try:
        store.update_message(reply.message.id, content="Here:\n\n```python\nx = 1", state="stopped")
    finally:
        store.close()
    target = tmp_path / "chat.md"
    asked: list[str] = []

    def save_as(_parent: Any, _title: str, suggested: str, _filter: str) -> tuple[str, str]:
        asked.append(suggested)
        return str(target), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    d.w.conversations.export_current("md")
    d.qtbot.waitUntil(target.exists, timeout=5_000)
    assert Path(asked[0]).name == "Write a loop.md"
    assert "x = 1\n```\n\n_(reply stopped)_" in target.read_text()
