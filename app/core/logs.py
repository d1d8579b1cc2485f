"""Hearth's own log: what happened to the engine, loads and downloads, never what was said.

``setup()`` sends the ``app`` loggers (``logging.getLogger(__name__)`` in any module) to
``hearth.log`` in the log folder, rotated at 1 MB with three old files kept, readable only by the
user. Log events and reasons (an engine that exited and how, a load that failed and why, a
download retried and after what); never chat messages, prompts or replies, and never a token.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from app.core import paths

LOG_NAME = "hearth.log"
MAX_BYTES = 1 << 20
BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"


class _PrivateRotatingFile(logging.handlers.RotatingFileHandler):
    """Each new log file (after a rotation too) is created 0600, whatever the umask."""

    def _open(self):  # type: ignore[no-untyped-def]
        paths.private_file(Path(self.baseFilename))
        return super()._open()


def setup(level: int = logging.INFO) -> Path | None:
    """Log to the rotating file (once per process); returns its path, None if it cannot be
    written (a read-only home: Hearth runs on without its log)."""
    root = logging.getLogger("app")
    for handler in root.handlers:
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            return Path(handler.baseFilename)
    try:
        path = paths.log_dir() / LOG_NAME
        handler = _PrivateRotatingFile(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
        )
    except OSError:
        root.addHandler(logging.NullHandler())  # no file: nothing on stderr either
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    return path


def close() -> None:
    """Detach and close the file (tests that change the log folder between runs)."""
    root = logging.getLogger("app")
    for handler in list(root.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            root.removeHandler(handler)
            handler.close()
