"""A damaged chat database is set aside and what still reads is recovered: real files, real damage."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from app.core.chat.recovery import Recovery, read_pages
from app.core.chat.store import INTERRUPTED, STREAMING, ChatStore

ROLES = ("user", "assistant")


def make_store(path: Path, conversations: int = 24, per_conv: int = 12) -> dict:
    """A real store with varied conversations; returns what it holds, by conversation id."""
    rng = random.Random(7)
    store = ChatStore(path)
    expected: dict[int, dict] = {}
    for c in range(conversations):
        conv = store.create_conversation(
            f"Chat {c} about tea", model_path=f"/models/m{c}.gguf", system_prompt=f"Be brief {c}"
        )
        store.update_conversation(conv.id, overrides={"temperature": round(0.1 * (c % 9), 1)})
        msgs = []
        for i in range(per_conv):
            # Some replies are long enough to spill onto overflow pages.
            size = 9000 if i % 7 == 3 else rng.randint(20, 600)
            text = f"[{c}:{i}] " + "".join(rng.choice("abcdefghij \n") for _ in range(size))
            state = STREAMING if (c, i) == (3, per_conv - 1) else "done"
            stats = {"tokens_per_second": 10.5} if i % 2 else None
            m = store.add_message(conv.id, ROLES[i % 2], text, state=state, stats=stats)
            msgs.append((m.seq, m.role, m.content, INTERRUPTED if state == STREAMING else "done"))
        expected[conv.id] = {
            "title": conv.title,
            "model_path": conv.model_path,
            "system_prompt": conv.system_prompt,
            "overrides": {"temperature": round(0.1 * (c % 9), 1)},
            "messages": msgs,
        }
    store.close()
    return expected


def read_back(store: ChatStore) -> dict[int, dict]:
    out = {}
    for conv in store.conversations():
        out[conv.id] = {
            "title": conv.title,
            "model_path": conv.model_path,
            "system_prompt": conv.system_prompt,
            "overrides": conv.overrides,
            "messages": [(m.seq, m.role, m.content, m.state) for m in store.messages(conv.id)],
        }
    return out


def assert_faithful(got: dict[int, dict], expected: dict[int, dict]) -> int:
    """Everything recovered is exactly what was stored; returns how many messages came back."""
    n = 0
    for conv_id, conv in got.items():
        assert conv_id in expected
        want = expected[conv_id]
        if conv["title"] != "Recovered conversation":  # its row was lost, its messages were not
            for key in ("title", "model_path", "system_prompt", "overrides"):
                assert conv[key] == want[key], (conv_id, key)
        for msg in conv["messages"]:
            assert msg in want["messages"], (conv_id, msg[0])
        seqs = [m[0] for m in conv["messages"]]
        assert seqs == sorted(seqs)
        n += len(conv["messages"])
    return n


def open_and_check(path: Path) -> tuple[ChatStore, Recovery | None]:
    store = ChatStore(path)
    return store, store.check()


def total_messages(expected: dict[int, dict]) -> int:
    return sum(len(c["messages"]) for c in expected.values())


def damaged_copies(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".damaged-*"))


def test_truncated_to_half(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    expected = make_store(path)
    original = path.read_bytes()
    with open(path, "r+b") as f:
        f.truncate(len(original) // 2)
    store, report = open_and_check(path)
    try:
        assert report is not None
        got = read_back(store)
        n = assert_faithful(got, expected)
        assert n >= total_messages(expected) // 4
        assert (report.conversations, report.messages) == (len(got), n)
        copy = damaged_copies(path)
        assert [p.name for p in copy] == [report.damaged_copy.name]
        assert copy[0].read_bytes() == original[: len(original) // 2]
        text = report.message()
        assert f"{n} messages" in text and str(copy[0]) in text
    finally:
        store.close()
    # The new database is whole: opening it again finds nothing to recover.
    store, report = open_and_check(path)
    store.close()
    assert report is None


def test_garbage_in_the_middle(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    expected = make_store(path)
    size = path.stat().st_size
    rng = random.Random(3)
    with open(path, "r+b") as f:
        f.seek(size // 2)
        f.write(bytes(rng.randrange(256) for _ in range(6000)))
    store, report = open_and_check(path)
    try:
        assert report is not None
        got = read_back(store)
        n = assert_faithful(got, expected)
        # Six kilobytes of garbage cost a couple of pages, not most of the conversations.
        assert n >= total_messages(expected) * 0.85
        assert len(got) >= len(expected) - 2
    finally:
        store.close()


def test_zeroed_header_is_salvaged_page_by_page(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    expected = make_store(path)
    with open(path, "r+b") as f:
        f.write(bytes(100))
    with pytest.raises(sqlite3.DatabaseError):  # SQLite itself no longer opens it
        sqlite3.connect(path).execute("SELECT * FROM messages").fetchall()
    store, report = open_and_check(path)
    try:
        assert report is not None
        # Only the header was lost: every conversation and message is on its page.
        assert read_back(store) == expected
        assert (report.conversations, report.messages) == (len(expected), total_messages(expected))
    finally:
        store.close()


def shell_recover(path: Path, into: Path) -> int:
    """How many messages the sqlite3 shell's ``.recover`` gets back from ``path``."""
    run = subprocess.run(["sqlite3", str(path), ".recover"], capture_output=True, text=True)
    if run.returncode != 0 or "error" in run.stderr:
        # Debian 12's 3.40.1 stops every .recover with "SQL logic error", whole files too.
        pytest.skip(f"this sqlite3 shell's .recover does not work: {run.stderr.strip()}")
    db = sqlite3.connect(into)
    try:
        db.executescript(run.stdout)
        return db.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        db.close()


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 shell is not installed")
def test_recovers_at_least_what_the_sqlite3_shell_does(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    expected = make_store(path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.write(bytes(100))
        f.seek(size // 3)
        f.write(b"\xff" * 5000)
    theirs = shell_recover(path, tmp_path / "reference.sqlite3")
    store, report = open_and_check(path)
    try:
        assert report is not None
        n = assert_faithful(read_back(store), expected)
        assert n >= theirs > 0
    finally:
        store.close()


def untouched_page(path: Path) -> int:
    """A page in the middle of the file that has no newer copy in its WAL."""
    wal = Path(f"{path}-wal").read_bytes()
    page_size = int.from_bytes(wal[8:12], "big")
    in_wal = {int.from_bytes(wal[i : i + 4], "big") for i in range(32, len(wal), 24 + page_size)}
    pages = [n for n in range(2, path.stat().st_size // page_size + 1) if n not in in_wal]
    return pages[len(pages) // 2]


def test_wal_and_shm_are_kept_with_the_damaged_copy(tmp_path: Path) -> None:
    live = tmp_path / "live" / "chats.sqlite3"
    expected = make_store(live, conversations=8, per_conv=6)
    store = ChatStore(live)
    extra = store.create_conversation("Only in the WAL")
    store.add_message(extra.id, "user", "written after the last checkpoint")
    # Copy the files as a crash would leave them: the WAL still holds the newest commits.
    path = tmp_path / "chats.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(str(live) + suffix, str(path) + suffix)
    store.close()
    with open(path, "r+b") as f:  # a page the newest commits did not touch
        f.seek((untouched_page(path) - 1) * 4096)
        f.write(b"\xa5" * 4096)
    store, report = open_and_check(path)
    try:
        assert report is not None
        names = {p.name for p in damaged_copies(path)}
        stem = report.damaged_copy.name
        assert names == {stem, stem + "-wal", stem + "-shm"}
        got = read_back(store)
        assert got[extra.id]["messages"][0][2] == "written after the last checkpoint"
        assert_faithful({k: v for k, v in got.items() if k != extra.id}, expected)
    finally:
        store.close()


def test_not_a_database_at_all(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    store, report = open_and_check(path)
    try:
        assert report is not None and report.messages == 0
        assert "nothing could be recovered" in report.message().lower()
        assert store.conversations() == []
        store.add_message(store.create_conversation("new").id, "user", "works")
    finally:
        store.close()
    assert damaged_copies(path)[0].read_bytes() == b"this is not sqlite" * 100


def test_empty_file_is_used_silently(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    path.write_bytes(b"")
    store, report = open_and_check(path)
    store.close()
    assert report is None and damaged_copies(path) == []


def test_a_whole_database_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    expected = make_store(path, conversations=3, per_conv=2)
    store, report = open_and_check(path)
    try:
        assert report is None and read_back(store) == expected
    finally:
        store.close()
    assert damaged_copies(path) == []
    assert os.path.exists(path)


def test_deleted_conversations_stay_deleted(tmp_path: Path) -> None:
    path = tmp_path / "chats.sqlite3"
    expected = make_store(path, conversations=30)
    store = ChatStore(path)
    for conv_id in list(expected)[::3]:  # their pages go to the freelist, their bytes stay
        store.delete_conversation(conv_id)
        del expected[conv_id]
    store.close()
    db = sqlite3.connect(path)
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
    assert db.execute("PRAGMA freelist_count").fetchone()[0] > 0
    db.close()
    with open(path, "r+b") as f:  # the messages' root: every leaf page is found by a scan
        f.seek((root - 1) * 4096)
        f.write(b"\xff" * 4096)
    store, report = open_and_check(path)
    try:
        assert report is not None
        got = read_back(store)
        assert set(got) == set(expected)
        assert assert_faithful(got, expected) == total_messages(expected)
    finally:
        store.close()


def test_free_pages_are_not_read_back(tmp_path: Path) -> None:
    # Built without secure_delete (as some SQLite builds are): deleted rows stay in free pages.
    path = tmp_path / "chats.sqlite3"
    make_store(path, conversations=12)
    db = sqlite3.connect(path)
    db.execute("PRAGMA secure_delete = OFF")
    db.execute("DELETE FROM messages WHERE conversation_id > 6")
    db.commit()
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'messages'").fetchone()[0]
    assert db.execute("PRAGMA freelist_count").fetchone()[0] > 0
    db.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * 4096)
        f.write(b"\xff" * 4096)
    rows = read_pages(path.read_bytes())
    assert rows.messages and {m[1] for m in rows.messages.values()} <= set(range(1, 7))


@pytest.mark.parametrize("seed", range(12))
def test_any_damage_still_opens_and_reads(tmp_path: Path, seed: int) -> None:
    """Cut short, garbage, flipped bytes or a zeroed page: the store opens and every
    conversation reads (what is lost or changed inside a text no check can see)."""
    base = tmp_path / "base.sqlite3"
    make_store(base, conversations=10, per_conv=8)
    data = bytearray(base.read_bytes())
    rng = random.Random(seed)
    kind = seed % 4
    if kind == 0:
        data = data[: rng.randrange(len(data))]
    elif kind == 1:
        at = rng.randrange(len(data))
        data[at : at + 8000] = bytes(rng.randrange(256) for _ in range(len(data[at : at + 8000])))
    elif kind == 2:
        for _ in range(50):
            data[rng.randrange(len(data))] = rng.randrange(256)
    else:
        at = rng.randrange(len(data) // 4096) * 4096
        data[at : at + 4096] = bytes(4096)
    path = tmp_path / "chats.sqlite3"
    path.write_bytes(bytes(data))
    store = ChatStore(path)
    seen: list[Recovery] = []
    store.on_recovery = seen.append
    try:
        store.check()
        read_back(store)
        store.add_message(store.create_conversation("after").id, "user", "still works")
    finally:
        store.close()


def test_thinking_is_recovered_with_its_message_and_old_rows_have_none(tmp_path: Path) -> None:
    """Rows written before the reasoning column (one value less on their page) and after it both
    come back, through SQLite and through the page reader."""
    from app.core.chat.recovery import read_with_sqlite
    from app.core.chat.store import MIGRATIONS

    path = tmp_path / "chats.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO conversations VALUES (1, 'Old', 1.0, 1.0, NULL, NULL, '{}')")
    db.execute(
        "INSERT INTO messages VALUES (1, 1, 0, 'user', 'Before thinking', 'done', NULL, NULL,"
        " 1.0, 1.0)"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = ChatStore(path)
    store.add_message(1, "assistant", "Blue.", reasoning="Light scatters.")
    store.close()
    want = {1: ("Before thinking", None), 2: ("Blue.", "Light scatters.")}
    pages = read_pages(path.read_bytes()).messages
    assert {k: (v[4], v[10]) for k, v in pages.items()} == want
    read = read_with_sqlite(path)
    assert read is not None
    assert {k: (v[4], v[10]) for k, v in read[0].messages.items()} == want

    with open(path, "r+b") as f:
        f.write(bytes(100))
    store, report = open_and_check(path)
    try:
        assert report is not None and report.messages == 2
        assert [(m.content, m.reasoning) for m in store.messages(1)] == list(want.values())
    finally:
        store.close()


def test_a_schema_1_file_is_read_back_by_sqlite_without_the_column(tmp_path: Path) -> None:
    from app.core.chat.recovery import read_with_sqlite
    from app.core.chat.store import MIGRATIONS

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0])
    db.execute("INSERT INTO conversations VALUES (1, 'Old', 1.0, 1.0, NULL, NULL, '{}')")
    db.execute("INSERT INTO messages VALUES (1, 1, 0, 'user', 'Hi', 'done', NULL, NULL, 1.0, 1.0)")
    db.commit()
    db.close()
    read = read_with_sqlite(path)
    assert read is not None and not read[1]
    assert read[0].messages[1][4:] == ("Hi", "done", None, None, 1.0, 1.0, None)
