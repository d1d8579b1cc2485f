"""The Local API switch in the window: serves the chat's loaded model to the official OpenAI
client, shows the address and a live request log, never unloads the chat's model, and stops with
the window."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from PySide6.QtGui import QGuiApplication

from app.ui.server_switch import ServerSwitch

pytestmark = [pytest.mark.gui, pytest.mark.model]
openai = pytest.importorskip("openai")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_switch_serves_the_chat_s_model(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings(max_tokens=6))
    d.wait_loaded()
    switch = d.w.findChild(ServerSwitch)
    assert switch is not None and switch.toggle.text() == "Local API: off"
    switch.port = _free_port()
    switch.toggle.click()
    d.qtbot.waitUntil(lambda: switch.state == "on", timeout=60_000)
    url = f"http://127.0.0.1:{switch.port}/v1"
    assert url in switch.toggle.text()
    switch.copy.click()
    assert QGuiApplication.clipboard().text() == url
    client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
    try:
        reply = client.chat.completions.create(
            model="SmolLM2-135M-Instruct.Q4_1",
            messages=[{"role": "user", "content": "Say hello"}],
            max_tokens=6,
            temperature=0,
        )
    finally:
        client.close()
    assert reply.choices[0].message.content
    # the chat keeps its own model and goes on answering
    assert d.w.bridge.loaded_info is not None
    d.send("Hi")
    assert d.wait_reply().message.state == "done"
    d.qtbot.waitUntil(lambda: switch.details.text() == "Log · 1", timeout=10_000)
    switch.show_log()
    assert "/v1/chat/completions 200" in switch._dialog.log.toPlainText()
    switch.clear_log()
    assert switch._dialog.log.toPlainText() == ""
    switch.toggle.click()  # off
    assert switch.state == "off" and switch.server is None
    with (
        openai.OpenAI(base_url=url, api_key="none", max_retries=0) as gone,
        pytest.raises(openai.APIConnectionError),
    ):
        gone.models.list()


def test_the_switch_needs_a_loaded_model(qtbot: Any) -> None:
    switch = ServerSwitch(lambda: None)
    qtbot.addWidget(switch)
    switch.toggle.click()
    assert switch.state == "off" and not switch.toggle.isChecked()
    assert "Load a model" in switch.toggle.toolTip()
