"""Light, dark or system theme: Qt's Fusion style, a palette and Hearth's stylesheet from one set
of colours, and monochrome SVG icons tinted to the theme.

The stylesheet (resources/style.qss) names colours as @KEY@ placeholders filled from ``LIGHT`` or
``DARK``; ``@ICONS@`` is the folder of the icons it uses. Icons from ``icon`` are drawn from their
SVG at the size and pixel ratio asked for, so they stay crisp on high-DPI screens, in the colours
of the theme current when they are painted: a theme switch retints them.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from app.core.resources import read_text, resource_path

LIGHT = {
    "BG": "#ffffff",  # pages, the chat
    "SURFACE": "#ffffff",  # inputs, lists, cards
    "RAISED": "#ffffff",  # menus, tooltips
    "SIDEBAR": "#f6f7f9",
    "RAIL_BG": "#eef0f3",
    "TEXT": "#1d2026",
    "MUTED": "#737983",
    "ICON": "#5b616b",
    "DISABLED": "#a3a8b0",
    "BORDER": "#e3e5e9",
    "BORDER_STRONG": "#c9cdd4",
    "CHECK_BORDER": "#80868f",  # an unchecked box: plainly visible on SURFACE
    "HOVER": "#f0f1f4",
    "PRESSED": "#e3e6ea",
    "ACCENT": "#d9580f",
    "ACCENT_HOVER": "#c24d0b",
    "ACCENT_PRESSED": "#a64209",
    "ACCENT_TEXT": "#ffffff",
    "ACCENT_STRONG": "#b3460a",  # accent text on the soft accent
    "ACCENT_SOFT": "#fcebdf",
    "SELECTION": "#e6e9ee",
    "FOCUS": "#e8925a",
    "USER_BG": "#f1f3f6",
    "DIM_BG": "#f3f3f3",
    "ALT_ROW": "#fafbfc",
    "SCROLL": "#c9cdd4",
    "SCROLL_HOVER": "#a9aeb6",
    "LINK": "#2563eb",
    "INFO_BG": "#eaf1fe",
    "INFO_BORDER": "#c9dafc",
    "WARNING_BG": "#fff5db",
    "WARNING_BORDER": "#f2dc9b",
    "ERROR_BG": "#fdeceb",
    "ERROR_BORDER": "#f5c2bf",
}
DARK = {
    "BG": "#1c1d21",
    "SURFACE": "#24262b",
    "RAISED": "#2b2e34",
    "SIDEBAR": "#202125",
    "RAIL_BG": "#17181b",
    "TEXT": "#e6e7ea",
    "MUTED": "#9a9fa8",
    "ICON": "#a3a8b1",
    "DISABLED": "#62666e",
    "BORDER": "#2f3238",
    "BORDER_STRONG": "#464a52",
    "CHECK_BORDER": "#8d939d",
    "HOVER": "#2a2c31",
    "PRESSED": "#35383f",
    "ACCENT": "#e0651a",
    "ACCENT_HOVER": "#ea7530",
    "ACCENT_PRESSED": "#c85813",
    "ACCENT_TEXT": "#ffffff",
    "ACCENT_STRONG": "#f59a5c",
    "ACCENT_SOFT": "#3a2a1f",
    "SELECTION": "#34373e",
    "FOCUS": "#b8591c",
    "USER_BG": "#2a2d34",
    "DIM_BG": "#222327",
    "ALT_ROW": "#27292e",
    "SCROLL": "#3f434b",
    "SCROLL_HOVER": "#565b64",
    "LINK": "#7aa2f7",
    "INFO_BG": "#1f2a3d",
    "INFO_BORDER": "#2e4266",
    "WARNING_BG": "#3a3118",
    "WARNING_BORDER": "#5c4c1f",
    "ERROR_BG": "#3f2224",
    "ERROR_BORDER": "#6a3033",
}

_dark = False  # the theme applied last


def is_dark() -> bool:
    """Whether the theme applied last is dark."""
    return _dark


def colors() -> dict[str, str]:
    """The current theme's colours, by the stylesheet's names."""
    return DARK if _dark else LIGHT


def _palette(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    text = QColor(c["TEXT"])
    for r, key in (
        (role.Window, "BG"),
        (role.Base, "SURFACE"),
        (role.AlternateBase, "ALT_ROW"),
        (role.Button, "SURFACE"),
        (role.ToolTipBase, "RAISED"),
        (role.Highlight, "SELECTION"),
        (role.Link, "LINK"),
        (role.LinkVisited, "LINK"),
        (role.PlaceholderText, "MUTED"),
        (role.Light, "SURFACE"),
        (role.Midlight, "BORDER"),
        (role.Mid, "BORDER_STRONG"),
        (role.Dark, "BORDER_STRONG"),
        (role.Accent, "ACCENT"),
    ):
        p.setColor(r, QColor(c[key]))
    for r in (role.WindowText, role.Text, role.ButtonText, role.ToolTipText, role.HighlightedText):
        p.setColor(r, text)
    p.setColor(role.BrightText, QColor(c["ACCENT_TEXT"]))
    p.setColor(role.Shadow, QColor("#000000"))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(group.Disabled, r, QColor(c["DISABLED"]))
    return p


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def stylesheet(dark: bool) -> str:
    """Hearth's stylesheet with the colours of the light or dark theme."""
    sheet = read_text("style.qss")
    sheet = sheet.replace("@ICONS@", resource_path("icons").as_posix())
    for key, value in (DARK if dark else LIGHT).items():
        sheet = sheet.replace(f"@{key}@", value)
    return sheet


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply ``theme`` ("system", "light" or "dark"); returns whether the result is dark."""
    global _dark
    app.setStyle("Fusion")
    dark = theme == "dark" or (theme == "system" and system_prefers_dark())
    _dark = dark
    app.setPalette(_palette(DARK if dark else LIGHT))
    app.setStyleSheet(stylesheet(dark))
    return dark


class _TintedSvg(QIconEngine):
    """A monochrome SVG (drawn in ``currentColor``) in the theme's colours: the icon colour,
    the text colour under the pointer, the accent when checked, and the disabled grey."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self._svg = read_text(f"icons/{name}.svg")
        self._renderers: dict[str, QSvgRenderer] = {}

    def _renderer(self, mode: QIcon.Mode, state: QIcon.State) -> QSvgRenderer:
        c = colors()
        if mode == QIcon.Mode.Disabled:
            color = c["DISABLED"]
        elif state == QIcon.State.On:
            color = c["ACCENT_STRONG"]
        elif mode in (QIcon.Mode.Active, QIcon.Mode.Selected):
            color = c["TEXT"]
        else:
            color = c["ICON"]
        renderer = self._renderers.get(color)
        if renderer is None:
            data = QByteArray(self._svg.replace("currentColor", color).encode())
            renderer = self._renderers[color] = QSvgRenderer(data)
        return renderer

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        self._renderer(mode, state).render(painter, QRectF(rect))

    def scaledPixmap(
        self, size: QSize, mode: QIcon.Mode, state: QIcon.State, scale: float
    ) -> QPixmap:
        pixmap = QPixmap(size * scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self._renderer(mode, state).render(painter, QRectF(pixmap.rect()))
        painter.end()
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        return self.scaledPixmap(size, mode, state, 1.0)

    def clone(self) -> QIconEngine:
        return _TintedSvg(self.name)

    def key(self) -> str:
        return "hearth-tinted-svg"


def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``, tinted to the theme."""
    return QIcon(_TintedSvg(name))
