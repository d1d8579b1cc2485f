"""The model library: GGUF files in the app's folder, in user-added folders and added one by one.

Header facts are cached in SQLite keyed by path and each part's size and modification time, so a
rescan of unchanged files only lists folders and stats files. Changed files are read again;
vanished ones are marked missing, not dropped. Split models are one entry; vision projectors
(mmproj) are paired with the models beside them. Every method opens its own connection, so the
library can be used from any thread.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from app.core import paths
from app.core.gguf.info import ModelInfo, inspect_model, split_parts
from app.core.gguf.names import is_projector_name, unsplit
from app.core.units import human_bytes

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


@dataclass(frozen=True)
class KnownFolder:
    label: str
    path: Path


def known_folders(home: Path | None = None, env: dict[str, str] | None = None) -> list[KnownFolder]:
    """Model folders of other apps that exist on this machine."""
    home = home or Path.home()
    env = dict(os.environ if env is None else env)
    local = Path(env.get("LOCALAPPDATA", home / "AppData" / "Local"))
    roaming = Path(env.get("APPDATA", home / "AppData" / "Roaming"))
    mac = home / "Library" / "Application Support"
    hf = (
        Path(env["HF_HUB_CACHE"])
        if env.get("HF_HUB_CACHE")
        else (
            Path(env["HF_HOME"]) / "hub"
            if env.get("HF_HOME")
            else home / ".cache" / "huggingface" / "hub"
        )
    )
    candidates = [
        ("LM Studio", home / ".lmstudio" / "models"),
        ("LM Studio", home / ".cache" / "lm-studio" / "models"),
        ("Hugging Face cache", hf),
        ("GPT4All", home / ".local" / "share" / "nomic.ai" / "GPT4All"),
        ("GPT4All", mac / "nomic.ai" / "GPT4All"),
        ("GPT4All", local / "nomic.ai" / "GPT4All"),
        ("Jan", home / "jan" / "models"),
        ("Jan", home / ".local" / "share" / "Jan" / "data" / "models"),
        ("Jan", mac / "Jan" / "data" / "models"),
        ("Jan", roaming / "Jan" / "data" / "models"),
    ]
    seen: set[str] = set()
    out = []
    for label, path in candidates:
        if path.is_dir() and str(path) not in seen:
            seen.add(str(path))
            out.append(KnownFolder(label, path))
    return out


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def _walk_gguf(root: Path) -> Iterator[Path]:
    """Every *.gguf file below ``root``, following links (the Hugging Face cache links snapshots to
    blobs) without looping, and skipping folders that cannot be read."""
    seen_dirs: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:
                continue
            seen_dirs.add(key)
            with os.scandir(folder) as it:
                items = list(it)
        except OSError:
            continue
        for item in items:
            if item.name.startswith(".") or item.name == "blobs":
                continue
            try:
                if item.is_dir(follow_symlinks=True):
                    stack.append(Path(item.path))
                    continue
            except OSError:
                pass
            if item.name.lower().endswith(".gguf") and _listable(item):
                yield Path(item.path)


def _listable(item: os.DirEntry[str]) -> bool:
    """A regular file, or a link to one that is broken (listed, with the reason). A FIFO, a
    socket or a device named *.gguf is no model: it is skipped, never opened."""
    try:
        if item.is_file(follow_symlinks=True):
            return True
        return item.is_symlink() and not os.path.exists(item.path)
    except OSError:
        return True  # unreadable: listed with the reason


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


def _is_damage(exc: sqlite3.Error) -> bool:
    """SQLITE_CORRUPT or SQLITE_NOTADB: the file is damaged (not locked, not full)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (11, 26)
    text = str(exc)
    return "malformed" in text or "not a database" in text


# What the user added by hand: worth saving from a damaged index (the rest is re-read from disk).
_USER_TABLES = ("folders", "singles", "hidden")


def _salvage_tables(path: Path, tables: tuple[str, ...]) -> dict[str, list[tuple]]:
    """The rows of ``tables`` that still read in a damaged database file.

    A truncated file still claims its old page count in its header, and SQLite then refuses
    every page; a copy with the count set to the pages really there reads up to the cut.
    """
    kept: dict[str, list[tuple]] = {}
    with tempfile.TemporaryDirectory(prefix="hearth-salvage-") as tmp:
        copy = Path(tmp) / "copy.sqlite3"
        try:
            raw = bytearray(path.read_bytes())
        except OSError:
            return kept
        page_size = int.from_bytes(raw[16:18], "big") if len(raw) >= 100 else 0
        page_size = 65536 if page_size == 1 else page_size
        if page_size >= 512 and page_size & (page_size - 1) == 0:
            raw[28:32] = (len(raw) // page_size).to_bytes(4, "big")
        copy.write_bytes(bytes(raw))
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
            if not _is_damage(exc):
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
            if not _is_damage(exc):
                raise
            self._rebuild()
        self._ready = True

    def _rebuild(self) -> None:
        """Start a new index, keeping the folders and files the user added where they still read."""
        kept = _salvage_tables(self.db_path, _USER_TABLES)
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
        if _is_within(folder, self.app_folder):
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
        roots += [f for f in self.folders() if not any(_is_within(f, r) for r in roots)]
        return roots

    def _candidates(self) -> dict[str, tuple[list[str], str | None]]:
        """First-part path -> (all part paths, root), for everything the library should hold."""
        found: dict[str, tuple[list[str], str | None]] = {}
        real_seen: set[str] = set()
        for root in self._roots():
            for path in sorted(_walk_gguf(root)):
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
                LibraryEntry(path, info, status, root, _is_within(Path(path), self.app_folder))
            )
        self._pair_projectors(entries)
        if not include_mmproj:
            entries = [e for e in entries if not self._is_projector(e)]
        return entries

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

    # -- import and removal ----------------------------------------------------------------------

    def import_file(
        self,
        src: str | os.PathLike[str],
        mode: str = "keep",
        progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Add a model: ``keep`` it where it is, or ``copy``/``move`` it into the app's folder."""
        source = Path(src).expanduser().absolute()
        info = inspect_model(source)
        if not info.valid:
            raise LibraryError(f"cannot import {source.name}: {info.error}")
        if info.is_mmproj:
            raise LibraryError(
                f"{source.name} is a vision projector, not a chat model; it is used with the model beside it"
            )
        if mode == "keep":
            return self.add_file(source)
        if mode not in ("copy", "move"):
            raise LibraryError(f"unknown import mode {mode!r}")
        parts = [Path(p) for p in info.parts]
        publisher = _safe(str(info.metadata.get("general.organization") or "local"))
        repo = _safe(
            unsplit(parts[0].name)[: -len(".gguf")]
            if parts[0].name.lower().endswith(".gguf")
            else parts[0].stem
        )
        target_dir = self.app_folder / publisher / repo
        target_dir.mkdir(parents=True, exist_ok=True)
        total = sum(p.stat().st_size for p in parts)
        free = shutil.disk_usage(target_dir).free
        same_device = os.stat(parts[0]).st_dev == os.stat(target_dir).st_dev
        if not (mode == "move" and same_device) and total > free:
            raise LibraryError(
                f"not enough disk space to {mode} {source.name}: it needs {human_bytes(total)}, "
                f"{human_bytes(free)} are free"
            )
        done = 0
        for part in parts:
            target = target_dir / part.name
            if target.exists() and target.stat().st_size == part.stat().st_size:
                done += part.stat().st_size
                continue
            if mode == "move" and same_device:
                os.replace(part, target)
                done += target.stat().st_size
            else:
                done = _copy(part, target, done, total, progress)
                if mode == "move":
                    part.unlink()
            if progress:
                progress(done, total)
        with self._db() as db:
            db.execute("DELETE FROM singles WHERE path = ?", (str(parts[0]),))
        return target_dir / parts[0].name

    def remove(self, path: str | os.PathLike[str], delete_file: bool = False) -> int:
        """Take a model out of the library; returns the bytes freed on disk.

        A model in the app's own folder is deleted from disk. Anywhere else the file stays unless
        ``delete_file`` is set: it is only hidden from the library.
        """
        first = Path(path)
        parts = split_parts(first) or [first]
        in_app = _is_within(first, self.app_folder)
        freed = 0
        if in_app or delete_file:
            for p in parts:
                try:
                    freed += p.stat().st_size
                    p.unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise LibraryError(f"cannot delete {p}: {exc.strerror or exc}") from None
            if in_app:
                _prune_empty_dirs(first.parent, self.app_folder)
        with self._db() as db:
            db.execute("DELETE FROM files WHERE path = ?", (str(first),))
            db.execute("DELETE FROM singles WHERE path = ?", (str(first),))
            if not in_app and not delete_file:
                db.execute("INSERT OR IGNORE INTO hidden VALUES (?)", (str(first),))
        return freed


def _safe(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned or "model"


def _copy(
    src: Path, dst: Path, done: int, total: int, progress: Callable[[int, int], None] | None
) -> int:
    partial = dst.with_name(dst.name + ".partial")
    try:
        with src.open("rb") as fin, partial.open("wb") as fout:
            while chunk := fin.read(8 << 20):
                fout.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
        os.replace(partial, dst)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if getattr(exc, "errno", None) == 28:
            raise LibraryError(
                f"the disk became full while copying {src.name}; nothing was added"
            ) from None
        raise LibraryError(f"cannot copy {src.name}: {exc.strerror or exc}") from None
    return done


def _prune_empty_dirs(folder: Path, stop: Path) -> None:
    folder, stop = folder.resolve(), stop.resolve()
    while folder != stop and _is_within(folder, stop):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def open_library(models_dir: Path) -> Library:
    """The user's library, with ``models_dir`` as the app's own model folder."""
    return Library(paths.library_db_path(), models_dir)
