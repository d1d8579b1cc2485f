"""A box for an exact context length in tokens: any length in range, typed or stepped."""

from __future__ import annotations

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QSpinBox, QWidget

MIN_CTX = 256  # the shortest context worth loading
UNKNOWN_MAX_CTX = 1 << 20  # for a model that does not say what context it was trained for


class ContextSpin(QSpinBox):
    """Shows "32,768 tokens" and takes 12288 or 12,288 typed. A typed length above the maximum
    is let through while typing and becomes the maximum on Enter or leaving the box, where a
    plain spin box would silently refuse the last digit (200000 would stay 20000)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(MIN_CTX, UNKNOWN_MAX_CTX)
        self.setSingleStep(MIN_CTX)
        self.setSuffix(" tokens")
        self.setGroupSeparatorShown(True)
        self.setCorrectionMode(QSpinBox.CorrectionMode.CorrectToNearestValue)
        self.setAccessibleName("Context length in tokens")

    def _typed(self, text: str) -> int | None:
        """The number in the box's text, with or without separators; None when it is not one."""
        text = text.strip().removesuffix(self.suffix().strip())
        for sep in {self.locale().groupSeparator(), ",", " ", "\u00a0", "\u202f"}:
            text = text.replace(sep, "")
        return int(text) if text.isdigit() else None

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Invalid:
            n = self._typed(text)
            if n is not None and n > self.maximum():
                state = QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        n = self._typed(text)
        if n is None:
            return super().fixup(text)
        return self.textFromValue(min(max(n, self.minimum()), self.maximum())) + self.suffix()
