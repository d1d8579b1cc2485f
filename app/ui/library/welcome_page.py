"""The welcome screen, shown while Hearth has no model: three ways to get one.

WelcomePage signals:
    starterRequested()   chat with the starter model a packaged build carries
    hubRequested()       open the Hub page
    folderRequested()    add a folder of models the user already has
    fileRequested()      open one .gguf file
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal, SignalInstance
from PySide6.QtGui import QKeyEvent, QMouseEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.units import human_bytes
from app.ui.common.theme import icon


class ChoiceCard(QFrame):
    """A large clickable choice: an icon, a title in bold and a wrapped line of explanation.

    Signals: clicked()"""

    clicked = Signal()

    def __init__(self, title: str, detail: str, icon_name: str = "") -> None:
        super().__init__()
        self.setObjectName("choiceCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(14, 12, 16, 12)
        row.setSpacing(12)
        if icon_name:
            # A tool button only draws the icon (in the theme's colours); the card takes clicks.
            mark = QToolButton()
            mark.setObjectName("choiceIcon")
            mark.setIcon(icon(icon_name))
            mark.setIconSize(QSize(24, 24))
            mark.setAutoRaise(True)
            mark.setCheckable(True)
            mark.setChecked(True)  # drawn in the accent colour
            mark.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            mark.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            row.addWidget(mark, 0, Qt.AlignmentFlag.AlignTop)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.title = QLabel(title)
        self.title.setObjectName("choiceTitle")
        self.detail = QLabel(detail)
        self.detail.setWordWrap(True)
        self.detail.setObjectName("mutedLabel")
        text.addWidget(self.title)
        text.addWidget(self.detail)
        row.addLayout(text, 1)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.clicked.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.clicked.emit()
        else:
            super().keyPressEvent(event)


class WelcomePage(QWidget):
    starterRequested = Signal()
    hubRequested = Signal()
    folderRequested = Signal()
    fileRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QWidget()
        box.setFixedWidth(560)
        lay = QVBoxLayout(box)
        lay.setSpacing(10)
        title = QLabel("Welcome to Hearth")
        title.setObjectName("welcomeTitle")
        lay.addWidget(title)
        intro = QLabel(
            "Chat with language models that run on this computer. What you write stays here. "
            "To begin, Hearth needs a model:"
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        lay.addSpacing(6)
        self.starter = self._choice(
            "Chat with SmolLM2 135M",
            "Included with Hearth, works offline. Small and quick, good for trying things out.",
            self.starterRequested,
            "nav-chats",
        )
        self.hub = self._choice(
            "Find a model on the Hugging Face Hub",
            "Search thousands of models; Hearth says which fit this computer before you download.",
            self.hubRequested,
            "nav-hub",
        )
        self.folder = self._choice(
            "Add a folder of models…",
            "Use GGUF files you already have (from LM Studio, GPT4All, Jan…) where they are.",
            self.folderRequested,
            "folder",
        )
        for w in (self.starter, self.hub, self.folder):
            lay.addWidget(w)
        self.open_file = QPushButton("Or open a single .gguf file…")
        self.open_file.setFlat(True)
        self.open_file.setCursor(Qt.CursorShape.PointingHandCursor)
        self.open_file.clicked.connect(self.fileRequested)
        lay.addWidget(self.open_file, 0, Qt.AlignmentFlag.AlignLeft)
        row = QHBoxLayout()  # stretches, not alignment: the wrapped text keeps its full height
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.set_starter(None)

    def _choice(
        self, title: str, detail: str, signal: SignalInstance, icon_name: str
    ) -> ChoiceCard:
        card = ChoiceCard(title, detail, icon_name)
        card.clicked.connect(signal)
        return card

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        first = next(c for c in (self.starter, self.hub, self.folder) if not c.isHidden())
        first.setFocus()  # Enter takes the first choice

    def set_starter(self, size: int | None) -> None:
        """Offer the bundled starter model (its size in bytes), or hide the choice (None)."""
        self.starter.setVisible(size is not None)
        if size is not None:
            self.starter.detail.setText(
                f"Included with Hearth ({human_bytes(size)}), works offline. Small and quick, "
                "good for trying things out."
            )
