"""The conversation view: one widget per message, markdown replies, streaming without re-render.

A streaming reply is held as a frozen part (complete markdown blocks, rendered once and appended)
and a tail (the block still being written, re-rendered on each repaint tick). The cost of a
token therefore depends on the size of the last block, not on the length of the reply or of the
conversation. Repaints are coalesced to at most ~30 per second.

ChatView signals:
    editRequested(object)        MessageWidget of a user message
    regenerateRequested()
    retryRequested()
    linkActivated(str)
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat.store import Message
from app.ui.common.markdown_html import MarkdownRenderer, Palette, split_stable

REPAINT_MS = 33


def format_stats(stats: dict[str, Any] | None) -> str:
    """One line of figures under a reply."""
    if not stats:
        return ""
    parts = []
    tps = stats.get("tokens_per_second")
    if tps:
        parts.append(f"{tps:.1f} tok/s")
    if stats.get("completion_tokens") is not None:
        parts.append(f"{stats['completion_tokens']} tokens")
    if stats.get("ttft_s") is not None:
        parts.append(f"first token {stats['ttft_s']:.2f} s")
    if stats.get("prompt_tokens") is not None:
        reused = stats.get("reused_tokens") or 0
        parts.append(f"prompt {stats['prompt_tokens']} tokens ({reused} cached)")
    if stats.get("context_used") is not None and stats.get("n_ctx"):
        parts.append(f"context {stats['context_used']:,}/{stats['n_ctx']:,}")
    reason = stats.get("stop_reason")
    if reason and reason != "eos":
        parts.append(
            {
                "max_tokens": "stopped at the token limit",
                "stopped": "stopped by you",
                "context_full": "the context is full",
                "stop_string": "stop sequence",
            }.get(reason, reason)
        )
    return " · ".join(parts)


class MessageBody(QTextBrowser):
    """Read-only rich text that is exactly as tall as its content."""

    copyBlock = Signal(int)
    linkOpened = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.viewport().setAutoFillBackground(False)
        self.setStyleSheet("QTextBrowser { background: transparent; }")
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(self._fit)
        self.anchorClicked.connect(self._on_anchor)
        self._fit()

    def _fit(self, *_: object) -> None:
        h = int(self.document().size().height()) + 2
        if h != self.height():
            self.setFixedHeight(h)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self.document().setTextWidth(self.viewport().width())
        self._fit()

    def sizeHint(self) -> QSize:
        return QSize(400, self.height())

    def _on_anchor(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("hearth-copy:"):
            try:
                self.copyBlock.emit(int(text.split(":", 1)[1]))
            except ValueError:
                pass
        else:
            self.linkOpened.emit(text)

    def append_html(self, fragment: str) -> None:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertHtml(fragment)


class MessageWidget(QFrame):
    """One message: who, the text, actions, and figures or state underneath."""

    editRequested = Signal(object)
    regenerateRequested = Signal()
    retryRequested = Signal()
    linkOpened = Signal(str)

    def __init__(
        self,
        message: Message,
        renderer: MarkdownRenderer,
        title: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.message = message
        self.renderer = renderer
        self.setObjectName("userMessage" if message.role == "user" else "assistantMessage")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 8, 14, 8)
        lay.setSpacing(2)

        head = QHBoxLayout()
        head.setSpacing(4)
        self.title = QLabel(f"<b>{html.escape(title)}</b>")
        head.addWidget(self.title)
        self.context_note = QLabel("left out of the model's context")
        self.context_note.setObjectName("mutedLabel")
        self.context_note.hide()
        head.addWidget(self.context_note)
        head.addStretch(1)
        self.copy_btn = self._action("Copy", "Copy this message")
        self.copy_btn.clicked.connect(self.copy_text)
        self.edit_btn = self._action("Edit", "Edit and resend this message")
        self.edit_btn.clicked.connect(lambda: self.editRequested.emit(self))
        self.regen_btn = self._action("Regenerate", "Write this reply again")
        self.regen_btn.clicked.connect(self.regenerateRequested)
        self.retry_btn = self._action("Retry", "Try this reply again")
        self.retry_btn.clicked.connect(self.retryRequested)
        for b in (self.copy_btn, self.edit_btn, self.regen_btn, self.retry_btn):
            head.addWidget(b)
        self.edit_btn.setVisible(message.role == "user")
        self.regen_btn.hide()
        self.retry_btn.hide()
        lay.addLayout(head)

        self.body = MessageBody(self)
        self.tail = MessageBody(self)
        self.tail.hide()
        for b in (self.body, self.tail):
            b.copyBlock.connect(self._copy_block)
            b.linkOpened.connect(self.linkOpened)
        lay.addWidget(self.body)
        lay.addWidget(self.tail)
        self.footer = QLabel()
        self.footer.setObjectName("mutedLabel")
        self.footer.setWordWrap(True)
        self.footer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.footer.hide()
        lay.addWidget(self.footer)

        self._code_blocks: list[str] = []
        self._tail_blocks: list[str] = []
        self._frozen_parts: list[str] = []
        self._tail_text = ""
        self._streaming = False
        self._dirty = False
        self.set_content(message.content)
        self.set_state(message.state, message.stats)

    def _action(self, text: str, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        return b

    # -- content --------------------------------------------------------------------------------

    @property
    def text(self) -> str:
        if self._streaming:
            return "".join(self._frozen_parts) + self._tail_text
        return self.message.content

    def set_content(self, text: str) -> None:
        self.message.content = text
        if self.message.role == "user":
            self.body.setPlainText(text)
            self._code_blocks = []
        else:
            rendered = self.renderer.render(text)
            self.body.setHtml(rendered.html)
            self._code_blocks = rendered.code_blocks

    def begin_stream(self, initial: str = "") -> None:
        self._streaming = True
        self._frozen_parts = []
        self._tail_text = initial
        self._code_blocks, self._tail_blocks = [], []
        self.body.clear()
        self.body.hide()  # until the first complete block arrives
        self.tail.clear()
        self.tail.show()
        self.footer.setText("Reading the prompt…" if not initial else "")
        self.footer.setVisible(not initial)
        self._dirty = True
        self.render_pending()

    def append(self, piece: str) -> None:
        self._tail_text += piece
        self._dirty = True

    def render_pending(self) -> None:
        """Show what arrived since the last repaint (called by the view's repaint timer)."""
        if not self._streaming or not self._dirty:
            return
        self._dirty = False
        if self._tail_text and self.footer.isVisible():
            self.footer.hide()
        n = split_stable(self._tail_text)
        if n:
            chunk, self._tail_text = self._tail_text[:n], self._tail_text[n:]
            rendered = self.renderer.render(chunk, block_base=len(self._code_blocks))
            self.body.show()
            self.body.append_html(rendered.html)
            self._code_blocks += rendered.code_blocks
            self._frozen_parts.append(chunk)
        tail = self.renderer.render(self._tail_text, block_base=len(self._code_blocks))
        self._tail_blocks = tail.code_blocks
        self.tail.setHtml(tail.html)

    def end_stream(self, text: str) -> None:
        """The reply is complete: render it whole, once."""
        self._streaming = False
        self._dirty = False
        self.tail.clear()
        self.tail.hide()
        self.body.show()
        self.set_content(text)

    def set_state(self, state: str, stats: dict[str, Any] | None = None, error: str = "") -> None:
        self.message.state = state
        if stats is not None:
            self.message.stats = stats
        notes = {
            "stopped": "Stopped by you.",
            "interrupted": "Interrupted: Hearth closed before the reply finished.",
            "error": f"Failed: {error}" if error else "Failed.",
        }
        figures = format_stats(self.message.stats) if self.message.role == "assistant" else ""
        line = " ".join(x for x in (notes.get(state, ""), figures) if x)
        self.footer.setText(line)
        self.footer.setVisible(bool(line))
        self.retry_btn.setVisible(
            self.message.role == "assistant" and state in ("error", "interrupted")
        )

    def set_out_of_context(self, out: bool) -> None:
        self.context_note.setVisible(out)
        self.setProperty("outOfContext", out)
        self.body.setEnabled(not out)

    # -- clipboard ------------------------------------------------------------------------------

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.text)

    def _copy_block(self, index: int) -> None:
        blocks = self._code_blocks + self._tail_blocks
        if 0 <= index < len(blocks):
            QGuiApplication.clipboard().setText(blocks[index])


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

    def set_palette(self, palette: Palette) -> None:
        self.renderer = MarkdownRenderer(palette)
        for w in self.widgets:
            w.renderer = self.renderer
            if w is not self.streaming:
                w.set_content(w.message.content)

    # -- building ---------------------------------------------------------------------------------

    def clear(self) -> None:
        self.stop_stream_timer()
        self.streaming = None
        for w in self.widgets:
            w.setParent(None)
            w.deleteLater()
        self.widgets = []
        self._update_actions()

    def set_messages(self, messages: list[Message], titles: dict[int, str] | None = None) -> None:
        self.clear()
        for m in messages:
            self.add_message(m, (titles or {}).get(m.id))
        self._stick = True
        self._update_actions()
        QTimer.singleShot(0, self.scroll_to_bottom)

    def _title_for(self, m: Message, override: str | None) -> str:
        if override:
            return override
        if m.role == "user":
            return "You"
        if m.role == "system":
            return "System"
        if m.model:
            from pathlib import Path

            return Path(m.model).stem
        return self.model_title

    def add_message(self, message: Message, title: str | None = None) -> MessageWidget:
        w = MessageWidget(message, self.renderer, self._title_for(message, title), self._history)
        w.editRequested.connect(self.editRequested)
        w.regenerateRequested.connect(self.regenerateRequested)
        w.retryRequested.connect(self.retryRequested)
        w.linkOpened.connect(self.linkActivated)
        self._hist_layout.addWidget(w)
        self.widgets.append(w)
        self._update_actions()
        return w

    def remove_after(self, widget: MessageWidget) -> None:
        """Remove every message shown after ``widget``."""
        i = self.widgets.index(widget)
        for w in self.widgets[i + 1 :]:
            if w is self.streaming:
                self.streaming = None
            w.setParent(None)
            w.deleteLater()
        self.widgets = self.widgets[: i + 1]
        self._update_actions()

    def remove_widget(self, widget: MessageWidget) -> None:
        if widget in self.widgets:
            self.widgets.remove(widget)
            widget.setParent(None)
            widget.deleteLater()
        self._update_actions()

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
                and w.message.state not in ("error",)
            )

    def set_busy(self, busy: bool) -> None:
        for w in self.widgets:
            w.edit_btn.setEnabled(not busy)
            w.regen_btn.setEnabled(not busy)
            w.retry_btn.setEnabled(not busy)

    def mark_out_of_context(self, dropped: int) -> None:
        """Dim the ``dropped`` oldest non-system messages, which the model no longer sees."""
        seen = 0
        for w in self.widgets:
            if w.message.role == "system":
                continue
            w.set_out_of_context(seen < dropped and w is not self.streaming)
            seen += 1

    # -- streaming --------------------------------------------------------------------------------

    def start_stream(self, widget: MessageWidget, initial: str = "") -> None:
        self.streaming = widget
        if widget is self.widgets[-1]:
            self._hist_layout.removeWidget(widget)
            self._live_layout.addWidget(widget)
            widget.show()  # a moved widget is hidden until shown again
        widget.begin_stream(initial)
        self._update_actions()
        self._timer.start()

    def stream_append(self, piece: str) -> None:
        if self.streaming is not None:
            self.streaming.append(piece)

    def _repaint_stream(self) -> None:
        if self.streaming is not None:
            self.streaming.render_pending()

    def _settle(self, w: MessageWidget) -> None:
        """Move a finished reply from the live box to the end of the history box."""
        if w.parentWidget() is self._live:
            self._live_layout.removeWidget(w)
            self._hist_layout.addWidget(w)
            w.show()

    def stop_stream_timer(self) -> None:
        self._timer.stop()

    def finish_stream(self, text: str) -> None:
        w = self.streaming
        self._timer.stop()
        if w is not None:
            w.end_stream(text)
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
