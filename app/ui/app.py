"""Start the desktop app: Qt application, theme, message channel, engine, store and main window."""

from __future__ import annotations

import argparse
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from app import __version__
from app.core import paths
from app.core.resources import resource_path
from app.core.settings import Settings, load_settings
from app.core.store import ChatStore, StoreError
from app.ui import messages
from app.ui.engine_bridge import EngineBridge
from app.ui.main_window import MainWindow
from app.ui.tasks import DbQueue
from app.ui.theme import apply_theme


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hearth", add_help=False)
    parser.add_argument("--basedir")
    parser.add_argument("gui", nargs="?")
    args, _unknown = parser.parse_known_args(argv)
    return args


def app_icon() -> QIcon:
    return QIcon(str(resource_path("hearth.svg")))


def build_window(settings: Settings, app: QApplication) -> MainWindow:
    """Everything but ``exec``: used by ``run_app`` and by the GUI tests."""
    db = DbQueue(lambda: ChatStore(paths.chats_db_path()))
    bridge = EngineBridge()
    dark = apply_theme(app, settings.theme)
    window = MainWindow(
        settings,
        db,
        bridge,
        dark=dark,
        icon=app_icon(),
        apply_theme=lambda theme: apply_theme(app, theme),
    )
    return window


def run_app(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.basedir:
        paths.set_base_dir(args.basedir)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("hearth")
    app.setWindowIcon(app_icon())
    messages.install_excepthooks()
    settings, warning = load_settings()
    if warning:
        messages.warning(warning)
    try:
        window = build_window(settings, app)
    except StoreError as exc:
        QMessageBox.critical(None, "Hearth", f"Hearth cannot open its chat database: {exc}")
        return 1
    window.show()
    window.start()
    # Let Ctrl+C in the terminal close the app cleanly.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer()
    timer.start(250)
    timer.timeout.connect(lambda: None)
    return app.exec()
