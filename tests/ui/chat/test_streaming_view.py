"""A streaming reply in the real chat view: a finished block (a blank line came after it) never
moves while the reply streams or when it ends, and the reply ends looking exactly as it does when
drawn whole (the chat opened again)."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from app.core.chat.store import Message
from app.ui.chat.view import ChatView

REPLIES = {
    "paragraphs and a list": (
        "First paragraph has some words in it.\n\nSecond paragraph follows here.\n\n"
        "- item one\n- item two\n\nLast words here."
    ),
    "code and a table": (
        "Here is the code:\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\nDone now."
    ),
    "heading and numbers": "## Steps\n\n1. Open it.\n2. Read it.\n\n> A quote line.\n\nThe end.",
    "a long mixed reply": (
        "Here is how to think about it.\n\n1. **First**, read the file with `open()`.\n"
        "   - keep the lines you need\n   - skip blank ones\n2. Then count the words.\n\n"
        "```python\ndef count(path):\n    return len(open(path).read().split())\n```\n\n"
        "### Why it works\n\nEach line is split on whitespace; *totals* add up.\n\n"
        "---\n\nThat is all: try it on a **small** file first, then a big one."
    ),
}


def _y_of(view: ChatView, needle: str) -> int | None:
    w = view.streaming or view.widgets[-1]
    doc = w.body.document()
    cursor = doc.find(needle)
    if cursor.isNull() or not w.body.isVisible():
        return None
    top = doc.documentLayout().blockBoundingRect(cursor.block()).top()
    return w.body.mapTo(view.widget(), QPoint(0, int(top))).y()


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


@pytest.mark.parametrize("name", list(REPLIES))
def test_written_blocks_never_move(qtbot: Any, name: str) -> None:
    text = REPLIES[name]
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(760, 700)
    view.show()
    view.add_message(Message(1, 1, 0, "user", "Tell me", "done"))
    reply = Message(2, 1, 1, "assistant", "", "streaming")
    view.add_message(reply)
    view.start_stream(reply)
    lines = [ln for ln in text.splitlines() if not ln.startswith("|")]  # table rows: cells
    needles = [ln.strip("#>-1234567890. `") for ln in lines]
    needles = [n for n in needles if len(n) > 3]
    seen: dict[str, list[int]] = {n: [] for n in needles}
    for i in range(0, len(text), 3):  # about a token at a time, drawn on each tick
        view.stream_append(text[i : i + 3])
        view.streaming.render_pending()
        _settle()
        sent = text[: i + 3]
        for n in needles:
            at = sent.find(n)
            if at < 0 or "\n\n" not in sent[at:]:
                continue  # its block is still being written: it may change as it grows
            y = _y_of(view, n)
            if y is not None and (not seen[n] or seen[n][-1] != y):
                seen[n].append(y)
    reply.content, reply.state = text, "done"
    view.finish_stream(reply)
    _settle()
    for n in needles:
        seen[n].append(_y_of(view, n))
    moved = {n: ys for n, ys in seen.items() if len(set(ys)) > 1}
    assert not moved, f"blocks moved (y positions as the reply streamed, then at its end): {moved}"
    # the reply looks as it will when the chat is opened again (drawn whole)
    body = view.widgets[-1].body
    assert (body.toPlainText(), body.document().size().height()) == _drawn_whole(
        qtbot, text, body.width()
    )


def _drawn_whole(qtbot: Any, text: str, width: int) -> tuple[str, float]:
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(760, 700)
    view.show()
    view.add_message(Message(2, 1, 1, "assistant", text, "done"))
    _settle()
    body = view.widgets[-1].body
    assert body.width() == width
    return body.toPlainText(), body.document().size().height()
