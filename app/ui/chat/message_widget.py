"""One message of the chat view: who, the text (markdown for replies), actions, and figures.

A streaming reply is one document: a frozen part (complete markdown blocks, rendered once and
appended) and a tail (the block still being written, replaced on each repaint tick). The cost of
a token therefore depends on the size of the last block, not on the length of the reply or of the
conversation; a finished block never moves, and the reply is not rendered again when it ends
(the text shown is already the whole reply's).

A reply's thinking (``Message.reasoning``) is a collapsible "Thinking" section above the answer:
it streams open while the model thinks, folds away when the answer starts, and its header then
says how long the model thought; a click opens it again. Copy gives the answer only.

MessageWidget signals:
    editRequested(object)    this widget (a user's message)
    regenerateRequested()
    retryRequested()
    linkOpened(str)
"""

from __future__ import annotations

import html
import time
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QGuiApplication,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextOption,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat.store import Message
from app.ui.common.markdown_html import MarkdownRenderer, split_stable


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
        width = self.viewport().width()
        if self.document().textWidth() != width:  # a height change needs no new layout
            self.document().setTextWidth(width)
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
        """Add ``fragment``'s blocks after the document's, as they would be in one whole
        document: its first block is not merged into the last one, and no empty block is left
        between them."""
        fragment = fragment.strip()
        doc = self.document()
        if doc.isEmpty():
            self.setHtml(fragment)
            return
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
        start = cursor.position()
        cursor.insertHtml(fragment)
        block = doc.findBlock(start)
        if block.length() == 1 and block.next().isValid():
            # A list, table or code block starts a block of its own after the empty one.
            cursor.setPosition(block.position() - 1)
            cursor.deleteChar()
        else:
            # The first paragraph went into the new block, whose format it did not take: give
            # it the format (margins) it has in a document of its own.
            alone = QTextDocument()
            alone.setHtml(fragment)
            cursor.setPosition(start)
            cursor.setBlockFormat(alone.begin().blockFormat())

    def end_position(self) -> int:
        """Where the next ``append_html`` starts (the tail's place)."""
        return self.document().characterCount() - 1

    def cut_from(self, position: int) -> None:
        """Remove everything from ``position`` (an ``end_position``) to the end: the last tail,
        with the block break before it, before it is drawn again."""
        if position <= 0:
            self.clear()  # nothing frozen: start from a clean document
            return
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()


class MessageWidget(QFrame):
    """One message, drawn from ``message`` (read, never changed): who, the text, actions, and
    figures or state underneath."""

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
        self._title = title
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

        self.thinking_btn = QToolButton(self)
        self.thinking_btn.setObjectName("thinkingHeader")
        self.thinking_btn.setCheckable(True)
        self.thinking_btn.setAutoRaise(True)
        self.thinking_btn.setCursor(Qt.CursorShape.PointingHandCursor)
        self.thinking_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.thinking_btn.setToolTip("Show or hide the model's thinking")
        self.thinking_btn.toggled.connect(self._set_thinking_open)
        self.thinking_btn.hide()
        self.thinking = MessageBody(self)
        self.thinking.setObjectName("thinkingBody")
        self.thinking.setStyleSheet(
            "QTextBrowser { background: transparent; color: palette(placeholder-text); }"
        )
        self.thinking.hide()
        lay.addWidget(self.thinking_btn)
        lay.addWidget(self.thinking)

        self.body = MessageBody(self)
        self.body.copyBlock.connect(self._copy_block)
        self.body.linkOpened.connect(self.linkOpened)
        lay.addWidget(self.body)
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
        self._tail_at: int | None = None  # where the tail starts in the body's document
        self._streaming = False
        self._dirty = False
        self._reasoning = ""  # the thinking shown (streamed so far, or the message's)
        self._reasoning_new = ""  # streamed and not yet drawn
        self._think_start: float | None = None
        self.thought_s: float | None = None  # from the first thinking piece to the first answer's
        self.refresh()

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

    @property
    def reasoning(self) -> str:
        return self._reasoning + self._reasoning_new

    def refresh(self, error: str = "") -> None:
        """Draw the message's text and state again (after the session changed it)."""
        self.show_text(self.message.content)
        self.show_reasoning(self.message.reasoning or "")
        self.show_state(error)

    # -- thinking -------------------------------------------------------------------------------

    def show_reasoning(self, text: str, seconds: float | None = None) -> None:
        """Show ``text`` as the finished thinking, folded (none: no section)."""
        self._reasoning, self._reasoning_new = text, ""
        if seconds is None:
            stats = self.message.stats or {}
            got = stats.get("thinking_s")
            seconds = float(got) if isinstance(got, (int, float)) else self.thought_s
        self.thought_s = seconds
        self.thinking.setPlainText(text)
        self.thinking_btn.setVisible(bool(text))
        self._header()
        self.thinking_btn.setChecked(False)
        self._set_thinking_open(False)

    def append_reasoning(self, piece: str) -> None:
        if not piece:
            return
        if self._think_start is None:
            self._think_start = time.monotonic()
            self.thinking_btn.show()
            self.thinking_btn.setChecked(True)  # open while the model thinks
            self._header()
        self._reasoning_new += piece
        self._dirty = True

    def _end_thinking(self) -> None:
        """The answer started (or the reply ended): fold the thinking and say how long it took."""
        if self._think_start is None or self.thought_s is not None:
            return
        self.thought_s = time.monotonic() - self._think_start
        self._header()
        self.thinking_btn.setChecked(False)

    @property
    def thinking_now(self) -> bool:
        return self._think_start is not None and self.thought_s is None

    def _header(self) -> None:
        if self.thinking_now:
            label = "Thinking…"
        elif self.thought_s is not None:
            label = f"Thought for {max(1, round(self.thought_s))} s"
        else:
            label = "Thinking"
        self.thinking_btn.setText(label)

    def _set_thinking_open(self, open_: bool) -> None:
        self.thinking_btn.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        self.thinking.setVisible(open_ and self.thinking_btn.isVisible())

    def show_text(self, text: str) -> None:
        if self.message.role == "user":
            self.body.setPlainText(text)
            self._code_blocks = []
        else:
            rendered = self.renderer.render(text)
            self.body.setHtml(rendered.html.strip())
            self._code_blocks = rendered.code_blocks

    def begin_stream(self, initial: str = "", reasoning: str = "") -> None:
        self._streaming = True
        self._frozen_parts = []
        self._tail_text = initial
        self._tail_at = None
        self._code_blocks, self._tail_blocks = [], []
        self.body.clear()
        self.footer.setText("Reading the prompt…" if not initial else "")
        self.footer.setVisible(not initial)
        self._think_start, self.thought_s = None, None
        self.show_reasoning("", None)
        if reasoning:
            self.append_reasoning(reasoning)
            if initial:
                self._end_thinking()
        self._dirty = True
        self.render_pending()

    def append(self, piece: str) -> None:
        if piece and self.thinking_now:
            self._end_thinking()
        self._tail_text += piece
        self._dirty = True

    def render_pending(self) -> None:
        """Show what arrived since the last repaint (called by the view's repaint timer)."""
        if not self._streaming or not self._dirty:
            return
        self._dirty = False
        if (self._tail_text or self._reasoning_new) and self.footer.isVisible():
            self.footer.hide()
        if self._reasoning_new:
            cursor = QTextCursor(self.thinking.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(self._reasoning_new)
            self._reasoning += self._reasoning_new
            self._reasoning_new = ""
        self._draw_tail(split_stable(self._tail_text))

    def _draw_tail(self, freeze: int) -> None:
        """Replace the tail drawn last with the text not yet frozen; its first ``freeze``
        characters (complete blocks) become frozen."""
        batch = QTextCursor(self.body.document())
        batch.beginEditBlock()  # one layout for the whole change
        try:
            self._replace_tail(freeze)
        finally:
            batch.endEditBlock()

    def _replace_tail(self, freeze: int) -> None:
        if self._tail_at is not None:
            self.body.cut_from(self._tail_at)
            self._tail_at = None
        if freeze:
            chunk, self._tail_text = self._tail_text[:freeze], self._tail_text[freeze:]
            rendered = self.renderer.render(chunk, block_base=len(self._code_blocks))
            self.body.append_html(rendered.html)
            self._code_blocks += rendered.code_blocks
            self._frozen_parts.append(chunk)
        self._tail_blocks = []
        if self._tail_text.strip():
            tail = self.renderer.render(self._tail_text, block_base=len(self._code_blocks))
            self._tail_blocks = tail.code_blocks
            self._tail_at = self.body.end_position()
            self.body.append_html(tail.html)

    def end_stream(self, text: str, error: str = "", reasoning: str | None = None) -> None:
        """The reply is complete: render it (``text``) whole, once, with its thinking
        (``reasoning``; None: what streamed) folded."""
        self._end_thinking()
        if self._streaming and text == "".join(self._frozen_parts) + self._tail_text:
            # What is shown is the whole reply: its last block is frozen where it stands.
            self._draw_tail(len(self._tail_text))
        else:
            self.show_text(text)
        self._streaming = False
        self._dirty = False
        self._tail_at = None
        self.show_reasoning(self.reasoning if reasoning is None else reasoning, self.thought_s)
        self.show_state(error)

    def show_state(self, error: str = "") -> None:
        state = self.message.state
        if not error and state == "error":  # the reason was saved with the reply
            saved = (self.message.stats or {}).get("error")
            error = saved if isinstance(saved, str) else ""
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
        self._copied("Copied")

    def _copy_block(self, index: int) -> None:
        blocks = self._code_blocks + self._tail_blocks
        if 0 <= index < len(blocks):
            QGuiApplication.clipboard().setText(blocks[index])
            self._copied("Code copied")

    def _copied(self, text: str) -> None:
        """Say on the Copy button, for a moment, that the clipboard has it."""
        self.copy_btn.setText(f"✓ {text}")
        QTimer.singleShot(1500, self._copy_label_back)

    def _copy_label_back(self) -> None:
        self.copy_btn.setText("Copy")

    def set_editing(self, editing: bool) -> None:
        """Mark this message as the one being edited in the composer."""
        self.setProperty("editing", editing)
        self.title.setText(
            f"<b>{html.escape(self._title)}</b>" + (" · <i>editing below</i>" if editing else "")
        )
        self.setStyleSheet(
            "#userMessage { border-left: 3px solid palette(highlight); }" if editing else ""
        )
