"""``hearth FILE.gguf`` (what a file manager runs) opens the app on a new chat with that file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.core import paths
from app.core.chat.store import ChatStore

pytestmark = [pytest.mark.gui, pytest.mark.model]

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("earlier_chat", [False, True], ids=["first-chat", "with-an-earlier-chat"])
def test_hearth_file_gguf_opens_a_chat_with_that_file(
    make_settings: Any,
    starter_installed: Path,
    smollm_path: Path,
    tmp_path: Path,
    earlier_chat: bool,
) -> None:
    make_settings()  # the starter model is the last one used
    if earlier_chat:  # the newest conversation, with another model, must not take over
        store = ChatStore(paths.chats_db_path())
        conv = store.create_conversation("Earlier", str(starter_installed))
        store.add_message(conv.id, "user", "Hi")
        store.add_message(conv.id, "assistant", "Hello!", "done", model=str(starter_installed))
        store.close()
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    opened = downloads / "Opened-135M-Q4_1.gguf"
    os.link(smollm_path, opened)  # same bytes, a file the library does not know yet
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ui.drive_open_file", str(opened)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["page"] == "chat"
    assert report["messages_before"] == 0  # a new chat, not the earlier one
    assert report["picker"] == report["loaded"] == str(opened)
    assert report["reply_state"] == "done" and report["reply_chars"] > 0
    assert report["reply_model"] == report["conversation_model"] == str(opened)
    assert report["conversations"] == (2 if earlier_chat else 1)
