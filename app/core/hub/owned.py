"""Which of a repository's quants the user already has: in the app's model folder where the Hub
page puts them (repo and file name), or anywhere in the library (file name and size)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from app.core.hub.files import QuantGroup, RepoFiles


def group_key(group: QuantGroup) -> str:
    """A quant group's key: the path of its first file in the repo (unique in a repo)."""
    return group.files[0].path


def library_copies(
    files: RepoFiles, models_dir: Path, library_files: Iterable[tuple[str, int]]
) -> dict[str, str]:
    """``group_key`` -> the model file to open, for each quant already here.

    ``library_files``: the library's readable models as (path of the file or first part, size of
    all parts). A quant counts when every part is in the repo's folder of ``models_dir`` (a
    finished download: partial files have another name), or when a library model has its first
    file's name and its size (the same file, put elsewhere). Reads the disk: call it off the GUI
    thread."""
    publisher, name = files.repo.split("/", 1)
    folder = models_dir / publisher / name
    by_name: dict[tuple[str, int], str] = {}
    for path, size in library_files:
        by_name.setdefault((Path(path).name, size), path)
    found: dict[str, str] = {}
    for g in files.groups:
        if not g.files:
            continue
        dests = [folder / PurePosixPath(f.path).name for f in g.files]
        if all(d.is_file() for d in dests):
            found[group_key(g)] = str(dests[0])
            continue
        same = by_name.get((dests[0].name, g.size_bytes))
        if same is not None:
            found[group_key(g)] = same
    return found
