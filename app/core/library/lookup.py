"""Find a model by path, or by (part of) its file name among the library's models."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class ModelNotFound(LookupError):
    """No file, or no single library entry, matches; the message says which were close."""


def resolve_model(target: str, candidates: Iterable[Path]) -> Path:
    """``target`` is a path to a file, or a (part of a) model file name from ``candidates``."""
    path = Path(target).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists() or "/" in target or "\\" in target:
        if not path.exists() and not path.is_symlink():
            raise ModelNotFound(f"no such file: {path}")
        return path
    unique = {str(p): p for p in candidates}
    want = target.lower()
    exact = [p for p in unique.values() if p.stem.lower() == want]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [p for p in unique.values() if want in p.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        known = sorted(p.stem for p in unique.values())
        listing = f" (it has: {', '.join(known[:8])})" if known else " (the library is empty)"
        raise ModelNotFound(f"no model named {target!r} in the library{listing}")
    names = ", ".join(sorted(p.name for p in partial)[:8])
    raise ModelNotFound(
        f"{target!r} matches several models: {names}; give more of the name or a path"
    )
