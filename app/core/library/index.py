"""The model library: GGUF files in the app's folder, in user-added folders and added one by one.

Header facts are cached in SQLite keyed by path and each part's size and modification time, so a
rescan of unchanged files only lists folders and stats files. Changed files are read again;
vanished ones are marked missing, not dropped. Split models are one entry; vision projectors
(mmproj) are paired with the models beside them; draft heads, LoRA adapters and importance
matrices are not listed. Every method opens its own connection, so the
library can be used from any thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from app.core import paths
from app.core.gguf.info import ModelInfo, inspect_model, split_parts
from app.core.gguf.names import companion_kind, is_projector_name
from app.core.library.folders import is_within, walk_gguf
from app.core.sqlite_damage import is_damage, salvage_tables

OK, INVALID, MISSING = "ok", "invalid", "missing"

SCHEMA = """
CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS singles (path TEXT PRIMARY KEY, added_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS hidden (path TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    sig TEXT NOT NULL,
    info TEXT NOT NULL,
    missing INTEGER NOT NULL DEFAULT 0,
    root TEXT,
    seen_at REAL NOT NULL
);
"""


class LibraryError(Exception):
    """Something the user asked of the library cannot be done; the message says why."""


@dataclass
class LibraryEntry:
    path: str  # the file, or the first part of a split model
    info: ModelInfo
    status: str  # "ok", "invalid" or "missing"
    root: str | None  # the library folder it was found in; None for a file added on its own
    in_app_folder: bool
    mmproj: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        if self.status == MISSING:
            return "the file is no longer there"
        return self.info.error

    def to_dict(self) -> dict:
        d = self.info.to_dict()
        d.update(
            status=self.status,
            folder=self.root,
            in_app_folder=self.in_app_folder,
            mmproj=self.mmproj,
        )
        if self.status == MISSING:
            d["valid"], d["error"] = False, self.error
        return d


@dataclass
class ScanResult:
    entries: list[LibraryEntry]
    read: int  # headers read (new or changed files)
    reused: int  # taken from the cache
    missing: int
    seconds: float
    notice: str | None = None  # the index was damaged and rebuilt: say so once


# Raise when what inspect_model extracts changes: cached entries are then read again.
INFO_VERSION = 2  # 2: header strings cleaned of control characters


def _signature(parts: list[str]) -> str:
    sig: list[object] = [INFO_VERSION]
    for p in parts:
        try:
            st = os.stat(p)
            sig.append([st.st_size, st.st_mtime_ns])
        except OSError:
            sig.append(None)
    return json.dumps(sig)


# What the user added by hand: worth saving from a damaged index (the rest is re-read from disk).
_USER_TABLES = ("folders", "singles", "hidden")


class Library:
    def __init__(self, db_path: Path, app_folder: Path) -> None:
        self.db_path = Path(db_path)
        self.app_folder = Path(app_folder)
        self._ready = False  # the database is opened on first use, off the GUI thread
        self.notice: str | None = None  # set when a damaged index was rebuilt; shown once

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            paths.private_dir(self.db_path.parent)
            paths.private_file(self.db_path)  # 0600 before SQLite creates it; -wal/-shm follow
            for suffix in ("-wal", "-shm"):
                paths.private_file(Path(f"{self.db_path}{suffix}"), create=False)
            self._open_checked()
        db = sqlite3.connect(str(self.db_path), timeout=10)
        try:
            with db:
                yield db
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            db.close()
            self._rebuild()
            raise LibraryError(
                "the library's index was damaged and has been rebuilt; try again"
            ) from None
        finally:
            db.close()

    def _open_checked(self) -> None:
        """Open the index once, checking it; a damaged one is rebuilt (it is a cache)."""
        try:
            db = sqlite3.connect(str(self.db_path), timeout=10)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                ok = db.execute("PRAGMA quick_check").fetchone()
                if ok is None or ok[0] != "ok":
                    raise sqlite3.DatabaseError("database disk image is malformed")
                db.executescript(SCHEMA)
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            self._rebuild()
        self._ready = True

    def _rebuild(self) -> None:
        """Start a new index, keeping the folders and files the user added where they still read."""
        kept = salvage_tables(self.db_path, _USER_TABLES)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        paths.private_file(self.db_path)
        db = sqlite3.connect(str(self.db_path), timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            with db:
                for table, rows in kept.items():
                    if rows:
                        marks = ", ".join("?" * len(rows[0]))
                        db.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows)
        finally:
            db.close()
        lost = [t for t in _USER_TABLES if t not in kept]
        folders = len(kept.get("folders", []))
        self.notice = (
            "The library's index was damaged and has been rebuilt from the model files"
            + (
                f" ({folders} added folder{'s' * (folders != 1)} kept)."
                if not lost
                else "; the list of folders and files you added could not be read: add them again."
            )
        )

    # -- folders ----------------------------------------------------------------------------------

    def folders(self) -> list[Path]:
        with self._db() as db:
            return [Path(r[0]) for r in db.execute("SELECT path FROM folders ORDER BY added_at")]

    def add_folder(self, path: str | os.PathLike[str]) -> Path:
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise LibraryError(f"{folder} is not a folder")
        if is_within(folder, self.app_folder):
            return folder  # already part of the library
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO folders VALUES (?, ?)", (str(folder), time.time()))
        return folder

    def remove_folder(self, path: str | os.PathLike[str]) -> None:
        with self._db() as db:
            db.execute(
                "DELETE FROM folders WHERE path = ?", (str(Path(path).expanduser().resolve()),)
            )

    def add_file(self, path: str | os.PathLike[str]) -> Path:
        """Add one file where it is (it stays there)."""
        p = Path(path).expanduser().absolute()
        parts = split_parts(p)
        first = parts[0] if parts else p
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO singles VALUES (?, ?)", (str(first), time.time()))
            db.execute("DELETE FROM hidden WHERE path = ?", (str(first),))
        return first

    # -- scanning ---------------------------------------------------------------------------------

    def _roots(self) -> list[Path]:
        roots = [self.app_folder]
        roots += [f for f in self.folders() if not any(is_within(f, r) for r in roots)]
        return roots

    def _candidates(self) -> dict[str, tuple[list[str], str | None]]:
        """First-part path -> (all part paths, root), for everything the library should hold."""
        found: dict[str, tuple[list[str], str | None]] = {}
        real_seen: set[str] = set()
        for root in self._roots():
            for path in sorted(walk_gguf(root)):
                self._add_candidate(found, real_seen, path, str(root))
        with self._db() as db:
            singles = [Path(r[0]) for r in db.execute("SELECT path FROM singles")]
            hidden = {r[0] for r in db.execute("SELECT path FROM hidden")}
        for path in singles:
            self._add_candidate(found, real_seen, path, None)
        return {k: v for k, v in found.items() if k not in hidden}

    @staticmethod
    def _add_candidate(
        found: dict[str, tuple[list[str], str | None]],
        real_seen: set[str],
        path: Path,
        root: str | None,
    ) -> None:
        parts = split_parts(path)
        first = parts[0] if parts else path
        key = str(first)
        if key in found:
            return
        try:
            real = os.path.realpath(first)
        except OSError:
            real = key
        if real in real_seen and real != key:
            return  # the same file seen through another link (Hugging Face snapshots)
        real_seen.add(real)
        found[key] = ([str(p) for p in parts] if parts else [key], root)

    def scan(self) -> ScanResult:
        started = time.monotonic()
        candidates = self._candidates()
        with self._db() as db:
            cached = {r[0]: (r[1], r[2]) for r in db.execute("SELECT path, sig, info FROM files")}
        now = time.time()
        read = reused = 0
        rows = []
        for key, (parts, root) in candidates.items():
            sig = _signature(parts)
            hit = cached.get(key)
            if hit is not None and hit[0] == sig:
                info_json = hit[1]
                reused += 1
            else:
                info_json = json.dumps(inspect_model(key).to_dict())
                read += 1
            rows.append((key, sig, info_json, 0, root, now))
        gone = [k for k in cached if k not in candidates]
        with self._db() as db:
            db.executemany(
                "INSERT INTO files (path, sig, info, missing, root, seen_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(path) DO UPDATE SET sig=excluded.sig, info=excluded.info,"
                " missing=0, root=excluded.root, seen_at=excluded.seen_at",
                rows,
            )
            db.executemany("UPDATE files SET missing = 1 WHERE path = ?", [(k,) for k in gone])
        entries = self.entries()
        return ScanResult(
            entries,
            read,
            reused,
            sum(e.status == MISSING for e in entries),
            time.monotonic() - started,
            self.take_notice(),
        )

    def entries(self, include_mmproj: bool = False) -> list[LibraryEntry]:
        """What the library holds, from the cache (no disk access)."""
        with self._db() as db:
            rows = db.execute(
                "SELECT path, info, missing, root FROM files ORDER BY path"
            ).fetchall()
            hidden = {r[0] for r in db.execute("SELECT path FROM hidden")}
        entries = []
        for path, info_json, missing, root in rows:
            if path in hidden:
                continue
            info = ModelInfo.from_dict(json.loads(info_json))
            status = MISSING if missing else (OK if info.valid else INVALID)
            entries.append(
                LibraryEntry(path, info, status, root, is_within(Path(path), self.app_folder))
            )
        self._pair_projectors(entries)
        if not include_mmproj:
            entries = [e for e in entries if not self._is_projector(e)]
        # draft heads, LoRA adapters, vocoders, importance matrices: files beside a model that
        # are not one to chat with
        return [e for e in entries if self._is_projector(e) or not self._is_companion(e)]

    @staticmethod
    def _is_companion(e: LibraryEntry) -> bool:
        return (
            bool(companion_kind(Path(e.path).name))
            or e.info.metadata.get("general.type") == "adapter"
        )

    @staticmethod
    def _is_projector(e: LibraryEntry) -> bool:
        return e.info.is_mmproj or is_projector_name(Path(e.path).name)

    def _pair_projectors(self, entries: list[LibraryEntry]) -> None:
        by_dir: dict[str, list[LibraryEntry]] = {}
        for e in entries:
            by_dir.setdefault(str(Path(e.path).parent), []).append(e)
        for group in by_dir.values():
            projectors = [e.path for e in group if self._is_projector(e) and e.status != MISSING]
            if projectors:
                for e in group:
                    if not self._is_projector(e):
                        e.mmproj = list(projectors)

    def entry(self, path: str | os.PathLike[str]) -> LibraryEntry | None:
        key = str(Path(path))
        return next((e for e in self.entries(include_mmproj=True) if e.path == key), None)

    # -- import and removal (importing.py) ------------------------------------------------------

    def import_file(
        self,
        src: str | os.PathLike[str],
        mode: str = "keep",
        progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Add a model: ``keep`` it where it is, or ``copy``/``move`` it into the app's folder."""
        from app.core.library import importing  # it raises this module's LibraryError

        return importing.import_file(self, src, mode, progress)

    def remove(self, path: str | os.PathLike[str], delete_file: bool = False) -> int:
        """Take a model out of the library; returns the bytes freed on disk.

        A model in the app's own folder is deleted from disk. Anywhere else the file stays unless
        ``delete_file`` is set: it is only hidden from the library.
        """
        from app.core.library import importing

        return importing.remove(self, path, delete_file)

    def drop_single(self, first: Path) -> None:
        """Forget that ``first`` was added on its own (it now lives in the app's folder)."""
        with self._db() as db:
            db.execute("DELETE FROM singles WHERE path = ?", (str(first),))

    def unlist(self, first: Path, hide: bool) -> None:
        """Drop a model from the index; ``hide`` keeps the next scan from listing it again."""
        with self._db() as db:
            db.execute("DELETE FROM files WHERE path = ?", (str(first),))
            db.execute("DELETE FROM singles WHERE path = ?", (str(first),))
            if hide:
                db.execute("INSERT OR IGNORE INTO hidden VALUES (?)", (str(first),))


def open_library(models_dir: Path) -> Library:
    """The user's library, with ``models_dir`` as the app's own model folder."""
    return Library(paths.library_db_path(), models_dir)
