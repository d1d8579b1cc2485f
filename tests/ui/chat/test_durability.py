"""kill -9 of the app mid-reply loses at most the last second of the reply; a damaged chat
database is recovered at start, and the window says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.core import paths
from app.core.chat.store import ChatStore
from app.core.settings import Settings
from tests.ui.conftest import stored_messages

pytestmark = [pytest.mark.gui]
REPO = Path(__file__).resolve().parents[3]


def test_damaged_database_is_recovered_and_the_window_says_so(open_window: Any) -> None:
    db_path = paths.chats_db_path()
    store = ChatStore(db_path)
    for n in range(40):
        conv = store.create_conversation(f"Trip {n}")
        for i in range(8):
            store.add_message(conv.id, ("user", "assistant")[i % 2], f"{n}.{i} " + "words " * 300)
    store.close()
    size = db_path.stat().st_size
    with open(db_path, "r+b") as f:  # garbage a third of the way in: SQLite still opens it
        f.seek(size // 3)
        f.write(b"\xff" * 4096)

    d = open_window(Settings(known_folders_offered=True))
    d.qtbot.waitUntil(lambda: "Recovered" in d.w.notice.label.text(), timeout=20_000)
    text = d.w.notice.label.text()
    damaged = sorted(db_path.parent.glob("chats.sqlite3.damaged-*"))
    assert [p.name for p in damaged] == [damaged[0].name]
    assert str(damaged[0]) in text
    d.wait_saved()
    d.qtbot.waitUntil(lambda: d.w.sidebar.model.rowCount() > 0, timeout=10_000)
    recovered = d.w.sidebar.model.rowCount()
    assert 30 <= recovered <= 40 and f"{recovered} conversations" in text


@pytest.mark.model
def test_kill_9_mid_reply_loses_at_most_a_second(make_settings: Any) -> None:
    make_settings(ignore_eos=True, max_tokens=5000, temperature=0.8)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ui.drive_reply", "Tell me a very long story."],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    seen: list[tuple[float, int]] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        first_text: float | None = None
        for line in proc.stdout:
            stamp, length = line.split()
            seen.append((float(stamp), int(length)))
            if first_text is None and int(length) > 0:
                first_text = float(stamp)
            # Kill once the reply has streamed for a while and the store has had saves to do.
            if first_text is not None and seen[-1][0] - first_text > 2.5 and seen[-1][1] > 300:
                break
            assert time.monotonic() < deadline, "the reply never got going"
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
    time.sleep(0.5)  # the orphaned engine worker sees its input close and exits
    must_have = max(n for t, n in seen if t <= killed_at - 1.0)
    assert must_have > 50
    msgs = stored_messages()  # opening the store after a crash also marks the reply interrupted
    assert [m.role for m in msgs] == ["user", "assistant"]
    reply = msgs[1]
    assert reply.state == "interrupted"
    assert len(reply.content) >= must_have
