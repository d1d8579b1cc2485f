"""Light, dark or system theme: Qt's Fusion style, its palette, and Hearth's stylesheet."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.core.resources import read_text

LIGHT = {
    "SIDEBAR": "#f1f2f5",
    "USER_BG": "#e8eefc",
    "ASSIST_BG": "#ffffff",
    "DIM_BG": "#eeeeee",
    "MUTED": "#6b7280",
    "NOTICE_BG": "#fff4d6",
    "ERROR_BG": "#fde2e1",
    "CHAT_BG": "#f7f7f9",
    "BORDER": "#c9ced6",
    "INPUT_BG": "#ffffff",
}
DARK = {
    "SIDEBAR": "#1b1d22",
    "USER_BG": "#27324a",
    "ASSIST_BG": "#23262c",
    "DIM_BG": "#1e1f22",
    "MUTED": "#9ca3af",
    "NOTICE_BG": "#4a3d17",
    "ERROR_BG": "#5a2323",
    "CHAT_BG": "#17181c",
    "BORDER": "#3c414b",
    "INPUT_BG": "#1f2227",
}


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor("#1f2227"), QColor("#23262c"), QColor("#e6e6e6")
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor("#2c3038"))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.ToolTipBase, window)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Highlight, QColor("#3d5a99"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorRole.Link, QColor("#7aa2f7"))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#8b919b"))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#777b83"))
    return p


def system_prefers_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, theme: str) -> bool:
    """Apply ``theme`` ("system", "light" or "dark"); returns whether the result is dark."""
    app.setStyle("Fusion")
    dark = theme == "dark" or (theme == "system" and system_prefers_dark())
    app.setPalette(_dark_palette() if dark else app.style().standardPalette())
    sheet = read_text("style.qss")
    for key, value in (DARK if dark else LIGHT).items():
        sheet = sheet.replace(f"@{key}@", value)
    app.setStyleSheet(sheet)
    return dark
