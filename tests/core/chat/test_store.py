"""The chat store on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.chat import export
from app.core.chat.store import INTERRUPTED, SCHEMA_VERSION, STREAMING, ChatStore, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    s = ChatStore(tmp_path / "chats.sqlite3")
    yield s
    s.close()


def test_conversation_lifecycle(store: ChatStore) -> None:
    a = store.create_conversation("Tea", "/m/smol.gguf")
    b = store.create_conversation("Coffee")
    store.add_message(a.id, "user", "Hello")
    assert [c.title for c in store.conversations()] == [
        "Tea",
        "Coffee",
    ]  # most recent activity first
    store.update_conversation(
        b.id, title="Espresso", system_prompt="Be short", overrides={"temperature": 0.2}
    )
    got = store.conversation(b.id)
    assert got is not None
    assert (got.title, got.system_prompt, got.overrides) == (
        "Espresso",
        "Be short",
        {"temperature": 0.2},
    )
    store.delete_conversation(a.id)
    assert store.conversation(a.id) is None
    assert store.messages(a.id) == []  # messages go with their conversation


def test_messages_keep_order_and_truncate(store: ChatStore) -> None:
    c = store.create_conversation("x")
    for i, role in enumerate(["user", "assistant", "user", "assistant"]):
        store.add_message(c.id, role, f"m{i}")
    msgs = store.messages(c.id)
    assert [m.seq for m in msgs] == [0, 1, 2, 3]
    store.truncate_after(c.id, 1)
    assert [m.content for m in store.messages(c.id)] == ["m0", "m1"]
    m = store.add_message(c.id, "user", "again")
    assert m.seq == 2
    store.update_message(m.id, content="edited", state="done", stats={"tokens_per_second": 12.5})
    last = store.messages(c.id)[-1]
    assert (last.content, last.stats) == ("edited", {"tokens_per_second": 12.5})


def test_search_titles_and_contents(store: ChatStore) -> None:
    a = store.create_conversation("Gardening tips")
    b = store.create_conversation("Rust questions")
    store.add_message(b.id, "user", "How do lifetimes work? 100% confused_here")
    store.add_message(a.id, "assistant", "Water tomatoes in the morning.")
    assert [h.conversation.id for h in store.search("garden")] == [a.id]
    hits = store.search("TOMATOES")
    assert [h.conversation.id for h in hits] == [a.id]
    assert "tomatoes" in hits[0].snippet
    # LIKE wildcards in the query are literal text.
    assert [h.conversation.id for h in store.search("100%")] == [b.id]
    assert [h.conversation.id for h in store.search("d_h")] == [b.id]
    assert store.search("d%h") == []
    assert len(store.search("")) == 2


def test_streaming_reply_found_after_crash_is_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    s = ChatStore(path)
    c = s.create_conversation("x")
    m = s.add_message(c.id, "assistant", "partial answ", state=STREAMING)
    s.close()
    s2 = ChatStore(path)
    got = s2.messages(c.id)[0]
    assert (got.id, got.state, got.content) == (m.id, INTERRUPTED, "partial answ")
    s2.close()


def test_wal_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    ChatStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="newer Hearth"):
        ChatStore(path)


def test_damaged_database_is_reported_when_not_recovered(tmp_path: Path) -> None:
    # Opening recovers a damaged file (test_store_recovery.py); without that it is reported.
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged"):
        ChatStore(path, recover=False)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_export_markdown_and_json(store: ChatStore, tmp_path: Path) -> None:
    c = store.create_conversation("Naming things", "/models/smol.gguf")
    store.add_message(c.id, "user", "Name a cat")
    store.add_message(
        c.id, "assistant", "**Miso**", model="/models/smol.gguf", stats={"tokens_per_second": 9.0}
    )
    conv = store.conversation(c.id)
    assert conv is not None
    md_path, js_path = tmp_path / "c.md", tmp_path / "c.json"
    export.export_file(md_path, conv, store.messages(c.id), "Be brief")
    export.export_file(js_path, conv, store.messages(c.id), "Be brief")
    md = md_path.read_text()
    assert md.startswith("# Naming things")
    assert "## System prompt\n\nBe brief" in md
    assert "## You\n\nName a cat" in md
    assert "## Assistant (smol.gguf)\n\n**Miso**" in md
    data = json.loads(js_path.read_text())
    assert data["format"] == "hearth-conversation"
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert data["messages"][1]["stats"] == {"tokens_per_second": 9.0}


def test_unreadable_json_fields_do_not_stop_reading(tmp_path: Path) -> None:
    # What a zeroed overflow page leaves: SQLite's checks pass, the JSON text is NUL bytes.
    path = tmp_path / "c.sqlite3"
    s = ChatStore(path)
    c = s.create_conversation("x")
    s.add_message(c.id, "assistant", "hi", stats={"tokens_per_second": 3.0})
    s.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE messages SET stats = ?", ("\x00\x00\x00",))
    db.execute("UPDATE conversations SET overrides = '[1'")
    db.commit()
    db.close()
    s = ChatStore(path)
    try:
        assert [(m.content, m.stats) for m in s.messages(c.id)] == [("hi", None)]
        assert s.conversations()[0].overrides == {}
    finally:
        s.close()


def test_a_message_with_broken_utf8_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    s = ChatStore(path)
    c = s.create_conversation("x")
    s.add_message(c.id, "user", "first")
    s.add_message(c.id, "assistant", "caf\u00e9 ok")
    s.close()
    db = sqlite3.connect(path)  # a flipped byte: SQLite stores it, its checks do not look
    db.execute("UPDATE messages SET content = CAST(X'636166C3' AS TEXT) WHERE seq = 1")
    db.commit()
    assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    db.close()
    s = ChatStore(path)
    try:
        assert [m.content for m in s.messages(c.id)] == ["first", "caf\ufffd"]
    finally:
        s.close()


def test_a_reply_keeps_its_thinking_apart_from_its_answer(store: ChatStore) -> None:
    c = store.create_conversation("Think")
    plain = store.add_message(c.id, "user", "Why is the sky blue?")
    m = store.add_message(c.id, "assistant", "", STREAMING, reasoning="Rayleigh")
    assert (plain.reasoning, m.reasoning) == (None, "Rayleigh")
    store.update_message(m.id, content="Scattering.", reasoning="Rayleigh scattering.")
    store.update_message(m.id, state="done")  # None keeps the thinking
    got = store.messages(c.id)
    assert [(g.content, g.reasoning) for g in got] == [
        ("Why is the sky blue?", None),
        ("Scattering.", "Rayleigh scattering."),
    ]
    store.update_message(m.id, reasoning="")  # "" clears it
    assert store.messages(c.id)[1].reasoning is None


def test_a_schema_1_database_gains_the_reasoning_column(tmp_path: Path) -> None:
    from app.core.chat.store import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO conversations VALUES (1, 'Old', 1.0, 1.0, NULL, NULL, '{}')")
    db.execute(
        "INSERT INTO messages VALUES (1, 1, 0, 'assistant', 'An old reply', 'done', NULL, NULL,"
        " 1.0, 1.0)"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    s = ChatStore(path)
    try:
        (old,) = s.messages(1)
        assert (old.content, old.reasoning) == ("An old reply", None)
        new = s.add_message(1, "assistant", "A new reply", reasoning="Thinking first.")
        assert s.messages(1)[1].reasoning == "Thinking first." and new.seq == 1
    finally:
        s.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    db.close()


def test_export_gives_thinking_as_a_quote_above_the_answer_and_a_json_field(
    store: ChatStore,
) -> None:
    c = store.create_conversation("Sky")
    store.add_message(c.id, "user", "Why blue?")
    store.add_message(c.id, "assistant", "Scattering.", reasoning="Short waves\n\nscatter more.")
    msgs = store.messages(c.id)
    md = export.to_markdown(c, msgs)
    assert "> **Thinking**\n>\n> Short waves\n>\n> scatter more.\n\nScattering.\n" in md
    assert md.index("Why blue?") < md.index("> Short waves") < md.index("Scattering.")
    data = json.loads(export.to_json(c, msgs))
    assert [(m["content"], m["reasoning"]) for m in data["messages"]] == [
        ("Why blue?", None),
        ("Scattering.", "Short waves\n\nscatter more."),
    ]


def test_markdown_export_closes_a_code_block_a_stopped_reply_left_open(store: ChatStore) -> None:
    """A reply stopped inside a code block: the export closes the block, so the "reply stopped"
    note and the next message are Markdown again, not code."""
    from markdown_it import MarkdownIt

    c = store.create_conversation("Code", "m.gguf")
    store.add_message(c.id, "user", "Write a loop")
    a = store.add_message(
        c.id, "assistant", "Here:\n\n````python\nfor i in range(3):\n    print(i)"
    )
    store.update_message(a.id, state="stopped")
    store.add_message(c.id, "user", "Thanks, **bold** next")
    md = export.to_markdown(c, store.messages(c.id))
    assert "    print(i)\n````\n\n_(reply stopped)_" in md
    tokens = MarkdownIt().parse(md)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].content == "for i in range(3):\n    print(i)\n"
    assert any(t.type == "inline" and "reply stopped" in t.content for t in tokens)
    assert any(t.type == "inline" and "**bold**" in t.content for t in tokens)


@pytest.mark.parametrize(
    ("text", "closed"),
    [
        ("a\n```\nb", "a\n```\nb\n```"),
        ("```\nb\n```", "```\nb\n```"),  # already closed
        ("~~~\n```\nstill code", "~~~\n```\nstill code\n~~~"),  # another fence char inside
        ("```js\nx\n``` not a close", "```js\nx\n``` not a close\n```"),
        ("`inline` and ``` x ` y", "`inline` and ``` x ` y"),  # not a fence
    ],
)
def test_close_fences(text: str, closed: str) -> None:
    assert export.close_fences(text) == closed
