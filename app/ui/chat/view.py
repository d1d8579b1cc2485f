"""The conversation view: one MessageWidget per message, streaming without re-render.

A growing reply is repainted at most ~30 times per second, and only its last block (see
message_widget).

The view draws a ``ChatSession``'s messages and never changes them: the controller changes the
session and then says what to redraw (``add_message``, ``remove_after``, ``refresh``, the stream).

ChatView signals:
    editRequested(object)        the Message (a user's) to edit
    regenerateRequested()
    retryRequested()
    linkActivated(str)
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.chat.session import ChatSession
from app.core.chat.store import Message
from app.ui.chat.message_widget import MessageWidget
from app.ui.common.markdown_html import MarkdownRenderer, Palette

REPAINT_MS = 33


class ChatView(QScrollArea):
    editRequested = Signal(object)
    regenerateRequested = Signal()
    retryRequested = Signal()
    linkActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._container = QWidget()
        self._container.setObjectName("chatContainer")
        self._layout = QVBoxLayout(self._container)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self._layout.setSpacing(6)
        self.empty = QLabel(
            "<h2>Start a conversation</h2><p>Type below and press Enter. The model runs on this "
            "computer and your chats are saved here; nothing is sent anywhere.</p>"
        )
        self.empty.setObjectName("mutedLabel")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self._layout.addWidget(self.empty)
        # Finished messages live in one box and the reply being written in another, so a
        # growing reply re-lays out two boxes, not every message of the conversation.
        self._history, self._hist_layout = self._box()
        self._live, self._live_layout = self._box()
        self._layout.addWidget(self._history)
        self._layout.addWidget(self._live)
        self._layout.addStretch(1)
        # The container grows to fit before it is laid out, so the history box is never
        # squeezed for a moment (which would re-lay out every message on each repaint).
        self._layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetMinimumSize)
        self.setWidget(self._container)
        self.renderer = MarkdownRenderer(Palette())
        self.widgets: list[MessageWidget] = []
        self.streaming: MessageWidget | None = None
        self._stick = True
        self._timer = QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self._repaint_stream)
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)
        self.model_title = "Assistant"

    def _box(self) -> tuple[QWidget, QVBoxLayout]:
        box = QWidget(self._container)
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        return box, lay

    COLUMN = 820  # the chat's width at most, centred in a wider window: lines stay readable

    def resizeEvent(self, event: Any) -> None:
        side = max(8, (self.viewport().width() - self.COLUMN) // 2)
        margins = self._layout.contentsMargins()
        if margins.left() != side:
            self._layout.setContentsMargins(side, 8, side, 8)
        super().resizeEvent(event)

    def set_palette(self, palette: Palette) -> None:
        self.renderer = MarkdownRenderer(palette)
        for w in self.widgets:
            w.renderer = self.renderer
            if w is not self.streaming:
                w.show_text(w.message.content)

    # -- building ---------------------------------------------------------------------------------

    def clear(self) -> None:
        self._timer.stop()
        self.streaming = None
        for w in self.widgets:
            w.setParent(None)
            w.deleteLater()
        self.widgets = []
        self._update_actions()

    def show_session(self, session: ChatSession) -> None:
        """Draw all of ``session``'s messages (a reply still being written goes on streaming)."""
        self.clear()
        for m in session.messages:
            self.add_message(m)
        if session.reply is not None:
            self.start_stream(session.reply, session.reply_text, session.reply_reasoning)
        self.mark_out_of_context(session.out_of_context())
        self._stick = True
        self._update_actions()
        QTimer.singleShot(0, self.scroll_to_bottom)

    def widget_for(self, message: Message) -> MessageWidget | None:
        return next((w for w in self.widgets if w.message is message), None)

    def _title_for(self, m: Message) -> str:
        if m.role == "user":
            return "You"
        if m.role == "system":
            return "System"
        if m.model:
            from pathlib import Path

            return Path(m.model).stem
        return self.model_title

    def add_message(self, message: Message) -> MessageWidget:
        w = MessageWidget(message, self.renderer, self._title_for(message), self._history)
        w.editRequested.connect(self._on_edit_requested)
        w.regenerateRequested.connect(self.regenerateRequested)
        w.retryRequested.connect(self.retryRequested)
        w.linkOpened.connect(self.linkActivated)
        self._hist_layout.addWidget(w)
        self.widgets.append(w)
        self._update_actions()
        return w

    def _on_edit_requested(self, widget: MessageWidget) -> None:
        self.editRequested.emit(widget.message)

    def remove_after(self, message: Message | None) -> None:
        """Remove every message shown after ``message`` (None: all of them)."""
        widget = self.widget_for(message) if message is not None else None
        i = self.widgets.index(widget) + 1 if widget is not None else 0
        for w in self.widgets[i:]:
            if w is self.streaming:
                self.streaming = None
                self._timer.stop()
            w.setParent(None)
            w.deleteLater()
        self.widgets = self.widgets[:i]
        self._update_actions()

    def refresh(self, message: Message) -> None:
        w = self.widget_for(message)
        if w is not None:
            w.refresh()

    def _update_actions(self) -> None:
        self.empty.setVisible(not self.widgets)
        last_assistant = next(
            (w for w in reversed(self.widgets) if w.message.role == "assistant"), None
        )
        for w in self.widgets:
            w.regen_btn.setVisible(
                w is last_assistant
                and w is self.widgets[-1]
                and w is not self.streaming
                and w.message.state in ("done", "stopped")  # a failed one has Retry instead
            )

    def set_editing(self, message: Message | None) -> None:
        """Highlight the message being edited in the composer (None: none)."""
        for w in self.widgets:
            w.set_editing(w.message is message)

    def set_busy(self, busy: bool) -> None:
        for w in self.widgets:
            w.edit_btn.setEnabled(not busy)
            w.regen_btn.setEnabled(not busy)
            w.retry_btn.setEnabled(not busy)

    def mark_out_of_context(self, left_out: list[Message]) -> None:
        """Dim the messages the model no longer sees."""
        for w in self.widgets:
            w.set_out_of_context(any(w.message is m for m in left_out))

    # -- streaming --------------------------------------------------------------------------------

    def start_stream(self, message: Message, initial: str = "", reasoning: str = "") -> None:
        widget = self.widget_for(message)
        if widget is None:
            return
        self.streaming = widget
        if widget is self.widgets[-1]:
            self._hist_layout.removeWidget(widget)
            self._live_layout.addWidget(widget)
            widget.show()  # a moved widget is hidden until shown again
        widget.begin_stream(initial, reasoning)
        self._update_actions()
        self._timer.start()

    def stream_append(self, piece: str) -> None:
        if self.streaming is not None:
            self.streaming.append(piece)

    def stream_reasoning(self, piece: str) -> None:
        if self.streaming is not None:
            self.streaming.append_reasoning(piece)

    def _repaint_stream(self) -> None:
        if self.streaming is not None:
            self.streaming.render_pending()

    def _settle(self, w: MessageWidget) -> None:
        """Move a finished reply from the live box to the end of the history box."""
        if w.parentWidget() is self._live:
            self._live_layout.removeWidget(w)
            self._hist_layout.addWidget(w)
            w.show()

    def finish_stream(self, message: Message, error: str = "") -> None:
        """The reply ``message`` is complete (its final text and state are in it)."""
        w = self.streaming
        self._timer.stop()
        if w is not None and w.message is message:
            w.end_stream(message.content, error, message.reasoning or "")
            self._settle(w)
        self.streaming = None
        self._update_actions()

    # -- scrolling --------------------------------------------------------------------------------

    def _on_scrolled(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - 24

    def _on_range(self, _min: int, maximum: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(maximum)

    def scroll_to_bottom(self) -> None:
        self._stick = True
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
