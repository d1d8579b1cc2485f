"""Coming back to Hearth looks at the library again: a model copied in meanwhile is listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from app.ui.library.controller import RESCAN_DEBOUNCE_MS
from tests import gguf_factory as F

pytestmark = [pytest.mark.gui]


def names(d: Any) -> list[str]:
    return sorted(Path(e.path).name for e in d.w.library_page.model.entries)


def test_a_model_copied_while_away_is_listed_on_return(
    open_window: Any, make_settings: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    deep = folder / "pub" / "repo"  # below what the watcher watches (the folder and its children)
    deep.mkdir(parents=True)
    d = open_window(make_settings())
    w, ctl = d.w, d.w.library_ctl
    ctl.add_folders([folder])
    d.qtbot.waitUntil(lambda: folder in w.library.folders(), timeout=10_000)
    d.qtbot.waitUntil(
        lambda: ctl.scans >= 2 and not ctl._scanning and not ctl._debounce.isActive(),
        timeout=10_000,
    )
    before = names(d)
    app = QGuiApplication.instance()
    assert isinstance(app, QGuiApplication)
    # The user switches to a file manager (the real signal, as the platform sends it) and copies
    # a model in, where no watched folder sees it; a while passes.
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationInactive)
    F.write(deep / "Fresh-1B-Q4_0.gguf", F.small_model_bytes())
    ctl._last_scan -= 60  # the last look was a minute ago
    d.qtbot.wait(RESCAN_DEBOUNCE_MS + 300)
    assert names(d) == before  # nothing has looked yet
    # Back to Hearth: it looks again.
    app.applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)
    d.qtbot.waitUntil(lambda: names(d) == sorted([*before, "Fresh-1B-Q4_0.gguf"]), timeout=10_000)
    assert any(p.endswith("Fresh-1B-Q4_0.gguf") for p in w.picker._paths)
