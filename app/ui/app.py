"""Start the desktop app: Qt application, theme, message channel, engine, store and main window."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from app import APP_ID, __version__
from app.core import logs, paths
from app.core.chat.recovery import Recovery
from app.core.chat.store import ChatStore, StoreError
from app.core.resources import resource_path
from app.core.settings import Settings, load_settings
from app.ui.chat.engine_bridge import EngineBridge
from app.ui.common import messages, qt_libs
from app.ui.common.tasks import DbQueue, call_in_gui
from app.ui.common.theme import apply_theme
from app.ui.main_window import MainWindow
from app.ui.server_switch import ServerSwitch


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hearth", add_help=False)
    parser.add_argument("--basedir")
    # Close the window this many seconds after it is shown: the packaged build's smoke test.
    parser.add_argument("--exit-after", type=float)
    parser.add_argument("model", nargs="?", help="a .gguf file to chat with")
    args, _unknown = parser.parse_known_args(argv)
    return args


ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon() -> QIcon:
    """The app's icon at every size it is drawn (PNGs need no SVG plugin, in a bundle too)."""
    icon = QIcon()
    for size in ICON_SIZES:
        try:
            icon.addFile(str(resource_path(f"icons/hearth-{size}.png")), QSize(size, size))
        except FileNotFoundError:
            continue
    return icon if not icon.isNull() else QIcon(str(resource_path("hearth.svg")))


def _on_store_checked(recovery: Recovery | None) -> None:
    if recovery is not None:
        messages.warning(recovery.message())


def _open_store() -> ChatStore:
    """The chat store, on the database thread; recoveries made while reading are reported."""
    store = ChatStore(paths.chats_db_path())
    store.on_recovery = lambda recovery: call_in_gui(_on_store_checked, recovery)
    return store


def build_window(settings: Settings, app: QApplication) -> MainWindow:
    """Everything but ``exec``: used by ``run_app`` and by the GUI tests."""
    db = DbQueue(_open_store)
    # The store's first job, before anything the window asks: look for damage that opening did
    # not reveal and recover from it (a full read of the file, so not on the way to the window).
    db.submit(ChatStore.check, _on_store_checked, lambda exc: messages.error(str(exc)))
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

    def loaded_model() -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        info, key = bridge.loaded_info, bridge.loaded_key
        if not info or key is None:
            return None
        sampling = settings.sampling.to_dict()
        sampling.pop("max_tokens", None)  # the API's own limit applies
        return str(info["path"]), json.loads(key[1]), sampling

    # The local API's switch, in the status bar (found with findChild(ServerSwitch)).
    window.statusBar().addPermanentWidget(ServerSwitch(loaded_model, window))
    return window


def run_app(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.basedir:
        paths.set_base_dir(args.basedir)
    problem = None if QApplication.instance() else qt_libs.xcb_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")
    app.setApplicationDisplayName("Hearth")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)  # matches the installed .desktop file
    app.setWindowIcon(app_icon())
    messages.install_excepthooks()
    logs.setup()
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
    if args.model and args.model != "gui":
        window.open_model(str(Path(args.model).expanduser().resolve()))
    if args.exit_after is not None:

        def leave() -> None:
            print(f"hearth: the window was shown ({window.windowTitle()}); closing", flush=True)
            window.close()

        QTimer.singleShot(int(args.exit_after * 1000), leave)
    # Let Ctrl+C in the terminal close the app cleanly.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    timer = QTimer()
    timer.start(250)
    timer.timeout.connect(lambda: None)
    return app.exec()
