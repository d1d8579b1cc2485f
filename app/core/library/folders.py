"""Where models are on disk: other apps' model folders, and every GGUF file below a folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


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


def is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def walk_gguf(root: Path) -> Iterator[Path]:
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
