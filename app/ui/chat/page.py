"""The chat page's widgets: conversations on the left, the chat in the middle, this chat's
settings on the right (hidden until the Chat settings button is pressed).

The header carries the model picker, the Think switch (shown for templates that take
``enable_thinking``) and the reasoning effort (for templates that take ``reasoning_effort``);
the switch's values are this conversation's, kept with its other overrides by the panel.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.chat.composer import Composer
from app.ui.chat.conversation_list import ConversationSidebar
from app.ui.chat.conversation_panel import ConversationPanel
from app.ui.chat.model_picker import ModelPicker
from app.ui.chat.view import ChatView
from app.ui.common.markdown_html import Palette
from app.ui.common.notice_bar import NoticeBar

EFFORTS = ("low", "medium", "high")
DEFAULT_EFFORT = "medium"


class ThinkControls(QWidget):
    """The Think switch and the reasoning effort, for the loaded model's template.

    ``changed()`` when the user changes either; ``overrides()`` gives the values that differ from
    the template's defaults (thinking on, medium effort), as conversation overrides."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.think = QCheckBox("Think")
        self.think.setChecked(True)
        self.think.setToolTip("Let the model think before it answers (this conversation)")
        self.effort_label = QLabel("Reasoning")
        self.effort = QComboBox()
        self.effort.addItems([e.capitalize() for e in EFFORTS])
        self.effort.setCurrentIndex(EFFORTS.index(DEFAULT_EFFORT))
        self.effort.setToolTip("How much the model thinks before it answers (this conversation)")
        lay.addWidget(self.think)
        lay.addWidget(self.effort_label)
        lay.addWidget(self.effort)
        self.think.toggled.connect(lambda _: self.changed.emit())
        self.effort.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.set_model(None)

    def set_model(self, info: dict[str, Any] | None) -> None:
        """Show what the loaded model's template takes (None: no model loaded)."""
        switch = bool(info and info.get("thinking_switch"))
        efforts = bool(info and info.get("reasoning_efforts"))
        self.think.setVisible(switch)
        self.effort_label.setVisible(efforts)
        self.effort.setVisible(efforts)
        self.setVisible(switch or efforts)

    def set_values(self, overrides: dict[str, Any]) -> None:
        """Show a conversation's values, without ``changed``."""
        self.blockSignals(True)
        self.think.blockSignals(True)
        self.effort.blockSignals(True)
        try:
            self.think.setChecked(overrides.get("enable_thinking", True) is not False)
            effort = overrides.get("reasoning_effort", DEFAULT_EFFORT)
            self.effort.setCurrentIndex(EFFORTS.index(effort if effort in EFFORTS else "medium"))
        finally:
            self.think.blockSignals(False)
            self.effort.blockSignals(False)
            self.blockSignals(False)

    def overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not self.think.isChecked():
            out["enable_thinking"] = False
        effort = EFFORTS[self.effort.currentIndex()]
        if effort != DEFAULT_EFFORT:
            out["reasoning_effort"] = effort
        return out


class ChatPage(QSplitter):
    def __init__(self, dark: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.sidebar = ConversationSidebar()
        self.view = ChatView()
        self.view.set_palette(Palette.for_theme(dark))
        self.composer = Composer()
        self.picker = ModelPicker()
        self.notice = NoticeBar()
        self.panel = ConversationPanel()
        self.panel.hide()

        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        top = QHBoxLayout()
        top.setContentsMargins(10, 8, 10, 8)
        top.addWidget(self.picker, 1)
        self.think = ThinkControls()
        self.panel.attach_think_controls(self.think)
        top.addWidget(self.think)
        self.panel_button = QToolButton()
        self.panel_button.setText("Chat settings")
        self.panel_button.setToolTip("System prompt and options for this conversation")
        self.panel_button.setCheckable(True)
        self.panel_button.toggled.connect(self.panel.setVisible)
        top.addWidget(self.panel_button)
        cl.addLayout(top)
        cl.addWidget(self.view, 1)
        notice_wrap = QHBoxLayout()
        notice_wrap.setContentsMargins(10, 4, 10, 0)
        notice_wrap.addWidget(self.notice)
        cl.addLayout(notice_wrap)
        cl.addWidget(self.composer)

        self.addWidget(self.sidebar)
        self.addWidget(center)
        self.addWidget(self.panel)
        self.setStretchFactor(1, 1)
        self.setSizes([260, 900, 320])
        self.setCollapsible(1, False)
