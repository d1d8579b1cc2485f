"""The chat window, driven like a user drives it, with the real engine and model."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import stored_messages

pytestmark = [pytest.mark.gui, pytest.mark.model]


def test_send_streams_then_saves(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=64))
    d.wait_loaded()
    d.send("List three colors.")
    assert d.w.composer.text() == ""  # the input was taken
    assert d.w.composer.button.text() == "Stop"
    # Mid-reply: the text on screen grows while the reply is still being written.
    d.wait_tokens(5)
    streaming = d.w.view.streaming
    assert streaming is not None and streaming.message.role == "assistant"
    seen_partial = streaming.text
    reply = d.wait_reply()
    assert reply.message.state == "done"
    assert reply.text.startswith(seen_partial) and len(reply.text) > len(seen_partial)
    assert "tok/s" in reply.footer.text()
    assert "tok/s" in d.w.figures_label.text()
    assert d.w.composer.button.text() == "Send"
    # The conversation is in the sidebar, titled by the first message.
    d.qtbot.waitUntil(lambda: d.w.sidebar.model.rowCount() == 1)
    assert d.w.sidebar.model.data(d.w.sidebar.model.index(0)) == "List three colors."
    d.wait_saved()
    msgs = stored_messages()
    assert [(m.role, m.state) for m in msgs] == [("user", "done"), ("assistant", "done")]
    assert msgs[1].content == reply.text
    assert msgs[1].stats and msgs[1].stats["completion_tokens"] > 0


def test_stop_keeps_the_partial_reply(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(ignore_eos=True, max_tokens=3000))
    d.wait_loaded()
    d.send("Tell me a long story.")
    d.wait_tokens(40)
    d.qtbot.keyClick(d.w.composer.input, Qt.Key.Key_Escape)
    reply = d.wait_reply(timeout=5_000)
    assert reply.message.state == "stopped"
    assert "Stopped by you" in reply.footer.text()
    assert len(reply.text) >= 40
    d.wait_saved()
    saved = stored_messages()[-1]
    assert (saved.state, saved.content) == ("stopped", reply.text)


def test_regenerate_replaces_the_last_reply(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(temperature=0.9, max_tokens=24))
    d.wait_loaded()
    d.send("Give me a name for a dog.")
    first = d.wait_reply()
    assert first.regen_btn.isVisible()
    d.wait_saved()
    first_saved = stored_messages()[1]
    first.regen_btn.click()
    second = d.wait_reply()
    assert second is not first and second.message.state == "done"
    assert len(d.w.view.widgets) == 2
    d.wait_saved()
    msgs = stored_messages()
    assert [m.role for m in msgs] == ["user", "assistant"]
    assert msgs[1].created_at > first_saved.created_at  # a new message, not the old one edited
    assert msgs[1].content == second.text


def test_edit_and_resend(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=16))
    d.wait_loaded()
    d.send("What is the sun?")
    d.wait_reply()
    d.send("And the moon?")
    d.wait_reply()
    assert len(d.w.view.widgets) == 4
    first_user = d.w.view.widgets[0]
    first_user.edit_btn.click()
    assert d.w.composer.edit_banner.isVisible()
    assert d.w.composer.text() == "What is the sun?"
    d.w.composer.set_text("What is a star?")
    d.qtbot.keyClick(d.w.composer.input, Qt.Key.Key_Return)
    reply = d.wait_reply()
    assert [w.message.role for w in d.w.view.widgets] == ["user", "assistant"]
    assert d.w.view.widgets[0].text == "What is a star?"
    d.wait_saved()
    msgs = stored_messages()
    assert [(m.role, m.content) for m in msgs] == [
        ("user", "What is a star?"),
        ("assistant", reply.text),
    ]


def test_restart_finds_the_conversation(open_window: Any, make_settings: Any) -> None:
    settings = make_settings(max_tokens=16)
    d = open_window(settings)
    d.wait_loaded()
    d.send("Remember the word pineapple.")
    reply_text = d.wait_reply().text
    d.w.close()
    d2 = open_window(settings)
    d2.qtbot.waitUntil(lambda: len(d2.w.view.widgets) == 2, timeout=10_000)
    assert d2.w.sidebar.model.rowCount() == 1
    assert [w.text for w in d2.w.view.widgets] == ["Remember the word pineapple.", reply_text]
    # and the conversation can be found by what was said in it
    d2.w.sidebar.search.setText("no such words anywhere")
    d2.qtbot.waitUntil(lambda: d2.w.sidebar.model.rowCount() == 0, timeout=5_000)
    d2.w.sidebar.search.setText("PINEAPPLE")
    d2.qtbot.waitUntil(lambda: d2.w.sidebar.model.rowCount() == 1, timeout=5_000)


def test_worker_killed_mid_reply_keeps_window_and_text(
    open_window: Any, make_settings: Any
) -> None:
    settings = make_settings(ignore_eos=True, max_tokens=3000)
    d = open_window(settings)
    d.wait_loaded()
    d.send("Write a long poem.")
    d.wait_tokens(30)
    os.kill(d.w.bridge.pid, signal.SIGKILL)  # as the system's out-of-memory killer would
    reply = d.wait_reply(timeout=10_000)
    assert reply.message.state == "error"
    assert len(reply.text) >= 30  # what was written is still on screen
    assert reply.retry_btn.isVisible()
    assert d.w.notice.isVisible() and "killed" in d.w.notice.label.text()
    assert "conversation is kept" in d.w.notice.label.text()
    d.wait_saved()
    assert stored_messages()[-1].content == reply.text
    # Retry starts a new engine, loads the model again and writes a new reply.
    settings.sampling = settings.sampling.merged({"ignore_eos": False, "max_tokens": 12})
    reply.retry_btn.click()
    again = d.wait_reply()
    assert again.message.state == "done"
    assert [w.message.role for w in d.w.view.widgets] == ["user", "assistant"]


def test_new_chat_and_conversation_switching(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=8))
    d.wait_loaded()
    d.send("First chat")
    d.wait_reply()
    d.qtbot.keyClick(d.w.composer.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert d.w.view.widgets == [] and d.w.view.empty.isVisible()
    d.send("Second chat")
    d.wait_reply()
    d.qtbot.waitUntil(lambda: d.w.sidebar.model.rowCount() == 2)
    model = d.w.sidebar.model
    first_row = next(
        i for i in range(model.rowCount()) if model.data(model.index(i)) == "First chat"
    )
    d.w.sidebar.view.setCurrentIndex(model.index(first_row))
    d.qtbot.waitUntil(
        lambda: d.w.view.widgets and d.w.view.widgets[0].text == "First chat", timeout=5_000
    )


def test_model_without_template_is_explained(
    open_window: Any, make_settings: Any, gemma_path: Any
) -> None:
    d = open_window(make_settings(max_tokens=8))
    d.wait_loaded()
    d.w.controller.choose_model(str(gemma_path))
    d.qtbot.waitUntil(
        lambda: d.w.notice.isVisible() and "no chat template" in d.w.notice.label.text(),
        timeout=30_000,
    )
    assert d.w.picker.current() == str(gemma_path)
    d.send("The sky is")
    reply = d.wait_reply()
    assert reply.message.state == "done" and reply.text.strip()


def test_send_while_the_model_is_still_loading(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=8))
    d.send("Hello there")  # at once: the engine is still starting and loading
    reply = d.wait_reply()
    assert reply.message.state == "done" and reply.text.strip()
