"""The house style holds: ruff finds nothing in app/ and tests/, and app/ type-checks with mypy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_ruff_finds_nothing() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "check", "app", "tests", "bench", "packaging"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_app_type_checks() -> None:
    proc = subprocess.run(
        [_tool("mypy"), "app"], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
