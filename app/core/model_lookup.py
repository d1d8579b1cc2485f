"""Find a model by path or by name among the files Hearth knows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class ModelNotFound(LookupError):
    """No file, or no unique library entry, matches; the message says which were close."""


def iter_gguf(folder: Path) -> Iterable[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*.gguf") if p.is_file() and "mmproj" not in p.name.lower()
    )


def resolve_model(target: str, folders: Iterable[Path], known: Iterable[str] = ()) -> Path:
    """``target`` is a path to a file, or a (part of a) model's file name in the library."""
    path = Path(target).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists() or "/" in target or "\\" in target:
        if not path.exists() and not path.is_symlink():
            raise ModelNotFound(f"no such file: {path}")
        return path
    candidates: dict[str, Path] = {}
    for folder in folders:
        for p in iter_gguf(folder):
            candidates.setdefault(str(p), p)
    for k in known:
        p = Path(k)
        if p.exists():
            candidates.setdefault(str(p), p)
    want = target.lower()
    exact = [p for p in candidates.values() if p.stem.lower() == want]
    if len(exact) == 1:
        return exact[0]
    partial = exact or [p for p in candidates.values() if want in p.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise ModelNotFound(
            f"no model named {target!r} in the library"
            + (
                f" (it has: {', '.join(sorted(p.stem for p in candidates.values())[:8])})"
                if candidates
                else " (the library is empty)"
            )
        )
    names = ", ".join(sorted(p.name for p in partial)[:8])
    raise ModelNotFound(
        f"{target!r} matches several models: {names}; give more of the name or a path"
    )
