"""Esc stops a reply within half a second in the real window: while a long prompt is read and
while the reply streams (the README's promise; bench/bench_stop.py measures it under load)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

pytestmark = [pytest.mark.gui]

PROMISE_S = 0.5
LONG_PROMPT = " ".join(f"Item {i} is on shelf {i % 7}." for i in range(230))  # ~2,000 tokens


def press_escape_and_time(d: Any) -> float:
    """Esc on the window; seconds until the window has ended the reply (it takes a message)."""
    pressed = time.monotonic()
    QTest.keyClick(d.w, Qt.Key.Key_Escape)
    d.qtbot.waitUntil(lambda: d.controller.active is None, timeout=5_000)
    return time.monotonic() - pressed


@pytest.fixture
def window(open_window: Any, make_settings: Any) -> Any:
    settings = make_settings(ignore_eos=True, max_tokens=4000)
    settings.load = settings.load.merged({"n_ctx": 4096})
    d = open_window(settings)
    d.wait_loaded()
    d.w.activateWindow()  # the Esc shortcut belongs to the active window
    d.qtbot.waitUntil(d.w.isActiveWindow, timeout=5_000)
    return d


def test_esc_stops_while_the_prompt_is_read(window: Any) -> None:
    d = window
    started: list[dict[str, Any]] = []
    tokens: list[str] = []
    d.w.bridge.replyStarted.connect(started.append)
    d.w.bridge.tokenReceived.connect(tokens.append)
    d.send(LONG_PROMPT)
    d.qtbot.waitUntil(lambda: bool(started), timeout=30_000)
    assert started[0]["prompt_tokens"] > 1800 and started[0]["reused_tokens"] == 0
    time.sleep(0.2)  # llama.cpp is inside its first batches of the prompt
    assert not tokens, "the prompt was read before Esc: the test needs a slower or longer prompt"
    took = press_escape_and_time(d)
    reply = d.w.view.widgets[-1]
    assert reply.message.state == "stopped"
    stats = reply.message.stats
    # Stopped inside the prompt: nothing was written, and the prompt was cut short.
    assert stats["stop_reason"] == "stopped" and stats["completion_tokens"] == 0
    assert not tokens
    assert took < PROMISE_S, f"Esc took {took:.3f} s while the prompt was read"
    assert d.w.engine_state_text.startswith("Ready")
    assert d.w.composer.button.text() == "Send"


def test_esc_stops_while_the_reply_streams(window: Any) -> None:
    d = window
    d.send("Tell me a long story about a dragon and a lighthouse.")
    d.wait_tokens(60)
    took = press_escape_and_time(d)
    reply = d.w.view.widgets[-1]
    assert reply.message.state == "stopped"
    assert reply.message.stats["stop_reason"] == "stopped"
    assert len(reply.message.content) >= 60  # the partial reply is kept
    assert took < PROMISE_S, f"Esc took {took:.3f} s while the reply streamed"
    assert d.w.composer.button.text() == "Send"
