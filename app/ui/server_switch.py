"""The Local API switch in the status bar: serve the chat's model to other programs on this
machine (OpenAI- and Ollama-compatible), with the address to copy, the requests served and a live
request log.

The server runs on a thread of its own (uvicorn with its asyncio loop) and gets its own engine
worker for the model the chat has loaded. The model file is memory-mapped by both workers, so its
weights are in memory once; the chat window is never unloaded or made to wait by the server.

ServerSwitch signals:
    stateChanged(str)    off, starting, on, failed
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.gguf.names import display_name
from app.server.http_api import LogEntry, RequestLog, ServerConfig
from app.server.link import EngineLink
from app.server.run import LocalServer
from app.ui.common.tasks import call_in_gui

DEFAULT_PORT = 8080


class BackgroundServer:
    """A LocalServer on a thread of its own (uvicorn with its asyncio loop); start and stop from
    the GUI thread, which hears back through ``call_in_gui``."""

    def __init__(
        self, model_path: str, load_options: dict[str, Any], sampling: dict[str, Any], port: int
    ) -> None:
        self.link = EngineLink(model_path, load_options)
        self.log = RequestLog()
        self.server = LocalServer(
            self.link, ServerConfig(port=port, sampling_defaults=sampling), self.log
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, on_ready: Callable[[str], None], on_failed: Callable[[str], None]) -> None:
        def run() -> None:
            try:
                why = asyncio.run(self.server.run(lambda url: call_in_gui(on_ready, url)))
            except (OSError, SystemExit) as exc:  # uvicorn exits when it cannot bind
                why = f"the server could not start: {exc}"
            finally:
                self.link.close()
            if why:
                call_in_gui(on_failed, why)

        self._thread = threading.Thread(target=run, name="local-api", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.stop()
        if self._thread is not None:
            self._thread.join(10)
        self.link.close()


class ServerLogDialog(QDialog):
    """The live request log: time, route, status, tokens and speed of each request."""

    def __init__(self, switch: ServerSwitch) -> None:
        super().__init__(switch.window())
        self.setWindowTitle("Local API")
        self.resize(620, 380)
        self._switch = switch
        lay = QVBoxLayout(self)
        self.address = QLabel()
        self.address.setWordWrap(True)
        lay.addWidget(self.address)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        lay.addWidget(self.log, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.clear = buttons.addButton("Clear", QDialogButtonBox.ButtonRole.ResetRole)
        self.clear.clicked.connect(switch.clear_log)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        server = self._switch.server
        if server is None:
            self.address.setText("The local API is off.")
            self.log.setPlainText("")
            return
        self.address.setText(
            f"Serving <b>{html.escape(display_name(server.link.model_path))}</b> at "
            f"<code>{server.url}</code> (OpenAI) and <code>{server.url[:-3]}</code> (Ollama), "
            f"to programs on this computer only · {server.log.served} requests served"
        )
        self.log.setPlainText("\n".join(e.line() for e in server.log.entries))


class ServerSwitch(QWidget):
    """A status-bar switch for the local API; the address and the log are a click away."""

    stateChanged = Signal(str)

    def __init__(self, model: Any, parent: QWidget | None = None) -> None:
        """``model()`` gives (path, load options, sampling defaults) of the model the chat has
        loaded, or None."""
        super().__init__(parent)
        self._model = model
        self.server: BackgroundServer | None = None
        self.state = "off"
        self.port = DEFAULT_PORT
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setText("Local API: off")
        self.toggle.setToolTip(
            "Serve the loaded model to other programs on this computer (OpenAI- and "
            "Ollama-compatible API, localhost only)"
        )
        self.toggle.toggled.connect(self._on_toggled)
        lay.addWidget(self.toggle)
        self.copy = QToolButton()
        self.copy.setAutoRaise(True)
        self.copy.setText("Copy address")
        self.copy.clicked.connect(self._copy)
        self.copy.hide()
        lay.addWidget(self.copy)
        self.details = QPushButton("Log")
        self.details.setFlat(True)
        self.details.clicked.connect(self.show_log)
        self.details.hide()
        lay.addWidget(self.details)
        self._dialog: ServerLogDialog | None = None
        if parent is not None:
            parent.installEventFilter(self)  # the window closing stops the server

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close and watched is self.parent():
            self.shutdown()
        return False

    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.toggle.setText(text)
        self.copy.setVisible(state == "on")
        self.details.setVisible(state == "on")
        self.stateChanged.emit(state)

    def _on_toggled(self, on: bool) -> None:
        if on:
            self.turn_on()
        else:
            self.turn_off()

    def turn_on(self) -> None:
        model = self._model()
        if model is None:
            self.toggle.setChecked(False)
            self.toggle.setToolTip("Load a model in the chat first; the local API serves it.")
            return
        path, options, sampling = model
        server = BackgroundServer(path, options, sampling, self.port)
        server.log._on_entry = lambda entry: call_in_gui(self._on_entry, entry)
        self.server = server
        self._set_state("starting", "Local API: starting…")
        server.start(self._on_ready, self._on_failed)

    def turn_off(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()
        self.toggle.blockSignals(True)
        self.toggle.setChecked(False)
        self.toggle.blockSignals(False)
        if self.state != "failed":
            self._set_state("off", "Local API: off")

    def _on_ready(self, url: str) -> None:
        if self.server is not None:
            self._set_state("on", f"Local API: {url}")
            self._refresh()

    def _on_failed(self, why: str) -> None:
        self.turn_off()
        self._set_state("failed", "Local API: off")
        self.toggle.setToolTip(f"The local API could not start: {why}.")

    def _on_entry(self, _entry: LogEntry) -> None:
        self._refresh()

    def _refresh(self) -> None:
        if self.server is not None:
            self.details.setText(f"Log · {self.server.log.served}")
        if self._dialog is not None and self._dialog.isVisible():
            self._dialog.refresh()

    def clear_log(self) -> None:
        if self.server is not None:
            self.server.log.clear()
        self._refresh()

    def _copy(self) -> None:
        if self.server is not None:
            QGuiApplication.clipboard().setText(self.server.url)

    def show_log(self) -> None:
        if self._dialog is None:
            self._dialog = ServerLogDialog(self)
        self._dialog.refresh()
        self._dialog.show()
        self._dialog.raise_()

    def shutdown(self) -> None:
        self.turn_off()
