"""The evaluation text: the one Hearth ships (resources/eval, gzip-compressed) or any text file."""

from __future__ import annotations

import gzip
from pathlib import Path

from app.core.resources import resource_path

BUILTIN_NAME = "eval/persuasion.txt.gz"
BUILTIN_TITLE = "Jane Austen, Persuasion (1817; public domain)"


class EvalTextError(ValueError):
    """The text cannot be used (missing, unreadable, empty)."""


def builtin_path() -> Path:
    return resource_path(BUILTIN_NAME)


def read_text(path: str | Path | None = None) -> tuple[str, str]:
    """(text, what it is): the bundled text when ``path`` is None; ``.gz`` files are read
    decompressed; bytes that are not UTF-8 are replaced."""
    p = builtin_path() if path is None else Path(path).expanduser()
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise EvalTextError(f"the text file {p} does not exist") from None
    except OSError as exc:
        raise EvalTextError(f"cannot read the text file {p}: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise EvalTextError(f"{p.name} is a damaged gzip file: {exc}") from None
    text = data.decode("utf-8", errors="replace")
    if not text.strip():
        raise EvalTextError(f"the text file {p.name} is empty: there is nothing to measure on")
    return text, BUILTIN_TITLE if path is None else p.name
