"""The navigation rail on the window's left: the app's mark, one button per page (an icon over a
short label) and Settings at the bottom.

Each button stands for a QAction the window owns (its text, check state, tooltip and shortcut);
the rail only draws it. A page's text may carry a count after a middle dot ("Hub · 1 paused"):
the rail shows it on a second line under the page's name.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QFrame, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from app.ui.common.theme import icon

ICON_SIZE = 22  # device-independent pixels: Qt scales them, and the SVG is drawn at that size


def rail_label(text: str) -> str:
    """The button's label for an action's text: "Hub · 1 paused" -> "Hub\\n1 paused"."""
    name, _, count = text.replace("&", "").removesuffix("…").partition(" · ")
    return f"{name}\n{count}" if count else name


class NavRail(QFrame):
    """The rail; ``add`` puts an action's button in it (``bottom``: under the stretch)."""

    def __init__(self, logo: QIcon | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("navRail")
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(6, 10, 6, 10)
        self._lay.setSpacing(4)
        if logo is not None and not logo.isNull():
            # A tool button draws the icon at the screen's pixel ratio when it paints.
            mark = QToolButton(self)
            mark.setObjectName("railLogo")
            mark.setIcon(logo)
            mark.setIconSize(QSize(30, 30))
            mark.setAutoRaise(True)
            mark.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            mark.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            mark.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self._lay.addWidget(mark)
            self._lay.addSpacing(6)
        self._stretch_at = self._lay.count()
        self._lay.addStretch(1)
        self.buttons: dict[QAction, QToolButton] = {}

    def add(self, action: QAction, icon_name: str, bottom: bool = False) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("railButton")
        button.setIcon(icon(icon_name))
        button.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        button.setCheckable(action.isCheckable())
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        button.clicked.connect(lambda _=False: self._trigger(action))
        action.changed.connect(lambda: self._sync(action))
        action.toggled.connect(lambda _on: self._sync(action))
        self.buttons[action] = button
        if bottom:
            self._lay.addWidget(button)
        else:
            self._lay.insertWidget(self._stretch_at, button)
            self._stretch_at += 1
        self._sync(action)
        return button

    def _trigger(self, action: QAction) -> None:
        action.trigger()
        self._sync(action)  # a click on the page shown leaves its button checked

    def _sync(self, action: QAction) -> None:
        button = self.buttons.get(action)
        if button is None:
            return
        button.setText(rail_label(action.text()))
        button.setChecked(action.isChecked())
        button.setEnabled(action.isEnabled())
        tip = action.toolTip() or rail_label(action.text()).replace("\n", " · ")
        keys = action.shortcut().toString(action.shortcut().SequenceFormat.NativeText)
        button.setToolTip(f"{tip} ({keys})" if keys else tip)
        button.setAccessibleName(action.text().replace("&", ""))
