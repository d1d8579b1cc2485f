"""Memory fit in the window: this machine's hardware, the library's meter, a chat's load options
and what a load really took.

Signals:
    hardwareReady(object)    the Hardware, once the engine said what its build can use
    optionsApplied()         the conversation shown got new load options
    loadMeasured(str)        what llama.cpp allocated for the model just loaded, in words
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.core.fit import calibration
from app.core.fit.hardware import Hardware, probe_build
from app.core.fit.placement import FitOptions
from app.core.fit.shape import ModelShape, shape_from_file
from app.core.library.index import OK, LibraryEntry
from app.core.options import LOAD_KEYS
from app.core.settings import Settings
from app.ui.chat.controller import ChatController
from app.ui.chat.engine_bridge import EngineBridge
from app.ui.common import messages
from app.ui.common.tasks import run_task
from app.ui.fit.load_dialog import LoadDialog
from app.ui.fit.meter import FitMeter


class FitController(QObject):
    hardwareReady = Signal(object)
    optionsApplied = Signal()
    loadMeasured = Signal(str)

    def __init__(
        self,
        settings: Settings,
        bridge: EngineBridge,
        chat: ChatController,
        library_meter: FitMeter,
        save_settings: Any,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self.settings = settings
        self.bridge = bridge
        self.chat = chat
        self.library_meter = library_meter
        self._save_settings = save_settings
        self._window = window
        self.hardware: Hardware | None = None
        self._meter_path: str | None = None
        bridge.buildReady.connect(self._on_build)
        bridge.modelLoaded.connect(self._on_model_loaded)

    # -- hardware -----------------------------------------------------------------------------

    def _on_build(self, build: dict[str, Any]) -> None:
        run_task(lambda: probe_build(build), self._on_hardware)

    def _on_hardware(self, hw: Hardware) -> None:
        self.hardware = hw
        self.hardwareReady.emit(hw)

    def show_library_entry(self, entry: LibraryEntry | None) -> None:
        """Show the selected library model in the library's meter."""
        meter = self.library_meter
        if entry is None or entry.status != OK:
            meter.set_model(None)
            return
        path = entry.path
        self._meter_path = path

        def done(shape: ModelShape) -> None:
            if self._meter_path == path:
                meter.set_model(shape, FitOptions.from_load(self.settings.load))

        run_task(lambda: shape_from_file(path), done, lambda exc: meter.set_model(None))

    # -- load options -------------------------------------------------------------------------

    def open_load_options(self) -> None:
        path = self.chat.model_for_current()
        if not path:
            messages.info("Choose a model first.")
            return
        hardware = self.hardware
        if hardware is None:
            messages.info("Still looking at this machine; try again in a moment.")
            return
        own = self.chat.overrides_of(self.chat.conv)  # a new chat's too, before its first message
        load_over = {k: v for k, v in own.items() if k in LOAD_KEYS}
        load = self.settings.load.merged(load_over)
        measured = (
            calibration.describe(self.bridge.loaded_info)
            if self.bridge.loaded_info and self.bridge.loaded_info.get("path") == path
            else ""
        )

        def show(shape: ModelShape) -> None:
            dialog = LoadDialog(path, shape, hardware, load, measured, self._window)
            if dialog.exec():
                self.apply_load_options(dialog.overrides())

        run_task(
            lambda: shape_from_file(path),
            show,
            lambda exc: messages.error(f"Cannot read the model: {exc}"),
        )

    def apply_load_options(self, overrides: dict[str, Any]) -> None:
        """Use these load options for the chat shown, a new one (not saved yet) included; the
        defaults stay as Settings has them."""
        chat, conv = self.chat, self.chat.conv
        chat.update_conversation(
            chat.own_system_prompt(conv), {**chat.overrides_of(conv), **overrides}
        )
        self.optionsApplied.emit()
        chat.preload()

    def _on_model_loaded(self, info: dict[str, Any]) -> None:
        text = calibration.describe(info)
        if text:
            self.loadMeasured.emit(text)
        run_task(lambda: calibration.record(info), None, lambda exc: None)
