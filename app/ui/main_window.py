"""The main window: conversations on the left, the chat in the middle, this chat's settings on the right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QUrl
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
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app import __version__
from app.core import paths
from app.core.chat import export
from app.core.chat.store import ChatStore, Conversation
from app.core.fit import calibration
from app.core.fit.hardware import Hardware, probe_build
from app.core.fit.placement import FitOptions
from app.core.fit.shape import ModelShape, shape_from_file
from app.core.library import starter
from app.core.library.index import OK, LibraryEntry, open_library
from app.core.options import LOAD_KEYS
from app.core.settings import Settings, save_settings
from app.ui.chat.composer import Composer
from app.ui.chat.controller import ChatController
from app.ui.chat.conversation_list import ConversationSidebar
from app.ui.chat.conversation_panel import ConversationPanel
from app.ui.chat.engine_bridge import EngineBridge
from app.ui.chat.model_picker import ModelPicker
from app.ui.chat.view import ChatView
from app.ui.common import messages
from app.ui.common.markdown_html import Palette
from app.ui.common.notice_bar import NoticeBar
from app.ui.common.tasks import DbQueue, run_task
from app.ui.fit.load_dialog import LoadDialog
from app.ui.hub.controller import HubController
from app.ui.hub.page import HubPage
from app.ui.library.controller import LibraryController
from app.ui.library.page import LibraryPage
from app.ui.library.welcome_page import WelcomePage
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

        self.sidebar = ConversationSidebar()
        self.view = ChatView()
        self.view.set_palette(Palette.for_theme(dark))
        self.composer = Composer()
        self.picker = ModelPicker()
        self.notice = NoticeBar()
        self.panel = ConversationPanel()
        self.panel.hide()

        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        top = QHBoxLayout()
        top.setContentsMargins(10, 8, 10, 8)
        top.addWidget(self.picker, 1)
        self.panel_button = QToolButton()
        self.panel_button.setText("Chat settings")
        self.panel_button.setToolTip("System prompt and options for this conversation")
        self.panel_button.setCheckable(True)
        self.panel_button.toggled.connect(self._toggle_panel)
        top.addWidget(self.panel_button)
        cl.addLayout(top)
        cl.addWidget(self.view, 1)
        notice_wrap = QHBoxLayout()
        notice_wrap.setContentsMargins(10, 4, 10, 0)
        notice_wrap.addWidget(self.notice)
        cl.addLayout(notice_wrap)
        cl.addWidget(self.composer)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(center)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([260, 900, 320])
        self.splitter.setCollapsible(1, False)
        self.library_page = LibraryPage()
        self.hub_page = HubPage()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.splitter)
        self.pages.addWidget(self.library_page)
        self.pages.addWidget(self.hub_page)
        self.welcome = WelcomePage()  # in place of the chat page while there is no model
        self.pages.addWidget(self.welcome)
        self._model_paths: list[str] | None = None  # None until the first library scan
        self.setCentralWidget(self.pages)
        self.setAcceptDrops(True)

        self.state_label = QLabel("Starting the engine…")
        self.figures_label = QLabel("")
        self.statusBar().addWidget(self.state_label, 1)
        self.statusBar().addPermanentWidget(self.figures_label)

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
        self.controller.conversationChanged.connect(self._on_conversation_changed)
        self.controller.conversationTouched.connect(self._refresh_conversation)
        self.controller.statsChanged.connect(self.figures_label.setText)
        self.sidebar.conversationSelected.connect(self.controller.open_conversation)
        self.sidebar.newChatRequested.connect(self.controller.new_chat)
        self.sidebar.renameRequested.connect(self._rename)
        self.sidebar.deleteRequested.connect(self._delete)
        self.sidebar.exportRequested.connect(self._export)
        self.sidebar.searchChanged.connect(self._search)
        self.panel.changed.connect(self.controller.update_conversation)
        self.picker.openFileRequested.connect(self._open_model_file)
        self.view.linkActivated.connect(self._open_link)
        bridge.stateChanged.connect(self._on_engine_state)
        messages.hub().listen(self._on_user_message)

        self.library = open_library(settings.models_path())
        self.library_ctl = LibraryController(
            self.library, self.library_page, settings, self.save_settings, self
        )
        self.library_ctl.entriesChanged.connect(self._on_library)
        self.library_ctl.chatRequested.connect(self.chat_with)
        self.library_page.selected.connect(self._on_library_selected)
        self.hardware: Hardware | None = None
        self.hub_ctl = HubController(
            self.hub_page, settings, self.save_settings, self.library, lambda: self.hardware, self
        )
        self.hub_ctl.modelDownloaded.connect(self._on_model_downloaded)
        bundled = starter.bundled_path()
        self.welcome.set_starter(bundled.stat().st_size if bundled else None)
        self.welcome.starterRequested.connect(self._use_starter)
        self.welcome.hubRequested.connect(lambda: self.show_page(2))
        self.welcome.folderRequested.connect(self.library_ctl.ask_add_folder)
        self.welcome.fileRequested.connect(self._open_model_file)
        self.hub_ctl.queueChanged.connect(self._on_queue_changed)
        self._offered_downloads = False
        bridge.buildReady.connect(self._on_build)
        bridge.modelLoaded.connect(self._on_model_loaded)
        self.picker.optionsRequested.connect(self.open_load_options)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.applicationStateChanged.connect(self._on_app_state)

        self._build_pages_bar()
        self.hub_ctl.update_totals()  # "Hub · 1 paused" from the start
        self._build_menus()
        self._restore_geometry()

    # -- menus and shortcuts ----------------------------------------------------------------------

    def _build_pages_bar(self) -> None:
        bar = QToolBar("Pages")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        group = QActionGroup(self)
        self.chat_action = QAction("Chats", self, checkable=True, checked=True)
        self.chat_action.setShortcut("Ctrl+1")
        self.library_action = QAction("Library", self, checkable=True)
        self.library_action.setShortcut("Ctrl+2")
        self.hub_action = QAction("Hub", self, checkable=True)
        self.hub_action.setShortcut("Ctrl+3")
        self.hub_action.setToolTip("Find and download models on the Hugging Face Hub (goes online)")
        self.page_actions = [self.chat_action, self.library_action, self.hub_action]
        for i, a in enumerate(self.page_actions):
            group.addAction(a)
            bar.addAction(a)
            a.triggered.connect(lambda _=False, i=i: self.show_page(i))
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

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
        self._add(file_menu, "Export chat as &Markdown…", None, lambda: self._export_current("md"))
        self._add(file_menu, "Export chat as &JSON…", None, lambda: self._export_current("json"))
        file_menu.addSeparator()
        self._add(file_menu, "&Settings…", "Ctrl+,", self._open_settings)
        self._add(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        chat_menu = self.menuBar().addMenu("&Chat")
        self._add(chat_menu, "&Find in chats", QKeySequence.StandardKey.Find, self._focus_search)
        self._add(chat_menu, "&Stop the reply", None, self.controller.stop)
        self._add(chat_menu, "&Regenerate the last reply", "Ctrl+R", self.controller.regenerate)
        self._add(chat_menu, "&Rename this chat", "F2", self._rename_current)
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

    def _focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

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
        if self.controller.active is not None or self.view.widgets:
            return  # the user started chatting before the list arrived: leave them there
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
        if self.pages.currentWidget() in (self.splitter, self.welcome):
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
        self.show_page(0)
        self.controller.new_chat()
        self.controller.choose_model(path)
        self.composer.input.setFocus()

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.library_ctl.rescan_if_stale(10.0)

    # -- memory fit -------------------------------------------------------------------------------

    def _on_build(self, build: dict[str, Any]) -> None:
        run_task(lambda: probe_build(build), self._on_hardware)

    def _on_hardware(self, hw: Hardware) -> None:
        self.hardware = hw
        self.library_page.meter.set_hardware(hw)
        self.hub_page.meter.set_hardware(hw)
        self.hub_ctl.hardware_ready()

    def _on_library_selected(self, entry: LibraryEntry | None) -> None:
        meter = self.library_page.meter
        if entry is None or entry.status != OK:
            meter.set_model(None)
            return
        path = entry.path
        self._meter_path = path

        def done(shape: ModelShape) -> None:
            if getattr(self, "_meter_path", None) == path:
                meter.set_model(shape, FitOptions.from_load(self.settings.load))

        run_task(lambda: shape_from_file(path), done, lambda exc: meter.set_model(None))

    def open_load_options(self) -> None:
        path = self.controller.model_for_current()
        if not path:
            messages.info("Choose a model first.")
            return
        if self.hardware is None:
            messages.info("Still looking at this machine; try again in a moment.")
            return
        conv = self.controller.conv
        load_over = {k: v for k, v in (conv.overrides if conv else {}).items() if k in LOAD_KEYS}
        load = self.settings.load.merged(load_over)
        measured = (
            calibration.describe(self.bridge.loaded_info)
            if self.bridge.loaded_info and self.bridge.loaded_info.get("path") == path
            else ""
        )

        def show(shape: ModelShape) -> None:
            dialog = LoadDialog(path, shape, self.hardware, load, measured, self)
            self.load_dialog = dialog  # reachable for tests
            if dialog.exec():
                self.apply_load_options(dialog.overrides())

        run_task(
            lambda: shape_from_file(path),
            show,
            lambda exc: messages.error(f"Cannot read the model: {exc}"),
        )

    def apply_load_options(self, overrides: dict[str, Any]) -> None:
        """Use these load options for this conversation (or as the defaults with no conversation)."""
        conv = self.controller.conv
        if conv is not None:
            merged = {**conv.overrides, **overrides}
            self.controller.update_conversation(conv.system_prompt, merged)
            self.panel.show_conversation(self.settings, conv.system_prompt, merged)
        else:
            self.settings.load = self.settings.load.merged(overrides)
            self.save_settings()
        self.controller._preload()

    def _on_model_loaded(self, info: dict[str, Any]) -> None:
        text = calibration.describe(info)
        if text:
            self.picker.status.setToolTip(text)
            self.statusBar().showMessage(text, 10000)
        run_task(lambda: calibration.record(info), None, lambda exc: None)

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

    # -- conversations ----------------------------------------------------------------------------

    def _on_conversation_changed(self, conv: Conversation | None) -> None:
        self.sidebar.select(conv.id if conv else None)
        self.setWindowTitle(f"{conv.title} — Hearth" if conv else "Hearth")
        self.panel.show_conversation(
            self.settings, conv.system_prompt if conv else None, conv.overrides if conv else {}
        )
        self.panel.setEnabled(conv is not None)

    def _refresh_conversation(self, conv_id: int) -> None:
        def done(conv: Conversation | None) -> None:
            if conv is not None and not self.sidebar.search.text():
                self.sidebar.model.upsert(conv)
                if self.controller.conv is not None and self.controller.conv.id == conv_id:
                    self.sidebar.select(conv_id)

        self.db.submit(lambda s: s.conversation(conv_id), done)

    def _rename(self, conv_id: int, title: str) -> None:
        self.db.submit(lambda s: s.update_conversation(conv_id, title=title))
        if self.controller.conv is not None and self.controller.conv.id == conv_id:
            self.controller.conv.title = title
            self.setWindowTitle(f"{title} — Hearth")

    def _rename_current(self) -> None:
        if self.controller.conv is not None:
            self.sidebar.begin_rename(self.controller.conv.id)

    def _delete(self, conv_id: int) -> None:
        if self.controller.active is not None and self.controller.active.conv_id == conv_id:
            messages.warning("Stop the reply before deleting this conversation.")
            return
        answer = QMessageBox.question(
            self,
            "Delete chat",
            "Delete this conversation and all its messages? This cannot be undone.",
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.db.submit(lambda s: s.delete_conversation(conv_id))
        self.sidebar.model.remove(conv_id)
        if self.controller.conv is not None and self.controller.conv.id == conv_id:
            self.controller.new_chat()

    def _search(self, text: str) -> None:
        def done(hits: Any) -> None:
            self.sidebar.model.set_rows(hits)
            if self.controller.conv is not None:
                self.sidebar.select(self.controller.conv.id)

        self.db.submit(lambda s: s.search(text), done)

    def _export_current(self, kind: str) -> None:
        if self.controller.conv is None:
            messages.info("There is nothing to export yet.")
            return
        self._export(self.controller.conv.id, kind)

    def _export(self, conv_id: int, kind: str) -> None:
        suffix = ".md" if kind == "md" else ".json"
        filt = "Markdown (*.md)" if kind == "md" else "JSON (*.json)"
        row = self.sidebar.model.row_of(conv_id)
        name = self.sidebar.model.conversation(row).title if row >= 0 else "chat"
        safe = "".join(c if c.isalnum() or c in " -_" else "_" for c in name).strip() or "chat"
        path, _ = QFileDialog.getSaveFileName(
            self, "Export chat", str(Path.home() / (safe + suffix)), filt
        )
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() != suffix:
            target = target.with_suffix(suffix)
        settings_prompt = self.settings.system_prompt

        def job(store: ChatStore) -> str:
            conv = store.conversation(conv_id)
            if conv is None:
                raise ValueError("the conversation no longer exists")
            prompt = conv.system_prompt if conv.system_prompt is not None else settings_prompt
            export.export_file(target, conv, store.messages(conv_id), prompt)
            return str(target)

        self.db.submit(
            job,
            lambda p: messages.info(f"Exported to {p}"),
            lambda exc: messages.error(f"Could not export: {exc}"),
        )

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
        manager); it joins the library where it is."""
        self.show_page(0)
        self.controller.choose_model(path)
        self.library_ctl.import_files([Path(path)], "keep")

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
                conv = self.controller.conv
                self.panel.show_conversation(self.settings, conv.system_prompt, conv.overrides)

    def save_settings(self) -> None:
        snapshot = Settings.from_dict(self.settings.to_dict())
        run_task(
            lambda: save_settings(snapshot),
            None,
            lambda exc: messages.error(f"Could not save settings: {exc}"),
        )

    def _toggle_panel(self, on: bool) -> None:
        self.panel.setVisible(on)

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
        self.state_label.setText(text)

    def _on_user_message(self, msg: messages.UserMessage) -> None:
        if msg.level == "info":
            self.statusBar().showMessage(msg.text, 8000)
        else:
            self.notice.show_notice(msg.text, msg.level)

    def _open_link(self, url: str) -> None:
        if url.startswith(("http://", "https://", "mailto:")):
            QDesktopServices.openUrl(QUrl(url))

    @staticmethod
    def _offload_text(build: dict[str, Any]) -> str:
        if build.get("gpu_offload"):
            return "yes"
        backend = build.get("backend") or "CPU"
        return (
            "no (CPU build)"
            if backend == "CPU"
            else f"no ({backend} build, no {backend} device found)"
        )

    def _about(self) -> None:
        build = self.bridge.build
        QMessageBox.about(
            self,
            "About Hearth",
            f"<b>Hearth {__version__}</b><p>Private, offline chat with GGUF models.</p>"
            f"<p>llama-cpp-python {build.get('llama_cpp_version', '?')}; llama.cpp build: "
            f"{build.get('backend') or '?'}; GPU offload: "
            f"{self._offload_text(build)}.</p>",
        )

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
        self._qsettings().setValue("window/geometry", self.saveGeometry())
        self.controller.shutdown()
        self.hub_ctl.close()
        self.db.close()
        self.bridge.shutdown()
        super().closeEvent(event)
