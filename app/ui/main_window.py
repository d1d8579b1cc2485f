"""The main window, a shell: its pages (chats, library, Hub) behind a navigation rail, menus and
status bar, and the wiring of the features' controllers in one place (``_connect_signals``).

The chat page shows conversations on the left, the chat in the middle and this chat's settings on
the right; what the user does there lives in app/ui/chat, memory fit in app/ui/fit. It is
about 460 lines because the navigation between pages (the welcome page while there is no model,
a chat with a library or downloaded model, paused downloads offered) belongs to no one feature.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QIcon,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QWidget,
)

from app.core import paths
from app.core.chat.store import Conversation
from app.core.fit.hardware import Hardware
from app.core.library import starter
from app.core.library.index import OK, LibraryEntry, open_library
from app.core.settings import Settings, SettingsWriter
from app.ui.about import show_about
from app.ui.chat.controller import ChatController
from app.ui.chat.conversations import ConversationActions
from app.ui.chat.engine_bridge import EngineBridge
from app.ui.chat.page import ChatPage
from app.ui.common import messages
from app.ui.common.markdown_html import Palette
from app.ui.common.tasks import DbQueue, call_in_gui, run_task
from app.ui.fit.controller import FitController
from app.ui.hub.controller import HubController
from app.ui.hub.page import HubPage
from app.ui.library.controller import LibraryController
from app.ui.library.page import LibraryPage
from app.ui.library.welcome_page import WelcomePage
from app.ui.nav_rail import NavRail
from app.ui.settings_dialog import SettingsDialog


class MainWindow(QMainWindow):
    def __init__(
        self,
        settings: Settings,
        db: DbQueue,
        bridge: EngineBridge,
        dark: bool = False,
        icon: QIcon | None = None,
        apply_theme: Any = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("Hearth")
        if icon is not None:
            self.setWindowIcon(icon)
        self.resize(1180, 780)
        self.settings = settings
        self.db = db
        self.bridge = bridge
        self._apply_theme = apply_theme
        self._closed = False

        self.chat_page = ChatPage(dark)
        page = self.chat_page
        self.sidebar, self.view, self.composer = page.sidebar, page.view, page.composer
        self.picker, self.notice, self.panel = page.picker, page.notice, page.panel
        self.panel_button = page.panel_button
        self.library_page = LibraryPage()
        self.hub_page = HubPage()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.chat_page)
        self.pages.addWidget(self.library_page)
        self.pages.addWidget(self.hub_page)
        self.welcome = WelcomePage()  # in place of the chat page while there is no model
        self.pages.addWidget(self.welcome)
        self._model_paths: list[str] | None = None  # None until the first library scan
        self.rail = NavRail(icon)
        central = QWidget()
        central.setObjectName("central")
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.rail)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)
        # Widgets drawn by the stylesheet (backgrounds, borders) that are plain QWidgets.
        for widget in (self.sidebar, self.composer):
            widget.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.chat_page.setHandleWidth(1)  # the chat's columns meet at a line, not a gap
        self.setAcceptDrops(True)

        # The status bar: the engine's state (or, for a few seconds, a passing message) on the
        # left, the shown chat's last reply figures on the right; the two never overlap.
        self.state_label = QLabel("Starting the engine…")
        self.state_label.setMinimumWidth(1)  # long text is cut, never pushed over the figures
        self.figures_label = QLabel("")
        self.statusBar().addWidget(self.state_label, 1)
        self.statusBar().addPermanentWidget(self.figures_label)
        self._state_text = self.state_label.text()
        self._passing = QTimer(self)
        self._passing.setSingleShot(True)
        self._passing.timeout.connect(lambda: self.state_label.setText(self._state_text))

        self._settings_writer = SettingsWriter(on_error=self._on_settings_error)
        # Before the controllers: what they say while starting (a damaged download queue) is shown.
        messages.hub().listen(self._on_user_message)
        self.controller = ChatController(
            settings,
            db,
            bridge,
            self.view,
            self.composer,
            self.picker,
            self.notice,
            self.save_settings,
            self,
        )
        self.conversations = ConversationActions(
            settings, db, self.controller, self.sidebar, self.panel, self
        )
        self.library = open_library(settings.models_path())
        self.library_ctl = LibraryController(
            self.library, self.library_page, settings, self.save_settings, self
        )
        self.fit = FitController(
            settings, bridge, self.controller, self.library_page.meter, self.save_settings, self
        )
        self.hub_ctl = HubController(
            self.hub_page, settings, self.save_settings, self.library, lambda: self.hardware, self
        )
        bundled = starter.bundled_path()
        self.welcome.set_starter(bundled.stat().st_size if bundled else None)
        self._offered_downloads = False
        # A chat the user asked for (``hearth FILE.gguf``, the welcome page, the library) before
        # the saved conversations arrived: their arrival must not replace it.
        self._chat_chosen = False
        self._connect_signals()

        self._build_menus()
        self._build_rail()
        self.hub_ctl.update_totals()  # "Hub · 1 paused" from the start
        self._restore_geometry()

    def _connect_signals(self) -> None:
        """Every connection between the window's parts, in one place."""
        chat, bridge = self.controller, self.bridge
        chat.statsChanged.connect(self.figures_label.setText)
        self.conversations.titleChanged.connect(self.setWindowTitle)
        self.picker.openFileRequested.connect(self._open_model_file)
        self.picker.optionsRequested.connect(self.fit.open_load_options)
        self.view.linkActivated.connect(self._open_link)
        bridge.stateChanged.connect(self._on_engine_state)
        bridge.modelLoaded.connect(self._on_model_loaded)

        self.library_ctl.entriesChanged.connect(self._on_library)
        self.library_ctl.entriesChanged.connect(self.hub_ctl.library_changed)
        self.library_ctl.chatRequested.connect(self.chat_with)
        self.library_ctl.qualityMeasured.connect(self.hub_ctl.quality_measured)
        self.library_page.selected.connect(self.fit.show_library_entry)
        self.fit.hardwareReady.connect(self._on_hardware)
        self.fit.optionsApplied.connect(self.conversations.show_settings)
        self.fit.loadMeasured.connect(self._on_load_measured)

        self.hub_ctl.modelDownloaded.connect(self._on_model_downloaded)
        self.hub_ctl.queueChanged.connect(self._on_queue_changed)
        self.hub_ctl.chatRequested.connect(self.chat_with)

        self.welcome.starterRequested.connect(self._use_starter)
        self.welcome.hubRequested.connect(lambda: self.show_page(2))
        self.welcome.folderRequested.connect(self.library_ctl.ask_add_folder)
        self.welcome.fileRequested.connect(self._open_model_file)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.applicationStateChanged.connect(self._on_app_state)

    def _on_model_loaded(self, info: dict[str, Any]) -> None:
        self.panel.set_system_route(info.get("system_prompt"))
        self.chat_page.think.set_model(info)  # the Think switch, if the template takes it

    # -- menus and shortcuts ----------------------------------------------------------------------

    def _build_rail(self) -> None:
        """The pages as checkable actions (Ctrl+1/2/3), drawn as the navigation rail's buttons,
        with Settings at the rail's foot."""
        group = QActionGroup(self)
        self.chat_action = QAction("Chats", self, checkable=True, checked=True)
        self.chat_action.setShortcut("Ctrl+1")
        self.chat_action.setToolTip("Your conversations")
        self.library_action = QAction("Library", self, checkable=True)
        self.library_action.setShortcut("Ctrl+2")
        self.library_action.setToolTip("The models on this computer")
        self.hub_action = QAction("Hub", self, checkable=True)
        self.hub_action.setShortcut("Ctrl+3")
        self.hub_action.setToolTip("Find and download models on the Hugging Face Hub (goes online)")
        self.page_actions = [self.chat_action, self.library_action, self.hub_action]
        icons = ("nav-chats", "nav-library", "nav-hub")
        for i, (a, name) in enumerate(zip(self.page_actions, icons, strict=True)):
            group.addAction(a)
            self.addAction(a)  # the shortcut works wherever the focus is in the window
            a.triggered.connect(lambda _=False, i=i: self.show_page(i))
            self.rail.add(a, name)
        self.rail.add(self.settings_action, "nav-settings", bottom=True)

    def show_page(self, index: int) -> None:
        self.page_actions[index].setChecked(True)
        if index == 0 and self._wants_welcome():
            self.pages.setCurrentWidget(self.welcome)
            return
        self.pages.setCurrentIndex(index)
        if index == 1:
            self.library_ctl.rescan_if_stale()
        elif index == 2:
            self.hub_ctl.activate()  # the first time: the only way Hearth goes online

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add(file_menu, "&New chat", QKeySequence.StandardKey.New, self.controller.new_chat)
        self._add(
            file_menu, "&Open a model file…", QKeySequence.StandardKey.Open, self._open_model_file
        )
        file_menu.addSeparator()
        convs = self.conversations
        self._add(file_menu, "Export chat as &Markdown…", None, lambda: convs.export_current("md"))
        self._add(file_menu, "Export chat as &JSON…", None, lambda: convs.export_current("json"))
        file_menu.addSeparator()
        self.settings_action = self._add(file_menu, "&Settings…", "Ctrl+,", self._open_settings)
        self.settings_action.setToolTip("Settings: model folder, theme, defaults")
        self._add(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        chat_menu = self.menuBar().addMenu("&Chat")
        self._add(chat_menu, "&Find in chats", QKeySequence.StandardKey.Find, convs.focus_search)
        self._add(chat_menu, "&Stop the reply", None, self.controller.stop)
        self._add(chat_menu, "&Regenerate the last reply", "Ctrl+R", self.controller.regenerate)
        self._add(chat_menu, "&Rename this chat", "F2", convs.rename_current)
        help_menu = self.menuBar().addMenu("&Help")
        self._add(help_menu, "&About Hearth", None, self._about)
        stop = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        stop.activated.connect(self._on_escape)

    def _add(self, menu: Any, text: str, shortcut: Any, slot: Any) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _on_escape(self) -> None:
        if self.controller.active is not None or self.bridge.state == "loading":
            self.controller.stop()
        else:
            self.composer.cancel_edit()

    # -- start-up ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Fill the window: conversations, models, and the engine."""
        self.bridge.start()
        self.db.submit(lambda s: s.conversations(), self._on_conversations)
        self.library_ctl.rescan()

    def _offer_paused_downloads(self) -> None:
        """Downloads that were running when Hearth closed wait for the user (no request is made
        at start-up); say so once, with a button."""
        if self._offered_downloads:
            return
        self._offered_downloads = True
        pending = self.hub_ctl.queue.pending()
        if pending:
            n = len(pending)
            self.notice.show_notice(
                f"{n} download{'s' if n > 1 else ''} paused ({pending[0].title}"
                f"{' and more' if n > 1 else ''}); the partial files are kept.",
                "info",
                "Resume",
                self._resume_downloads,
            )

    def _on_queue_changed(self, text: str) -> None:
        self.hub_action.setText(f"Hub · {text}" if text else "Hub")

    def _resume_downloads(self) -> None:
        self.show_page(2)
        self.hub_ctl.resume_all()

    def _on_model_downloaded(self, d: Any) -> None:
        self.library_ctl.rescan()
        models = d.model_paths
        if models:
            path = str(models[0])
            self.hub_page.notice.show_notice(
                f"{d.title} is downloaded, verified and in your library.",
                "info",
                "Chat with it",
                lambda: self.chat_with(path),
            )

    def _on_conversations(self, convs: list[Conversation]) -> None:
        self.sidebar.model.set_conversations(convs)
        if (
            self._chat_chosen
            or self.controller.active is not None
            or self.controller.session.messages
        ):
            # The user chose a chat or started chatting before the list arrived: leave them there.
            self._refresh_chat_page()
            self._offer_paused_downloads()
            return
        if convs:
            self.sidebar.select(convs[0].id)
            self.controller.open_conversation(convs[0].id)
        else:
            self.controller.new_chat()
        self._refresh_chat_page()
        self._offer_paused_downloads()

    def refresh_models(self) -> None:
        self.library_ctl.rescan()

    def _wants_welcome(self) -> bool:
        """No model to chat with and no conversation to read: offer ways to get a model."""
        return self._model_paths == [] and self.sidebar.model.rowCount() == 0

    def _refresh_chat_page(self) -> None:
        if self.pages.currentWidget() in (self.chat_page, self.welcome):
            self.show_page(0)

    def _use_starter(self) -> None:
        path = starter.bundled_path()
        if path is None:
            return

        def added(_first: Any) -> None:
            self._model_paths = [*(self._model_paths or []), str(path)]
            self.library_ctl.rescan()
            self.chat_with(str(path))

        run_task(lambda: self.library.add_file(path), added)

    def _on_library(self, entries: list[LibraryEntry]) -> None:
        paths = [e.path for e in entries if e.status == OK]
        paths += [p for p in self.settings.recent_models if p not in paths and Path(p).exists()]
        self._model_paths = paths
        self._refresh_chat_page()
        self.picker.set_models(paths)
        if self.controller.conv is None and not self.picker.current() and paths:
            # A first launch: pick the only (or most recent) model right away.
            last = self.settings.last_model
            self.controller.choose_model(last if last in paths else paths[0])
        if self.library_ctl.scans == 1:
            self.library_ctl.offer_known_folders()

    def chat_with(self, path: str) -> None:
        """Start a new chat with ``path`` (from the library)."""
        self._chat_chosen = True
        self.show_page(0)
        self.controller.new_chat_with(path)

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.library_ctl.rescan_if_stale(10.0)

    # -- memory fit -------------------------------------------------------------------------------

    @property
    def hardware(self) -> Hardware | None:
        return self.fit.hardware

    def _on_hardware(self, hw: Hardware) -> None:
        self.library_page.meter.set_hardware(hw)
        self.hub_page.meter.set_hardware(hw)
        self.hub_ctl.hardware_ready()

    def open_load_options(self) -> None:
        self.fit.open_load_options()

    def _on_load_measured(self, text: str) -> None:
        self.picker.status.setToolTip(text)
        self.show_passing(text, 10000)

    # -- drag and drop ----------------------------------------------------------------------------

    @staticmethod
    def _dropped_models(event: Any) -> list[Path]:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        return [
            Path(u.toLocalFile())
            for u in urls
            if u.isLocalFile() and u.toLocalFile().lower().endswith(".gguf")
        ]

    def dragEnterEvent(self, event: Any) -> None:
        if self._dropped_models(event):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:
        models = self._dropped_models(event)
        if models:
            event.acceptProposedAction()
            self.library_ctl.import_files(models, "keep")

    # -- models and settings ----------------------------------------------------------------------

    def _open_model_file(self) -> None:
        start = str(self.settings.models_path())
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", start, "GGUF models (*.gguf)"
        )
        if path:
            self.open_model(path)

    def open_model(self, path: str) -> None:
        """Chat with a model file given by the user (a dialog, or ``hearth FILE.gguf`` from a file
        manager) in a new chat; it joins the library where it is."""
        self._chat_chosen = True
        self.show_page(0)
        self.controller.new_chat_with(path)
        # A file that cannot load is not added; the chat says why it cannot load.
        self.library_ctl.import_files([Path(path)], "keep", report=False)

    def _open_settings(self) -> None:
        dialog = SettingsDialog(self.settings, self)
        old_theme, old_dir = self.settings.theme, self.settings.models_dir
        if dialog.exec():
            self.save_settings()
            if self.settings.theme != old_theme and self._apply_theme is not None:
                dark = self._apply_theme(self.settings.theme)
                self.view.set_palette(Palette.for_theme(dark))
            if self.settings.models_dir != old_dir:
                self.library.app_folder = self.settings.models_path()
                self.refresh_models()
            if self.controller.conv is not None:
                self.conversations.show_settings()

    def save_settings(self) -> None:
        """Save the settings as they are now (on one writer thread, in order)."""
        self._settings_writer.save(self.settings)

    @staticmethod
    def _on_settings_error(exc: BaseException) -> None:
        call_in_gui(lambda e: messages.error(f"Could not save settings: {e}"), exc)

    # -- engine and messages ----------------------------------------------------------------------

    def _on_engine_state(self, state: str) -> None:
        text = {
            "starting": "Starting the engine…",
            "idle": "Ready"
            + (f" · {self.bridge.loaded_info.get('name')}" if self.bridge.loaded_info else ""),
            "loading": "Loading the model…",
            "generating": "Writing…",
            "crashed": "The engine stopped",
            "stopped": "Engine stopped",
        }.get(state, state)
        self._state_text = text
        if not self._passing.isActive():
            self.state_label.setText(text)
        if self.bridge.loaded_info is None:
            self.panel.set_system_route(None)
            self.chat_page.think.set_model(None)

    def _on_user_message(self, msg: messages.UserMessage) -> None:
        if msg.level == "info":
            self.show_passing(msg.text, 8000)
        else:
            self.notice.show_notice(msg.text, msg.level)

    @property
    def engine_state_text(self) -> str:
        """What the status bar says of the engine (a passing message may cover it a moment)."""
        return self._state_text

    def show_passing(self, text: str, ms: int) -> None:
        """A message in the status bar for ``ms`` milliseconds, in place of the engine's state."""
        self.state_label.setText(text)
        self.state_label.setToolTip(text)
        self._passing.start(ms)

    def _open_link(self, url: str) -> None:
        if url.startswith(("http://", "https://", "mailto:")):
            QDesktopServices.openUrl(QUrl(url))

    def _about(self) -> None:
        show_about(self, self.bridge.build)

    # -- window state -----------------------------------------------------------------------------

    @staticmethod
    def _qsettings() -> QSettings:
        return QSettings(str(paths.config_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_geometry(self) -> None:
        geo = self._qsettings().value("window/geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            super().closeEvent(event)
            return
        self._closed = True
        window_state = self._qsettings()
        window_state.setValue("window/geometry", self.saveGeometry())
        window_state.sync()  # Qt writes a new file: make it private like the rest
        paths.private_file(Path(window_state.fileName()), create=False)
        self.controller.shutdown()
        self.hub_ctl.close()
        self.db.close()
        self._settings_writer.close()
        self.bridge.shutdown()
        super().closeEvent(event)
