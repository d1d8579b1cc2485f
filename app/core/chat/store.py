"""The chat store: conversations and messages in SQLite (WAL), with schema migrations.

One ``ChatStore`` is used from one thread (the GUI runs it on its own database thread). Every
write is committed when the call returns, so a killed process loses nothing that was saved.
A damaged database is set aside and what still reads is recovered into a new one
(``store_recovery``): at open when SQLite cannot read it, and by ``check()`` otherwise. The file
and its -wal and -shm are only readable by the user (SQLite gives those two the file's mode).
It is long because it is one class on one connection: every query shares the transaction and
damage handling above, and splitting the class would only spread that state over files.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core import paths
from app.core.chat import recovery as store_recovery
from app.core.chat.recovery import Recovery
from app.core.sqlite_damage import is_damage

SCHEMA_VERSION = 2

# MIGRATIONS[n] brings a database at user_version n to n + 1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE conversations (
        id            INTEGER PRIMARY KEY,
        title         TEXT    NOT NULL,
        created_at    REAL    NOT NULL,
        updated_at    REAL    NOT NULL,
        model_path    TEXT,
        system_prompt TEXT,
        overrides     TEXT    NOT NULL DEFAULT '{}'
    );
    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        seq             INTEGER NOT NULL,
        role            TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content         TEXT    NOT NULL,
        state           TEXT    NOT NULL DEFAULT 'done',
        stats           TEXT,
        model           TEXT,
        created_at      REAL    NOT NULL,
        updated_at      REAL    NOT NULL,
        UNIQUE (conversation_id, seq)
    );
    CREATE INDEX conversations_updated ON conversations(updated_at DESC);
    """,
    # A reply's thinking, apart from its answer (NULL: none, and every message saved before).
    """
    ALTER TABLE messages ADD COLUMN reasoning TEXT;
    """,
]

# Message states. "streaming" is only ever seen after a crash: it becomes "interrupted" on open.
DONE, STREAMING, STOPPED, ERROR, INTERRUPTED = (
    "done",
    "streaming",
    "stopped",
    "error",
    "interrupted",
)


class StoreError(Exception):
    """A database problem, worded for the user (disk full, read-only, damaged file)."""


@dataclass
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    model_path: str | None = None
    system_prompt: str | None = None  # None: use the default from settings
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    id: int
    conversation_id: int
    seq: int
    role: str
    content: str
    state: str = DONE
    stats: dict[str, Any] | None = None
    model: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0
    reasoning: str | None = None  # a reply's thinking, apart from its answer (content)


@dataclass
class SearchHit:
    conversation: Conversation
    snippet: str  # the matching title, or text around the first matching message


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _json(text: str | None, default: Any, kind: type) -> Any:
    """A stored JSON field; damage SQLite's checks cannot see (a zeroed overflow page) reads as
    ``default`` instead of failing every read of the conversation."""
    if not text:
        return default
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return default
    return value if isinstance(value, kind) else default


def _conv(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        model_path=row["model_path"],
        system_prompt=row["system_prompt"],
        overrides=_json(row["overrides"], {}, dict),
    )


def _msg(row: sqlite3.Row) -> Message:
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        seq=row["seq"],
        role=row["role"],
        content=row["content"],
        state=row["state"],
        stats=_json(row["stats"], None, dict),
        model=row["model"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        reasoning=row["reasoning"],
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _explain(exc: sqlite3.Error | UnicodeDecodeError, path: Path) -> StoreError:
    if isinstance(exc, UnicodeDecodeError):
        return StoreError(f"the chat database {path} is damaged (text that is not UTF-8: {exc})")
    text = str(exc)
    if "full" in text:
        return StoreError(f"the disk holding {path.parent} is full; free some space and try again")
    if "readonly" in text or "read-only" in text:
        return StoreError(f"the chat database {path} is read-only")
    if "not a database" in text or "malformed" in text:
        return StoreError(f"the chat database {path} is damaged ({text})")
    return StoreError(f"the chat database failed: {text}")


class ChatStore:
    def __init__(self, path: Path, recover: bool = True) -> None:
        """Open (or create) the store; a file SQLite cannot read is recovered unless not ``recover``.

        ``check()`` looks for damage that opening does not reveal, and returns the recovery made.
        """
        self.path = Path(path)
        self._recovery: Recovery | None = None
        # Told of a recovery made while reading, after open and check() (None: reads that meet
        # damage raise StoreError instead).
        self.on_recovery: Callable[[Recovery], None] | None = None
        try:
            paths.private_dir(self.path.parent)
            for suffix in ("", "-wal", "-shm"):
                paths.private_file(Path(f"{self.path}{suffix}"), create=not suffix)
        except OSError as exc:
            raise StoreError(f"the chat database {self.path} cannot be created: {exc}") from None
        try:
            self._open()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            if not (recover and is_damage(exc)):
                raise _explain(exc, self.path) from None
            self._recover(str(exc))

    def _open(self) -> None:
        self._db = sqlite3.connect(str(self.path), isolation_level=None, timeout=10)
        try:
            self._db.row_factory = sqlite3.Row
            # A flipped byte in a message (which no check of SQLite's sees) shows as U+FFFD
            # instead of making its whole conversation unreadable.
            self._db.text_factory = _text
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            # A deleted conversation's bytes are overwritten, not left in free pages.
            self._db.execute("PRAGMA secure_delete=ON")
            self._migrate()
            self._db.execute(
                "UPDATE messages SET state = ? WHERE state = ?", (INTERRUPTED, STREAMING)
            )
        except BaseException:
            self._db.close()
            raise

    def check(self) -> Recovery | None:
        """Recover the store if SQLite's quick check finds damage; returns the recovery made
        since the store was opened (once), else None.

        It reads every page (about 0.1 s per 100 MB cached): the app calls it on the database
        thread after its window is shown, before any other query.
        """
        if self._recovery is None:
            problem = store_recovery.quick_check(self._db)
            if problem is not None:
                self._recover_open(problem)
        recovery, self._recovery = self._recovery, None
        return recovery

    def _recover_open(self, reason: str) -> None:
        # Copied while open: closing would first move the WAL's pages into the file.
        try:
            damaged = store_recovery.set_aside(self.path, copy=True)
        except OSError as exc:
            raise self._cannot_move(reason, exc) from None
        self._db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._recover(reason, damaged)

    def _cannot_move(self, reason: str, exc: OSError) -> StoreError:
        return StoreError(
            f"the chat database {self.path} is damaged ({reason}) and cannot be moved aside: {exc}"
        )

    def _recover(self, reason: str, damaged: Path | None = None) -> None:
        """Set the damaged file aside (unless it is at ``damaged`` already), read back what it
        holds, and open a new store with it."""
        try:
            if damaged is None:
                damaged = store_recovery.set_aside(self.path)
            paths.private_file(self.path)
        except OSError as exc:
            raise self._cannot_move(reason, exc) from None
        try:
            rows = store_recovery.salvage(damaged)
        except Exception:  # a reader's bug must not keep the app from starting: the copy is kept
            rows = store_recovery.Salvage()
        try:
            self._open()
            recovery = Recovery(damaged, reason)
            self._restore(rows, recovery)
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        self._recovery = recovery

    def _restore(self, rows: store_recovery.Salvage, recovery: Recovery) -> None:
        messages = [
            m for m in map(store_recovery.clean_message, rows.messages.values()) if m is not None
        ]
        conversations = {
            c[0]: store_recovery.clean_conversation(c) for c in rows.conversations.values()
        }
        for m in messages:
            if m[1] not in conversations:  # its conversation's row was lost: keep its messages
                conversations[m[1]] = (m[1], store_recovery.UNTITLED, m[8], m[9], None, None, "{}")
                recovery.untitled += 1
        with self._tx() as db:
            db.executemany(
                f"INSERT INTO conversations ({', '.join(store_recovery.CONVERSATION_COLUMNS)})"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                sorted(conversations.values()),
            )
            before = db.total_changes
            db.executemany(
                f"INSERT OR IGNORE INTO messages ({', '.join(store_recovery.MESSAGE_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(store_recovery.MESSAGE_COLUMNS))})",
                sorted(messages),
            )
            recovery.messages = db.total_changes - before
            db.execute("UPDATE messages SET state = ? WHERE state = ?", (INTERRUPTED, STREAMING))
        recovery.conversations = len(conversations)

    def close(self) -> None:
        self._db.close()

    # -- plumbing ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the chat database was written by a newer Hearth (schema {version}); "
                f"this one reads up to schema {SCHEMA_VERSION}"
            )
        while version < SCHEMA_VERSION:
            with self._tx():
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                version += 1
                self._db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise _explain(exc, self.path) from None

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, args).fetchall()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            if not (self.on_recovery is not None and is_damage(exc)):
                raise _explain(exc, self.path) from None
            # Damage the quick check cannot see (a record that does not decode): recover now
            # and read again from the recovered store.
            self._recover_open(str(exc))
            recovery, self._recovery = self._recovery, None
            if recovery is not None:
                self.on_recovery(recovery)
        try:
            return self._db.execute(sql, args).fetchall()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise _explain(exc, self.path) from None

    # -- conversations -----------------------------------------------------------------------

    def create_conversation(
        self,
        title: str = "New chat",
        model_path: str | None = None,
        system_prompt: str | None = None,
    ) -> Conversation:
        now = time.time()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO conversations (title, created_at, updated_at, model_path, system_prompt)"
                " VALUES (?, ?, ?, ?, ?)",
                (title, now, now, model_path, system_prompt),
            )
        return Conversation(cur.lastrowid or 0, title, now, now, model_path, system_prompt, {})

    def conversation(self, conv_id: int) -> Conversation | None:
        rows = self._query("SELECT * FROM conversations WHERE id = ?", (conv_id,))
        return _conv(rows[0]) if rows else None

    def conversations(self) -> list[Conversation]:
        return [
            _conv(r)
            for r in self._query("SELECT * FROM conversations ORDER BY updated_at DESC, id DESC")
        ]

    def update_conversation(self, conv_id: int, **fields: Any) -> None:
        """Change ``title``, ``model_path``, ``system_prompt`` or ``overrides``."""
        allowed = {"title", "model_path", "system_prompt", "overrides"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown conversation fields: {unknown}")
        if "overrides" in fields:
            fields["overrides"] = json.dumps(fields["overrides"] or {})
        if not fields:
            return
        # Settings changes do not count as activity: the list stays in order of messages.
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            db.execute(f"UPDATE conversations SET {sets} WHERE id = ?", (*fields.values(), conv_id))

    def delete_conversation(self, conv_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conv_id,))

    def search(self, text: str, limit: int = 200) -> list[SearchHit]:
        """Conversations whose title or any message contains ``text`` (case-insensitive)."""
        text = text.strip()
        if not text:
            return [SearchHit(c, "") for c in self.conversations()]
        pattern = f"%{_like_escape(text)}%"
        rows = self._query(
            """
            SELECT c.*, (
                SELECT m.content FROM messages m
                WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\\'
                ORDER BY m.seq LIMIT 1
            ) AS hit
            FROM conversations c
            WHERE c.title LIKE ? ESCAPE '\\' OR EXISTS (
                SELECT 1 FROM messages m
                WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\\'
            )
            ORDER BY c.updated_at DESC LIMIT ?
            """,
            (pattern, pattern, pattern, limit),
        )
        hits = []
        for row in rows:
            hit = row["hit"]
            snippet = row["title"]
            if hit:
                i = hit.lower().find(text.lower())
                start = max(0, i - 40)
                snippet = ("…" if start else "") + hit[start : i + len(text) + 60].replace(
                    "\n", " "
                )
            hits.append(SearchHit(_conv(row), snippet))
        return hits

    # -- messages ----------------------------------------------------------------------------

    def messages(self, conv_id: int) -> list[Message]:
        return [
            _msg(r)
            for r in self._query(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq", (conv_id,)
            )
        ]

    def add_message(
        self,
        conv_id: int,
        role: str,
        content: str,
        state: str = DONE,
        model: str | None = None,
        stats: dict[str, Any] | None = None,
        reasoning: str | None = None,
    ) -> Message:
        now = time.time()
        with self._tx() as db:
            seq = db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id = ?",
                (conv_id,),
            ).fetchone()[0]
            cur = db.execute(
                "INSERT INTO messages (conversation_id, seq, role, content, state, stats, model,"
                " created_at, updated_at, reasoning) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conv_id,
                    seq,
                    role,
                    content,
                    state,
                    json.dumps(stats) if stats else None,
                    model,
                    now,
                    now,
                    reasoning,
                ),
            )
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conv_id))
        return Message(
            cur.lastrowid or 0,
            conv_id,
            seq,
            role,
            content,
            state,
            stats,
            model,
            now,
            now,
            reasoning,
        )

    def update_message(
        self,
        msg_id: int,
        content: str | None = None,
        state: str | None = None,
        stats: dict[str, Any] | None = None,
        reasoning: str | None = None,
    ) -> None:
        """Change the given fields (None: keep); ``reasoning=""`` clears the thinking."""
        sets: list[str] = ["updated_at = ?"]
        args: list[Any] = [time.time()]
        if content is not None:
            sets.append("content = ?")
            args.append(content)
        if state is not None:
            sets.append("state = ?")
            args.append(state)
        if stats is not None:
            sets.append("stats = ?")
            args.append(json.dumps(stats))
        if reasoning is not None:
            sets.append("reasoning = ?")
            args.append(reasoning or None)
        with self._tx() as db:
            db.execute(f"UPDATE messages SET {', '.join(sets)} WHERE id = ?", (*args, msg_id))

    def truncate_after(self, conv_id: int, seq: int) -> None:
        """Delete every message after position ``seq`` (for regenerate and edit-and-resend)."""
        with self._tx() as db:
            db.execute("DELETE FROM messages WHERE conversation_id = ? AND seq > ?", (conv_id, seq))
            db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), conv_id)
            )
