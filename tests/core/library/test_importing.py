"""Copying a model into the library when the disk runs out of room."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from app.core.library import importing
from app.core.library.index import LibraryError


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EFBIG])
def test_no_room_is_said_in_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    src = tmp_path / "model.gguf"
    src.write_bytes(b"x" * 100)
    target = tmp_path / "library" / "model.gguf"
    target.parent.mkdir()

    def no_room(*_args: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(importing.os, "replace", no_room)
    with pytest.raises(LibraryError, match=r"the disk became full while copying model\.gguf"):
        importing._copy(src, target, 0, 100, None)
    assert list(target.parent.iterdir()) == []
