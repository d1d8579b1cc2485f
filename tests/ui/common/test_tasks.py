"""Background results delivered to a window that has gone are dropped, not crashed on."""

from __future__ import annotations

from typing import Any

import pytest
import shiboken6
from PySide6.QtWidgets import QLabel

from app.ui.common.tasks import call_in_gui, run_task

pytestmark = [pytest.mark.gui]


def test_a_result_for_a_deleted_widget_is_dropped(qtbot: Any) -> None:
    shown: list[str] = []
    label = QLabel()
    other = QLabel()
    qtbot.addWidget(other)

    def show(text: str) -> None:  # a closure over a widget, as the window's callbacks are
        label.setText(text)
        shown.append(text)

    def show_other(text: str) -> None:
        other.setText(text)
        shown.append(text)

    shiboken6.delete(label)  # the window closed while the work ran
    call_in_gui(show, "late")
    call_in_gui(show_other, "in time")
    qtbot.waitUntil(lambda: shown == ["in time"], timeout=5000)
    assert other.text() == "in time"


def test_bound_methods_of_a_deleted_object_are_dropped_too(qtbot: Any) -> None:
    label = QLabel()
    done: list[bool] = []
    run_task(lambda: "text", label.setText)
    shiboken6.delete(label)
    run_task(lambda: None, lambda _r: done.append(True))
    qtbot.waitUntil(lambda: done == [True], timeout=5000)
