"""The chat page's widgets: conversations on the left, the chat in the middle, this chat's
settings on the right (hidden until the Chat settings button is pressed)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QSplitter, QToolButton, QVBoxLayout, QWidget

from app.ui.chat.composer import Composer
from app.ui.chat.conversation_list import ConversationSidebar
from app.ui.chat.conversation_panel import ConversationPanel
from app.ui.chat.model_picker import ModelPicker
from app.ui.chat.view import ChatView
from app.ui.common.markdown_html import Palette
from app.ui.common.notice_bar import NoticeBar


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
