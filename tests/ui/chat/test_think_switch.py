"""The Think switch in the chat header, for templates that take enable_thinking (Qwen3 style)."""

from __future__ import annotations

from typing import Any

import pytest

from app.core import paths
from app.core.chat.store import ChatStore
from app.ui.chat.page import ThinkControls
from tests.chat_templates import QWEN3_STYLE
from tests.ui.conftest import stored_messages


def test_the_controls_show_what_the_template_takes_and_give_overrides(qtbot: Any) -> None:
    c = ThinkControls()
    qtbot.addWidget(c)
    c.show()
    c.set_model(None)
    assert not c.isVisible()  # no model
    c.set_model({"thinking_switch": True, "reasoning_efforts": False})
    assert c.think.isVisible() and not c.effort.isVisible()
    c.set_model({"thinking_switch": False, "reasoning_efforts": True})
    assert not c.think.isVisible() and c.effort.isVisible()
    assert c.overrides() == {}
    seen: list[bool] = []
    c.changed.connect(lambda: seen.append(True))
    c.think.setChecked(False)
    c.effort.setCurrentIndex(2)
    assert c.overrides() == {"enable_thinking": False, "reasoning_effort": "high"}
    assert len(seen) == 2
    c.set_values({})  # another conversation: defaults, and no change signalled
    assert c.think.isChecked() and c.overrides() == {} and len(seen) == 2
    c.set_values({"reasoning_effort": "low"})
    assert c.overrides() == {"reasoning_effort": "low"}


@pytest.mark.gui
@pytest.mark.model
def test_unticking_think_gives_the_next_reply_an_empty_think_block(
    open_with_template: Any,
) -> None:
    d = open_with_template(QWEN3_STYLE, "qwen3ish.gguf", max_tokens=16)
    think = d.w.chat_page.think
    d.qtbot.waitUntil(lambda: think.think.isVisible())
    assert think.think.isChecked() and not think.effort.isVisible()
    d.send("What is 2+2?")
    first = d.wait_reply()
    assert first.message.reasoning  # thinking on: the prompt opened the block
    think.think.click()  # untick: this conversation's override
    assert not think.think.isChecked()
    d.send("And 3+3?")
    second = d.wait_reply()
    d.wait_saved()
    saved = stored_messages()[-1]
    assert saved.reasoning is None and saved.content and "<think>" not in saved.content
    assert saved.stats and saved.stats["reasoning_tokens"] == 0
    assert second.message.reasoning is None
    store = ChatStore(paths.chats_db_path())
    try:
        conv = store.conversations()[0]
        assert conv.overrides == {"enable_thinking": False}
    finally:
        store.close()
    # Another conversation starts with thinking on; coming back shows it off.
    d.w.controller.new_chat()
    assert think.think.isChecked()
    d.w.controller.open_conversation(conv.id)
    d.qtbot.waitUntil(lambda: not think.think.isChecked())
    # Unticked in a new chat before its first message: the chat is saved with it, and obeys it.
    d.w.controller.new_chat()
    assert think.think.isChecked()
    think.think.click()
    d.send("Hi")
    assert d.wait_reply().message.reasoning is None
    d.wait_saved()
    store = ChatStore(paths.chats_db_path())
    try:
        overrides = {c.id: c.overrides for c in store.conversations()}
    finally:
        store.close()
    assert len(overrides) == 2 and all(o == {"enable_thinking": False} for o in overrides.values())
