"""Telling a damaged SQLite file from other failures, and reading what still reads in one.

Shared by the chat store's recovery and the library's index (a cache, rebuilt when damaged).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

SQLITE_CORRUPT, SQLITE_NOTADB = 11, 26


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the file is damaged (not locked, full, read-only or missing)."""
    if isinstance(exc, UnicodeDecodeError):
        return True  # a damaged schema's names, or a text value, that are not UTF-8
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def readable_copy(src: Path, dst: Path) -> None:
    """Copy a damaged database (and its WAL) to ``dst`` so SQLite reads as much as it can.

    A truncated file still claims its old page count in its header, and SQLite then refuses
    every page; the copy's count is set to the pages really there, so it reads up to the cut.
    The damaged file itself is never written.
    """
    raw = bytearray(src.read_bytes())
    page_size = int.from_bytes(raw[16:18], "big") if len(raw) >= 100 else 0
    page_size = 65536 if page_size == 1 else page_size
    if page_size >= 512 and page_size & (page_size - 1) == 0:
        raw[28:32] = (len(raw) // page_size).to_bytes(4, "big")
    dst.write_bytes(bytes(raw))
    wal = Path(f"{src}-wal")
    if wal.exists():
        shutil.copyfile(wal, f"{dst}-wal")


def salvage_tables(path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple]]:
    """The rows of ``tables`` that still read in a damaged database file (see readable_copy)."""
    kept: dict[str, list[tuple]] = {}
    with tempfile.TemporaryDirectory(prefix="hearth-salvage-") as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        try:
            readable_copy(path, copy)
        except OSError:
            return kept
        for table in tables:
            try:
                db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True, timeout=1)
                try:
                    kept[table] = db.execute(f"SELECT * FROM {table}").fetchall()
                finally:
                    db.close()
            except sqlite3.Error:
                continue
    return kept
