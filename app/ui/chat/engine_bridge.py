"""The GUI's handle on the engine worker process: requests in, Qt signals out.

Events arrive on the client's reader thread and are re-emitted as queued signals, so every slot
runs on the GUI thread. Stop goes straight to the worker (it is answered even while busy).

Signals:
    stateChanged(str)          "starting", "idle", "loading", "generating", "crashed", "stopped"
    loadProgress(float)        0..1
    modelLoaded(dict)          model info from the worker
    loadFailed(str, str)       code, message
    replyStarted(dict)         prompt_tokens, reused_tokens, dropped_messages, n_ctx, template...
    tokenReceived(str)
    replyDone(str, dict)       full text, stats
    replyFailed(str, str)      code, message
    crashed(str)               the worker died; the message says how
    buildReady(dict)           what the worker's llama.cpp build is and which devices it sees
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.engine.client import EngineClient


class EngineBridge(QObject):
    stateChanged = Signal(str)
    loadProgress = Signal(float)
    modelLoaded = Signal(dict)
    loadFailed = Signal(str, str)
    replyStarted = Signal(dict)
    tokenReceived = Signal(str)
    replyDone = Signal(str, dict)
    replyFailed = Signal(str, str)
    crashed = Signal(str)
    buildReady = Signal(dict)
    _event = Signal(object, object)  # (client, event) from the reader thread

    def __init__(self, command: list[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._command = command
        self._client: EngineClient | None = None
        self._state = "stopped"
        self._load_req: int | None = None
        self._gen_req: int | None = None
        self.loaded_info: dict[str, Any] | None = None
        self.loaded_key: tuple[str, str] | None = None  # (path, options json) of the loaded model
        self._pending_key: tuple[str, str] | None = None
        self.build: dict[str, Any] = {}
        self._event.connect(self._on_event)

    # -- state ------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    @property
    def busy(self) -> bool:
        return self._state in ("loading", "generating", "starting")

    @property
    def pending_key(self) -> tuple[str, str] | None:
        """What is being loaded now, if anything."""
        return self._pending_key if self._load_req is not None else None

    @property
    def pid(self) -> int | None:
        return self._client.pid if self._client else None

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._client is not None and self._client.alive:
            return
        client = EngineClient(lambda ev: self._event.emit(client, ev), self._command)
        self._client = client
        self.loaded_info = None
        self.loaded_key = None
        self._set_state("starting")
        try:
            client.start()
        except OSError as exc:
            self._set_state("crashed")
            self.crashed.emit(f"The engine could not be started: {exc}")

    def restart(self) -> None:
        old = self._client
        self._client = None
        if old is not None:
            old.kill()
        self._load_req = self._gen_req = None
        self.start()

    def load(self, path: str, options: dict[str, Any], key: tuple[str, str]) -> None:
        self.start()
        assert self._client is not None
        self._pending_key = key
        self._load_req = self._client.request("load", path=path, options=options)
        self._set_state("loading")

    def generate(self, messages: list[dict[str, str]], sampling: dict[str, Any]) -> None:
        self.start()
        assert self._client is not None
        self._gen_req = self._client.request("generate", messages=messages, sampling=sampling)
        self._set_state("generating")

    def stop(self) -> None:
        if self._client is None:
            return
        if self._gen_req is not None:
            self._client.stop(self._gen_req)
        elif self._load_req is not None:
            self._client.stop(self._load_req)

    def unload(self) -> None:
        if self._client is not None and self._client.alive:
            self._client.request("unload")
        self.loaded_info = None
        self.loaded_key = None

    def shutdown(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close(timeout=3.0)
        self._set_state("stopped")

    def kill_for_test(self) -> None:
        """Kill the worker process (what a crash looks like); used by tests."""
        if self._client is not None:
            self._client.kill()

    # -- events -----------------------------------------------------------------------------

    @Slot(object, object)
    def _on_event(self, client: EngineClient, ev: dict[str, Any]) -> None:
        if client is not self._client:
            return  # a previous worker's last words
        kind = ev.get("event")
        req = ev.get("id")
        if kind == "ready":
            self.build = ev
            if self._state == "starting":
                self._set_state("idle")
            self.buildReady.emit(ev)
        elif kind == "progress" and req == self._load_req:
            self.loadProgress.emit(float(ev.get("fraction", 0.0)))
        elif kind == "loaded" and req == self._load_req:
            self._load_req = None
            self.loaded_info = ev.get("model") or {}
            self.loaded_key = self._pending_key
            self._set_state("idle")
            self.modelLoaded.emit(self.loaded_info)
        elif kind == "started" and req == self._gen_req:
            self.replyStarted.emit(ev)
        elif kind == "token" and req == self._gen_req:
            self.tokenReceived.emit(ev.get("text", ""))
        elif kind == "done" and req == self._gen_req:
            self._gen_req = None
            self._set_state("idle")
            self.replyDone.emit(ev.get("text", ""), ev.get("stats") or {})
        elif kind == "error":
            code, message = ev.get("code", "error"), ev.get("message", "engine error")
            if req is not None and req == self._load_req:
                self._load_req = None
                self.loaded_info = None
                self.loaded_key = None
                self._set_state("idle")
                self.loadFailed.emit(code, message)
            elif req is not None and req == self._gen_req:
                self._gen_req = None
                self._set_state("idle")
                self.replyFailed.emit(code, message)
        elif kind == "crashed":
            self._client = None
            self._load_req = self._gen_req = None
            self.loaded_info = None
            self.loaded_key = None
            self._set_state("crashed")
            self.crashed.emit(ev.get("message", "The engine stopped unexpectedly"))
