"""Recovering a damaged chat database: set it aside, then read back every row that still reads.

Two readers, and the rows of both are kept. SQLite reads each table in rowid ranges, halving a
range that fails until only the unreadable rows are left out (the WAL is applied, as SQLite does).
When SQLite cannot open the file at all (a damaged header: "file is not a database") or a range
failed, the pages are read directly: the b-trees are walked from the schema's root pages, and if
that walk meets damage, every table leaf page it did not reach is read too and its records sorted
into conversations and messages by their shape. Python's sqlite3 has no binding for SQLite's
recovery extension, and no maintained package offers one (apsw's bundled shell is built without
``.recover``), so the pages are read with sqlite_pages.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import paths
from app.core.chat.sqlite_pages import Pages, leaf_cells, walk
from app.core.sqlite_damage import readable_copy

CONVERSATION_COLUMNS = (
    "id",
    "title",
    "created_at",
    "updated_at",
    "model_path",
    "system_prompt",
    "overrides",
)
MESSAGE_COLUMNS = (
    "id",
    "conversation_id",
    "seq",
    "role",
    "content",
    "state",
    "stats",
    "model",
    "created_at",
    "updated_at",
    "reasoning",  # added by schema 2: rows written before it have one column less
)
ROLES = ("system", "user", "assistant")
STATES = ("done", "streaming", "stopped", "error", "interrupted")
UNTITLED = "Recovered conversation"
# Row reads SQLite may spend halving damaged ranges before the page reader takes over.
RANGE_QUERY_BUDGET = 4000


# What SQLite raises when it meets damage: its errors, and a UnicodeDecodeError when the message
# it gives (a damaged schema's names) or a text value is not UTF-8.
ReadErrors = (sqlite3.DatabaseError, UnicodeDecodeError)


@dataclass
class Recovery:
    """What a recovery did, for the user: counts and where the damaged file now is."""

    damaged_copy: Path
    reason: str
    conversations: int = 0
    messages: int = 0
    untitled: int = 0  # conversations whose own row was lost but some messages were not

    def message(self) -> str:
        head = f"The chat database was damaged ({self.reason})."
        where = f"The damaged file is kept at {self.damaged_copy}."
        if not self.conversations and not self.messages:
            return f"{head} Nothing could be recovered from it; Hearth starts with an empty one. {where}"
        untitled = (
            f" ({self.untitled} of them without their title, named “{UNTITLED}”)"
            if self.untitled
            else ""
        )
        return (
            f"{head} Recovered {_count(self.conversations, 'conversation')}{untitled} and "
            f"{_count(self.messages, 'message')} into a new database. {where}"
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@dataclass
class Salvage:
    """Rows read back, by rowid: value tuples in the column order above."""

    conversations: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    messages: dict[int, tuple[Any, ...]] = field(default_factory=dict)

    def add(self, other: Salvage) -> None:
        """Add rows ``other`` has and this one lacks."""
        for mine, theirs in (
            (self.conversations, other.conversations),
            (self.messages, other.messages),
        ):
            for rowid, row in theirs.items():
                mine.setdefault(rowid, row)


# -- setting the damaged file aside ---------------------------------------------------------------


def set_aside(path: Path, copy: bool = False) -> Path:
    """Rename (or ``copy``) ``path`` and its -wal and -shm to ``<name>.damaged-<time>``, only
    readable by the user; returns the new path."""
    target = paths.damaged_name(path, ("-wal", "-shm"))
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            if copy:
                shutil.copyfile(src, f"{target}{suffix}")
            else:
                os.replace(src, f"{target}{suffix}")
            try:
                os.chmod(f"{target}{suffix}", 0o600)
            except OSError:
                pass
    return target


# -- checking ----------------------------------------------------------------------------------------


def quick_check(db: sqlite3.Connection) -> str | None:
    """SQLite's structural check of every page (not index contents): None when whole.

    It reads the whole file: about 0.1 s for a 100 MB store with the file cached, about 1.5 s from
    a cold disk, so the app runs it on the database thread after the window is shown.
    """
    try:
        rows = db.execute("PRAGMA quick_check(5)").fetchall()
    except ReadErrors as exc:
        return str(exc)
    lines = [line for r in rows for line in str(r[0]).splitlines()]
    if lines == ["ok"]:
        return None
    problems = [line for line in lines if not line.startswith("***")] or lines
    more = f", and {len(problems) - 1} more" if len(problems) > 1 else ""
    return f"{problems[0]}{more}"


# -- reading through SQLite ------------------------------------------------------------------------


def read_with_sqlite(damaged: Path) -> tuple[Salvage, bool] | None:
    """Rows SQLite can still read, and whether some range failed; None when the schema is unreadable.

    Works on a readable copy (with its WAL) so the damaged file is kept exactly as it was found.
    """
    with tempfile.TemporaryDirectory(dir=damaged.parent, prefix=".recovering-") as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        readable_copy(damaged, copy)
        db = sqlite3.connect(str(copy), isolation_level=None)
        try:
            try:
                names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            except ReadErrors:
                return None
            out, failed = Salvage(), False
            budget = [RANGE_QUERY_BUDGET]
            for table, columns, rows in (
                ("conversations", CONVERSATION_COLUMNS, out.conversations),
                ("messages", MESSAGE_COLUMNS, out.messages),
            ):
                if table in names:
                    failed |= _read_table(db, table, columns, rows, budget)
            return out, failed
        finally:
            db.close()


def _read_table(
    db: sqlite3.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: dict[int, tuple[Any, ...]],
    budget: list[int],
) -> bool:
    """Read ``table`` in rowid ranges, halving those that fail; True if any failed."""
    try:
        have = {str(r[1]) for r in db.execute(f"PRAGMA table_info({table})")}
    except ReadErrors:
        have = set(columns)
    # A column a store of an older schema lacks reads as NULL.
    names = [c if c in have else f"NULL AS {c}" for c in columns[1:]]
    sql = f"SELECT rowid, {', '.join(names)} FROM {table} WHERE rowid BETWEEN ? AND ?"
    sql += " ORDER BY rowid"
    failed = False
    stack = [(-(1 << 63), (1 << 63) - 1)]
    while stack and budget[0] > 0:
        lo, hi = stack.pop()
        budget[0] -= 1
        last = lo - 1
        try:
            for row in db.execute(sql, (lo, hi)):
                rows[row[0]] = (row[0], *row[1:])
                last = row[0]
            continue
        except ReadErrors:
            failed = True
        lo = last + 1 if last >= lo else lo
        if lo >= hi:
            continue  # a single unreadable row is left out
        mid = lo + (hi - lo) // 2
        stack.append((mid + 1, hi))
        stack.append((lo, mid))
    return failed or bool(stack)


# -- reading the pages ---------------------------------------------------------------------------


def read_pages(data: bytes) -> Salvage:
    """Rows read from the file's pages, without SQLite."""
    out = Salvage()
    if len(data) < 512:
        return out
    pages = Pages(data)
    roots: dict[str, int] = {}
    reached: set[int] = set()
    master: list[int] = []
    whole = walk(pages, 1, master, reached)
    for n in master:
        for _rowid, values in leaf_cells(pages, n):
            if len(values) == 5 and values[0] == "table" and isinstance(values[3], int):
                roots[str(values[1])] = values[3]
    for table, rows, shape in (
        ("conversations", out.conversations, _conversation),
        ("messages", out.messages, _message),
    ):
        leaves: list[int] = []
        if table in roots:
            whole &= walk(pages, roots[table], leaves, reached)
        else:
            whole = False
        for n in leaves:
            for rowid, values in leaf_cells(pages, n):
                row = shape(rowid, values)
                if row is not None:
                    rows[rowid] = row
    if whole:
        return out
    # A branch was lost: read every other table leaf that is not free, sorting records by shape.
    for n in range(1, pages.count + 1):
        if n in reached or n in pages.freelist:
            continue
        try:
            cells = leaf_cells(pages, n)
        except ValueError:
            continue
        for rowid, values in cells:
            conv, msg = _conversation(rowid, values), _message(rowid, values)
            if conv is not None:
                out.conversations.setdefault(rowid, conv)
            elif msg is not None:
                out.messages.setdefault(rowid, msg)
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _conversation(rowid: int, v: list[Any]) -> tuple[Any, ...] | None:
    """A conversations record (its id is the rowid, stored as NULL), or None if it is not one."""
    if len(v) != len(CONVERSATION_COLUMNS) or v[0] is not None or not isinstance(v[1], str):
        return None
    if not (_number(v[2]) and _number(v[3]) and isinstance(v[6], str)):
        return None
    if not all(x is None or isinstance(x, str) for x in (v[4], v[5])):
        return None
    return (rowid, *v[1:])


def _message(rowid: int, v: list[Any]) -> tuple[Any, ...] | None:
    # A record written before the reasoning column was added has one value less (it reads NULL).
    if len(v) == len(MESSAGE_COLUMNS) - 1:
        v = [*v, None]
    if len(v) != len(MESSAGE_COLUMNS) or v[0] is not None:
        return None
    if not (isinstance(v[1], int) and isinstance(v[2], int) and v[3] in ROLES):
        return None
    if not (isinstance(v[4], str) and isinstance(v[5], str) and _number(v[8]) and _number(v[9])):
        return None
    return (rowid, *v[1:])


# -- cleaning rows for the new database ---------------------------------------------------------


def clean_conversation(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A conversation row made safe to insert: wrong-typed fields fall back to their defaults."""
    cid, title, created, updated, model_path, system_prompt, overrides = row
    try:
        if not isinstance(json.loads(overrides), dict):
            overrides = "{}"
    except (TypeError, ValueError):
        overrides = "{}"
    return (
        cid,
        title if isinstance(title, str) and title else UNTITLED,
        created if _number(created) else 0.0,
        updated if _number(updated) else 0.0,
        model_path if isinstance(model_path, str) else None,
        system_prompt if isinstance(system_prompt, str) else None,
        overrides,
    )


def clean_message(row: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """A message row made safe to insert, or None when what makes it a message is unreadable."""
    mid, conv, seq, role, content, state, stats, model, created, updated, reasoning = row
    if not (isinstance(conv, int) and isinstance(seq, int) and role in ROLES):
        return None
    if not isinstance(content, str):
        return None
    if stats is not None:
        try:
            json.loads(stats)
        except (TypeError, ValueError):
            stats = None
    return (
        mid,
        conv,
        seq,
        role,
        content,
        state if state in STATES else "interrupted",
        stats,
        model if isinstance(model, str) else None,
        created if _number(created) else 0.0,
        updated if _number(updated) else 0.0,
        reasoning if isinstance(reasoning, str) and reasoning else None,
    )


def salvage(damaged: Path) -> Salvage:
    """Everything that can be read back from the damaged file at ``damaged``."""
    try:
        read = read_with_sqlite(damaged)
    except (OSError, sqlite3.Error, UnicodeDecodeError):
        read = None
    out, failed = read if read is not None else (Salvage(), True)
    if failed:
        try:
            out.add(read_pages(damaged.read_bytes()))
        except (OSError, ValueError, MemoryError):
            pass
    return out
