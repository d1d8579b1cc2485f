"""The options form fits the chat's narrow settings panel: nothing clipped at the default size."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QLabel, QWidget

pytestmark = [pytest.mark.gui]


def clipped(widgets: list[QWidget], viewport: QWidget, full_width: bool) -> list[str]:
    """The widgets not wholly inside the viewport (or narrower than they ask to be)."""
    out = []
    for w in widgets:
        if not w.isVisibleTo(viewport):
            continue
        box = QRect(w.mapTo(viewport, QPoint(0, 0)), w.size())
        narrow = full_width and w.width() < w.sizeHint().width()
        if narrow or box.left() < 0 or box.right() > viewport.rect().right():
            name = w.text() if isinstance(w, QLabel) else type(w).__name__
            out.append(f"{name}: {box.left()}..{box.right()} of 0..{viewport.rect().right()}")
    return out


def test_chat_settings_panel_shows_every_field_whole(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings())
    d.qtbot.waitUntil(lambda: d.w.pages.currentWidget() is d.w.chat_page, timeout=15_000)
    assert d.w.width() == 1180  # the default window
    d.w.panel_button.setChecked(True)
    panel = d.w.panel
    d.qtbot.waitUntil(lambda: panel.isVisible() and panel.width() >= 300, timeout=5_000)
    form, viewport = panel.form, panel.viewport()
    d.qtbot.waitUntil(lambda: form.max_tokens.value() == 48, timeout=15_000)  # the chat's values
    # Let the panel settle: a vertical scroll bar may come and take room from the fields.
    with contextlib.suppress(d.qtbot.TimeoutError):
        d.qtbot.waitUntil(lambda: panel.widget().width() <= viewport.width(), timeout=2_000)
    fields: list[QWidget] = [*form.findChildren(QAbstractSpinBox), *form.findChildren(QComboBox)]
    assert len(fields) == 12
    assert clipped(fields, viewport, full_width=True) == []
    assert clipped(form.findChildren(QLabel), viewport, full_width=False) == []
    # Its contents are no wider than the panel, so there is nothing to scroll to either.
    assert panel.widget().width() <= viewport.width()
