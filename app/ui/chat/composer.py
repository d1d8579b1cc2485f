"""The message input: Enter or Ctrl+Enter sends, Shift+Enter starts a new line; Send turns into Stop.

Composer signals:
    sendRequested(str)
    stopRequested()
    editCancelled()
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.chat.store import Message


class _Input(QPlainTextEdit):
    submit = Signal()
    cancel = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mods = event.modifiers()
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
            if not mods & ~(
                Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.KeypadModifier
            ):
                self.submit.emit()
                return
        if event.key() == Qt.Key.Key_Escape:
            self.cancel.emit()
            event.ignore()
            return
        super().keyPressEvent(event)


class Composer(QWidget):
    sendRequested = Signal(str)
    stopRequested = Signal()
    editCancelled = Signal()

    MAX_LINES = 10

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 10, 10)
        outer.setSpacing(4)
        self.edit_banner = QWidget()
        banner = QHBoxLayout(self.edit_banner)
        banner.setContentsMargins(0, 0, 0, 0)
        self.edit_label = QLabel(
            "Editing a message: sending replaces it and every message after it."
        )
        self.edit_label.setObjectName("mutedLabel")
        cancel = QToolButton()
        cancel.setText("Cancel")
        cancel.setAutoRaise(True)
        cancel.clicked.connect(self.cancel_edit)
        banner.addWidget(self.edit_label, 1)
        banner.addWidget(cancel)
        self.edit_banner.hide()
        outer.addWidget(self.edit_banner)

        # The input and the Send button share one rounded box (#composerBox in the stylesheet).
        self.box = QFrame()
        self.box.setObjectName("composerBox")
        row = QHBoxLayout(self.box)
        row.setContentsMargins(8, 6, 6, 6)
        row.setSpacing(8)
        self.input = _Input()
        self.input.setPlaceholderText(
            "Message the model… (Enter sends, Shift+Enter for a new line)"
        )
        self.input.setTabChangesFocus(True)
        self.input.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.input.submit.connect(self._on_submit)
        self.input.cancel.connect(self._on_escape)
        self.input.document().contentsChanged.connect(self._fit)
        row.addWidget(self.input, 1)
        self.button = QPushButton("Send")
        self.button.setObjectName("sendButton")
        self.button.setDefault(False)
        self.button.setAutoDefault(False)
        self.button.clicked.connect(self._on_button)
        row.addWidget(self.button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addWidget(self.box)
        self._busy = False
        self.editing: Message | None = None  # the user message being edited, if any
        self._fit()

    def _fit(self) -> None:
        fm = self.input.fontMetrics()
        wanted = int(self.input.document().size().height())
        lines = max(1, min(self.MAX_LINES, wanted))
        self.input.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAsNeeded
            if wanted > self.MAX_LINES
            else Qt.ScrollBarPolicy.ScrollBarAlwaysOff
        )
        margins = self.input.contentsMargins()
        frame = (
            int(self.input.document().documentMargin() * 2) + margins.top() + margins.bottom() + 4
        )
        self.input.setFixedHeight(lines * fm.lineSpacing() + frame)

    @property
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        """While a reply streams, the button stops it and sending waits."""
        self._busy = busy
        self.button.setText("Stop" if busy else "Send")
        self.button.setToolTip("Stop the reply (Esc)" if busy else "Send (Enter)")

    def text(self) -> str:
        return self.input.toPlainText()

    def set_text(self, text: str) -> None:
        self.input.setPlainText(text)
        cursor = self.input.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.input.setTextCursor(cursor)

    def begin_edit(self, message: Message, text: str) -> None:
        self.editing = message
        self.edit_banner.show()
        self.set_text(text)
        self.input.setFocus()

    def cancel_edit(self) -> None:
        if self.editing is not None:
            self.editing = None
            self.edit_banner.hide()
            self.input.clear()
            self.editCancelled.emit()

    def _on_escape(self) -> None:
        if self._busy:
            self.stopRequested.emit()
        else:
            self.cancel_edit()

    def _on_button(self) -> None:
        if self._busy:
            self.stopRequested.emit()
        else:
            self._on_submit()

    def _on_submit(self) -> None:
        if self._busy:
            return
        text = self.text()
        if not text.strip():
            return
        self.sendRequested.emit(text)

    def sent(self) -> None:
        """The message was taken: clear the input and leave edit mode."""
        self.input.clear()
        self.editing = None
        self.edit_banner.hide()
