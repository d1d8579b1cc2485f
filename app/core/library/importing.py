"""Bringing a model into the library (kept in place, copied or moved into the app's folder) and
taking one out (deleted from the app's folder, only hidden elsewhere)."""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

from app.core.gguf.info import inspect_model, split_parts
from app.core.gguf.names import unsplit
from app.core.library.folders import is_within
from app.core.library.index import Library, LibraryError
from app.core.units import human_bytes


def import_file(
    library: Library,
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
        return library.add_file(source)
    if mode not in ("copy", "move"):
        raise LibraryError(f"unknown import mode {mode!r}")
    parts = [Path(p) for p in info.parts]
    publisher = _safe(str(info.metadata.get("general.organization") or "local"))
    repo = _safe(
        unsplit(parts[0].name)[: -len(".gguf")]
        if parts[0].name.lower().endswith(".gguf")
        else parts[0].stem
    )
    target_dir = library.app_folder / publisher / repo
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
    library.drop_single(parts[0])
    return target_dir / parts[0].name


def remove(library: Library, path: str | os.PathLike[str], delete_file: bool = False) -> int:
    """Take a model out of the library; returns the bytes freed on disk.

    A model in the app's own folder is deleted from disk. Anywhere else the file stays unless
    ``delete_file`` is set: it is only hidden from the library.
    """
    first = Path(path)
    parts = split_parts(first) or [first]
    in_app = is_within(first, library.app_folder)
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
            _prune_empty_dirs(first.parent, library.app_folder)
    library.unlist(first, hide=not in_app and not delete_file)
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
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise LibraryError(
                f"the disk became full while copying {src.name}; nothing was added"
            ) from None
        raise LibraryError(f"cannot copy {src.name}: {exc.strerror or exc}") from None
    return done


def _prune_empty_dirs(folder: Path, stop: Path) -> None:
    folder, stop = folder.resolve(), stop.resolve()
    while folder != stop and is_within(folder, stop):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
