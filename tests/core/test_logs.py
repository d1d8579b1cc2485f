"""Hearth's log file: private, rotated, and written by the app's own loggers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import logs


@pytest.fixture
def log_file(hearth_home: Path) -> Iterator[Path]:
    old = os.umask(0o022)
    try:
        path = logs.setup()
        assert path is not None
        yield path
    finally:
        logs.close()
        os.umask(old)


def test_app_loggers_reach_a_private_file(log_file: Path) -> None:
    logging.getLogger("app.engine.client").warning("the engine exited: %s", "SIGKILL")
    for h in logging.getLogger("app").handlers:
        h.flush()
    text = log_file.read_text()
    assert "WARNING" in text and "app.engine.client: the engine exited: SIGKILL" in text
    if os.name == "posix":
        assert log_file.stat().st_mode & 0o777 == 0o600
    assert logs.setup() == log_file  # once per process


def test_the_log_rotates_and_stays_private(log_file: Path) -> None:
    log = logging.getLogger("app.core.hub.download")
    for i in range(logs.MAX_BYTES // 100 * 2):
        log.info("retrying after a dropped connection, try %d %s", i, "x" * 40)
    rotated = sorted(log_file.parent.glob(f"{logs.LOG_NAME}*"))
    assert len(rotated) >= 2
    assert all(p.stat().st_size <= logs.MAX_BYTES + 200 for p in rotated)
    if os.name == "posix":
        assert all(p.stat().st_mode & 0o777 == 0o600 for p in rotated)
