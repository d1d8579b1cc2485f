"""Tests of the command line, run as a user runs it: ``python -m app`` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys


def hearth(
    *args: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``hearth ARGS`` with the test's environment; text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
