"""A reply's thinking in the chat window: a collapsible section above the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.core.chat.store import Message
from app.ui.chat.message_widget import MessageWidget
from app.ui.common.markdown_html import MarkdownRenderer, Palette
from tests.chat_templates import OPENS_THINKING
from tests.ui.conftest import stored_messages

# ChatML whose generation prompt opens a think block: the model's first tokens are thinking.


def reply_widget(qtbot: Any) -> MessageWidget:
    msg = Message(0, 0, -1, "assistant", "", "streaming")
    w = MessageWidget(msg, MarkdownRenderer(Palette()), "Assistant")
    qtbot.addWidget(w)
    w.show()
    return w


def test_thinking_streams_open_then_folds_when_the_answer_starts(qtbot: Any) -> None:
    w = reply_widget(qtbot)
    w.begin_stream()
    assert not w.thinking_btn.isVisible()  # no thinking yet, no section
    w.append_reasoning("The user asks ")
    w.append_reasoning("about the sky.")
    w.render_pending()
    assert w.thinking_btn.isVisible() and w.thinking_btn.text() == "Thinking…"
    assert w.thinking.isVisible()
    assert w.thinking.toPlainText() == "The user asks about the sky."
    w.append("It is ")
    w.append("blue.")
    w.render_pending()
    assert w.thought_s is not None
    assert w.thinking_btn.text() == f"Thought for {max(1, round(w.thought_s))} s"
    assert not w.thinking.isVisible()  # folded when the answer started
    assert w.text == "It is blue."
    w.message.content, w.message.state = "It is blue.", "done"
    w.message.reasoning = "The user asks about the sky."
    w.end_stream("It is blue.", reasoning=w.message.reasoning)
    assert w.thinking_btn.text().startswith("Thought for") and not w.thinking.isVisible()
    w.thinking_btn.click()  # a click opens it
    assert w.thinking.isVisible() and w.thinking.toPlainText() == "The user asks about the sky."
    w.thinking_btn.click()
    assert not w.thinking.isVisible()
    w.copy_text()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == "It is blue."  # Copy gives the answer only


def test_a_saved_reply_shows_its_thinking_folded_with_its_time(qtbot: Any) -> None:
    msg = Message(1, 1, 1, "assistant", "Blue.", reasoning="Hm.", stats={"thinking_s": 12.4})
    w = MessageWidget(msg, MarkdownRenderer(Palette()), "Assistant")
    qtbot.addWidget(w)
    w.show()
    assert w.thinking_btn.isVisible() and w.thinking_btn.text() == "Thought for 12 s"
    assert not w.thinking.isVisible()
    plain = MessageWidget(Message(2, 1, 2, "assistant", "Hi."), MarkdownRenderer(Palette()), "A")
    qtbot.addWidget(plain)
    plain.show()
    assert not plain.thinking_btn.isVisible()


@pytest.mark.gui
@pytest.mark.model
def test_a_model_that_thinks_streams_its_thinking_into_the_section(
    open_with_template: Any, tmp_path: Path
) -> None:
    d = open_with_template(OPENS_THINKING, "thinker.gguf", max_tokens=32)
    d.send("Why is the sky blue?")
    d.qtbot.waitUntil(
        lambda: d.controller.active is not None and len(d.controller.active.recorder.reasoning) > 5,
        timeout=60_000,
    )
    live = d.w.view.streaming
    assert live is not None
    d.qtbot.waitUntil(lambda: live.thinking.isVisible() and bool(live.thinking.toPlainText()))
    assert live.thinking_btn.text() == "Thinking…"
    reply = d.wait_reply()
    # Greedy SmolLM2 does not close the block in 32 tokens: all of it is thinking.
    assert reply.text == "" and reply.message.content == ""
    assert reply.message.reasoning and len(reply.message.reasoning) > 20
    assert reply.thinking.toPlainText() == reply.message.reasoning
    assert reply.thinking_btn.text().startswith("Thought for")
    d.wait_saved()
    saved = stored_messages()[-1]
    assert (saved.content, saved.reasoning) == ("", reply.message.reasoning)
    assert saved.stats and saved.stats["reasoning_tokens"] > 0 and "thinking_s" in saved.stats
    # The next prompt has the answer only (empty replies are left out).
    assert d.controller.session.history("")[-1] == {
        "role": "user",
        "content": "Why is the sky blue?",
    }
    assert d.w.grab().save(str(tmp_path / "thinking.png"))
