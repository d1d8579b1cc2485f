"""Recovering a damaged chat database: set it aside, then read back every row that still reads.

Two readers, and the rows of both are kept. SQLite reads each table in rowid ranges, halving a
range that fails until only the unreadable rows are left out (the WAL is applied, as SQLite does).
When SQLite cannot open the file at all (a damaged header: "file is not a database") or a range
failed, the pages are read directly: the b-trees are walked from the schema's root pages, and if
that walk meets damage, every table leaf page it did not reach is read too and its records sorted
into conversations and messages by their shape. Python's sqlite3 has no binding for SQLite's
recovery extension, and no maintained package offers one (apsw's bundled shell is built without
``.recover``), so this module reads the file format itself (sqlite.org/fileformat2.html).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import paths

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
)
ROLES = ("system", "user", "assistant")
STATES = ("done", "streaming", "stopped", "error", "interrupted")
UNTITLED = "Recovered conversation"
# Row reads SQLite may spend halving damaged ranges before the page reader takes over.
RANGE_QUERY_BUDGET = 4000
SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26


# What SQLite raises when it meets damage: its errors, and a UnicodeDecodeError when the message
# it gives (a damaged schema's names) or a text value is not UTF-8.
ReadErrors = (sqlite3.DatabaseError, UnicodeDecodeError)


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the file is damaged (not locked, full, read-only or missing)."""
    if isinstance(exc, UnicodeDecodeError):
        return True
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


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

    Works on a copy (with its WAL) so the damaged file is kept exactly as it was found.
    """
    with tempfile.TemporaryDirectory(dir=damaged.parent, prefix=".recovering-") as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        shutil.copyfile(damaged, copy)
        if Path(f"{damaged}-wal").exists():
            shutil.copyfile(f"{damaged}-wal", f"{copy}-wal")
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
    sql = f"SELECT rowid, {', '.join(columns[1:])} FROM {table} WHERE rowid BETWEEN ? AND ?"
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


class _Pages:
    """The database file as pages; ``page(n)`` is 1-based and raises ValueError past the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        header_ok = data[:16] == b"SQLite format 3\x00"
        size = struct.unpack(">H", data[16:18])[0] if len(data) >= 18 else 0
        size = 65536 if size == 1 else size
        if header_ok and size >= 512 and size & (size - 1) == 0:
            self.size = size
            self.usable = size - data[20]
        else:
            self.size = _guess_page_size(data)
            self.usable = self.size
        self.count = len(data) // self.size
        self.freelist = _freelist(self) if header_ok else set()

    def page(self, n: int) -> bytes:
        if not 1 <= n <= self.count:
            raise ValueError(f"page {n} is past the end")
        return self.data[(n - 1) * self.size : n * self.size]


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = 0
    for k in range(9):
        if i + k >= len(buf):
            raise ValueError("varint runs past the end")
        byte = buf[i + k]
        if k == 8:
            return ((value << 8) | byte) & 0xFFFFFFFFFFFFFFFF, i + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + k + 1
    raise AssertionError("unreachable")


def _record(payload: bytes) -> list[Any]:
    """Decode one record (header of serial types, then the values)."""
    header_len, i = _varint(payload, 0)
    if not 1 <= header_len <= len(payload):
        raise ValueError("bad record header")
    types = []
    while i < header_len:
        t, i = _varint(payload, i)
        types.append(t)
    if i != header_len:
        raise ValueError("bad record header")
    values: list[Any] = []
    pos = header_len
    for t in types:
        if t == 0:
            values.append(None)
        elif 1 <= t <= 6:
            n = (1, 2, 3, 4, 6, 8)[t - 1]
            if pos + n > len(payload):
                raise ValueError("value past the end")
            values.append(int.from_bytes(payload[pos : pos + n], "big", signed=True))
            pos += n
        elif t == 7:
            if pos + 8 > len(payload):
                raise ValueError("value past the end")
            values.append(struct.unpack(">d", payload[pos : pos + 8])[0])
            pos += 8
        elif t in (8, 9):
            values.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            if pos + n > len(payload):
                raise ValueError("value past the end")
            raw = payload[pos : pos + n]
            values.append(raw.decode("utf-8") if t % 2 else raw)
            pos += n
        else:
            raise ValueError(f"reserved serial type {t}")
    return values


def _btree_header(pages: _Pages, n: int) -> tuple[bytes, int, int, list[int]]:
    """A b-tree page's bytes, type, right child (interior) and cell offsets; ValueError if bad."""
    page = pages.page(n)
    start = 100 if n == 1 else 0
    kind = page[start]
    if kind not in (2, 5, 10, 13):
        raise ValueError(f"page {n} is not a b-tree page")
    header = 12 if kind in (2, 5) else 8
    cells = struct.unpack(">H", page[start + 3 : start + 5])[0]
    first = start + header
    if first + 2 * cells > pages.usable:
        raise ValueError(f"page {n} has too many cells")
    offsets = [
        struct.unpack(">H", page[first + 2 * k : first + 2 * k + 2])[0] for k in range(cells)
    ]
    if any(not first + 2 * cells <= o < pages.usable for o in offsets):
        raise ValueError(f"page {n} points outside itself")
    right = struct.unpack(">I", page[start + 8 : start + 12])[0] if header == 12 else 0
    return page, kind, right, offsets


def _leaf_cells(pages: _Pages, n: int) -> list[tuple[int, list[Any]]]:
    """The (rowid, values) of each record on table leaf page ``n``; a bad record is skipped."""
    page, kind, _right, offsets = _btree_header(pages, n)
    if kind != 13:
        raise ValueError(f"page {n} is not a table leaf")
    out = []
    u = pages.usable
    max_local = u - 35
    min_local = (u - 12) * 32 // 255 - 23
    for off in offsets:
        try:
            size, i = _varint(page, off)
            rowid, i = _varint(page, i)
            if rowid >= 1 << 63:
                rowid -= 1 << 64
            if size > len(pages.data):
                raise ValueError("record larger than the file")
            if size <= max_local:
                payload = page[i : i + size]
            else:
                local = min_local + (size - min_local) % (u - 4)
                local = local if local <= max_local else min_local
                payload = page[i : i + local] + _overflow(
                    pages, page[i + local : i + local + 4], size - local
                )
            if len(payload) != size:
                raise ValueError("record cut short")
            out.append((rowid, _record(payload)))
        except (ValueError, UnicodeDecodeError, struct.error):
            continue
    return out


def _overflow(pages: _Pages, pointer: bytes, remaining: int) -> bytes:
    parts = []
    nxt = struct.unpack(">I", pointer)[0] if len(pointer) == 4 else 0
    seen: set[int] = set()
    while remaining > 0:
        if nxt in seen:
            raise ValueError("overflow chain loops")
        seen.add(nxt)
        page = pages.page(nxt)
        chunk = page[4 : 4 + min(remaining, pages.usable - 4)]
        parts.append(chunk)
        remaining -= len(chunk)
        nxt = struct.unpack(">I", page[:4])[0]
    return b"".join(parts)


def _freelist(pages: _Pages) -> set[int]:
    """Pages on the freelist (old, deleted content): never read back as live rows."""
    out: set[int] = set()
    trunk = struct.unpack(">I", pages.data[32:36])[0]
    while trunk and trunk not in out:
        try:
            page = pages.page(trunk)
        except ValueError:
            break
        out.add(trunk)
        count = struct.unpack(">I", page[4:8])[0]
        for k in range(min(count, (pages.usable - 8) // 4)):
            out.add(struct.unpack(">I", page[8 + 4 * k : 12 + 4 * k])[0])
        trunk = struct.unpack(">I", page[:4])[0]
    return out


def _guess_page_size(data: bytes) -> int:
    """The page size at which the most pages parse as b-tree pages (for a damaged header)."""
    best, best_score = 4096, -1
    for size in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536):
        probe = _Pages.__new__(_Pages)
        probe.data, probe.size, probe.usable = data, size, size
        probe.count = len(data) // size
        score = 0
        for n in range(1, min(probe.count, 2000) + 1):
            try:
                _btree_header(probe, n)
                score += 1
            except ValueError:
                pass
        if score > best_score:
            best, best_score = size, score
    return best


def _walk(pages: _Pages, root: int, leaves: list[int], reached: set[int]) -> bool:
    """Collect the table leaf pages under ``root``; False if a damaged page cut a branch off."""
    whole = True
    stack = [root]
    while stack:
        n = stack.pop()
        if n in reached:
            whole = False  # a page reached twice: a damaged pointer
            continue
        reached.add(n)
        try:
            page, kind, right, offsets = _btree_header(pages, n)
        except ValueError:
            whole = False
            continue
        if kind == 13:
            leaves.append(n)
        elif kind == 5:
            children = [struct.unpack(">I", page[o : o + 4])[0] for o in offsets] + [right]
            stack.extend(reversed(children))
        else:
            whole = False
    return whole


def read_pages(data: bytes) -> Salvage:
    """Rows read from the file's pages, without SQLite."""
    out = Salvage()
    if len(data) < 512:
        return out
    pages = _Pages(data)
    roots: dict[str, int] = {}
    reached: set[int] = set()
    master: list[int] = []
    whole = _walk(pages, 1, master, reached)
    for n in master:
        for _rowid, values in _leaf_cells(pages, n):
            if len(values) == 5 and values[0] == "table" and isinstance(values[3], int):
                roots[str(values[1])] = values[3]
    for table, rows, shape in (
        ("conversations", out.conversations, _conversation),
        ("messages", out.messages, _message),
    ):
        leaves: list[int] = []
        if table in roots:
            whole &= _walk(pages, roots[table], leaves, reached)
        else:
            whole = False
        for n in leaves:
            for rowid, values in _leaf_cells(pages, n):
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
            cells = _leaf_cells(pages, n)
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
    mid, conv, seq, role, content, state, stats, model, created, updated = row
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
