"""The GUI's handle on the engine worker process: requests in, Qt signals out.

Events arrive on the client's reader thread and are re-emitted as queued signals, so every slot
runs on the GUI thread. Stop goes straight to the worker (it is answered even while busy).

Signals:
    stateChanged(str)          an EngineState: starting, idle, loading, generating, crashed, stopped
    loadProgress(float)        0..1
    modelLoaded(dict)          model info from the worker (events.ModelInfo)
    loadFailed(str, str)       code, message; the model loaded before stays loaded (the worker
                               loads it again if llama.cpp failed after unloading it)
    replyStarted(dict)         prompt_tokens, reused_tokens, dropped_messages, n_ctx, template...
    tokenReceived(str)         a piece of the answer
    reasoningReceived(str)     a piece of the model's thinking (a token on the "reasoning" channel)
    replyDone(str, dict)       the answer's full text, stats (events.GenerationStats: its
                               ``reasoning`` is the thinking's full text, or None)
    replyFailed(str, str)      code, message
    crashed(str)               the worker died; the message says how
    buildReady(dict)           what the worker's llama.cpp build is and which devices it sees
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from app.engine.client import EngineClient
from app.engine.events import EngineEvent
from app.engine.protocol import Event, Op

log = logging.getLogger(__name__)


class EngineState(str, Enum):
    """The bridge's state; equal to (and emitted as) its name."""

    STARTING = "starting"
    IDLE = "idle"
    LOADING = "loading"
    GENERATING = "generating"
    CRASHED = "crashed"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)


class EngineBridge(QObject):
    stateChanged = Signal(str)
    loadProgress = Signal(float)
    modelLoaded = Signal(dict)
    loadFailed = Signal(str, str)
    replyStarted = Signal(dict)
    tokenReceived = Signal(str)
    reasoningReceived = Signal(str)
    replyDone = Signal(str, dict)
    replyFailed = Signal(str, str)
    crashed = Signal(str)
    buildReady = Signal(dict)
    _event = Signal(object, object)  # (client, event) from the reader thread

    def __init__(self, command: list[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._command = command
        self._client: EngineClient | None = None
        self._state = EngineState.STOPPED
        self._load_req: int | None = None
        self._gen_req: int | None = None
        # Plain dicts, as the fit code reads them (a ModelInfo and the ready event's build facts).
        self.loaded_info: dict[str, Any] | None = None
        self.loaded_key: tuple[str, str] | None = None  # (path, options json) of the loaded model
        self._pending_key: tuple[str, str] | None = None
        self.build: dict[str, Any] = {}
        self._event.connect(self._on_event)

    # -- state ------------------------------------------------------------------------------

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def busy(self) -> bool:
        return self._state in (EngineState.LOADING, EngineState.GENERATING, EngineState.STARTING)

    @property
    def pending_key(self) -> tuple[str, str] | None:
        """What is being loaded now, if anything."""
        return self._pending_key if self._load_req is not None else None

    @property
    def pid(self) -> int | None:
        return self._client.pid if self._client else None

    def _set_state(self, state: EngineState) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state.value)

    # -- control ----------------------------------------------------------------------------

    def start(self) -> None:
        if self._client is not None and self._client.alive:
            return
        client = EngineClient(lambda ev: self._event.emit(client, ev), self._command)
        self._client = client
        self.loaded_info = None
        self.loaded_key = None
        self._set_state(EngineState.STARTING)
        try:
            client.start()
        except OSError as exc:
            log.error("the engine could not be started: %s", exc)
            self._set_state(EngineState.CRASHED)
            self.crashed.emit(f"The engine could not be started: {exc}")

    def load(self, path: str, options: dict[str, Any], key: tuple[str, str]) -> None:
        self.start()
        assert self._client is not None
        self._pending_key = key
        self._load_req = self._client.request(Op.LOAD, path=path, options=options)
        self._set_state(EngineState.LOADING)

    def generate(
        self,
        messages: list[dict[str, str]],
        sampling: dict[str, Any],
        template_kwargs: dict[str, Any] | None = None,
    ) -> None:
        """Ask for a reply; ``template_kwargs``: the chat template's options (enable_thinking,
        reasoning_effort)."""
        self.start()
        assert self._client is not None
        extra: dict[str, Any] = {"template_kwargs": template_kwargs} if template_kwargs else {}
        self._gen_req = self._client.request(
            Op.GENERATE, messages=messages, sampling=sampling, **extra
        )
        self._set_state(EngineState.GENERATING)

    def stop(self) -> None:
        if self._client is None:
            return
        if self._gen_req is not None:
            self._client.stop(self._gen_req)
        elif self._load_req is not None:
            self._client.stop(self._load_req)

    def unload(self) -> None:
        if self._client is not None and self._client.alive:
            self._client.request(Op.UNLOAD)
        self.loaded_info = None
        self.loaded_key = None

    def shutdown(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close(timeout=3.0)
        self._set_state(EngineState.STOPPED)

    # -- events -----------------------------------------------------------------------------

    @Slot(object, object)
    def _on_event(self, client: EngineClient, ev: EngineEvent) -> None:
        if client is not self._client:
            return  # a previous worker's last words
        if ev["event"] == Event.READY:
            self.build = dict(ev)
            if self._state == EngineState.STARTING:
                self._set_state(EngineState.IDLE)
            self.buildReady.emit(ev)
        elif ev["event"] == Event.PROGRESS and ev["id"] == self._load_req:
            self.loadProgress.emit(float(ev["fraction"]))
        elif ev["event"] == Event.LOADED and ev["id"] == self._load_req:
            self._load_req = None
            self.loaded_info = dict(ev["model"])
            self.loaded_key = self._pending_key
            self._set_state(EngineState.IDLE)
            self.modelLoaded.emit(self.loaded_info)
        elif ev["event"] == Event.STARTED and ev["id"] == self._gen_req:
            self.replyStarted.emit(ev)
        elif ev["event"] == Event.TOKEN and ev["id"] == self._gen_req:
            if ev.get("channel") == "reasoning":
                self.reasoningReceived.emit(ev["text"])
            else:
                self.tokenReceived.emit(ev["text"])
        elif ev["event"] == Event.DONE and ev["id"] == self._gen_req:
            self._gen_req = None
            self._set_state(EngineState.IDLE)
            self.replyDone.emit(ev["text"], ev["stats"])
        elif ev["event"] == Event.ERROR:
            req, code, message = ev["id"], ev["code"], ev["message"]
            if req is not None and req == self._load_req:
                log.warning("loading a model failed (%s): %s", code, message)
                self._load_req = None
                if "loaded" in ev:  # what the worker has loaded now (the previous model, or none)
                    after = ev.get("loaded")
                    if not after or after.get("path") != (self.loaded_info or {}).get("path"):
                        self.loaded_info = dict(after) if after else None
                        self.loaded_key = None
                self._set_state(EngineState.IDLE)
                self.loadFailed.emit(code, message)
            elif req is not None and req == self._gen_req:
                self._gen_req = None
                self._set_state(EngineState.IDLE)
                self.replyFailed.emit(code, message)
        elif ev["event"] == Event.CRASHED:
            self._client = None
            self._load_req = self._gen_req = None
            self.loaded_info = None
            self.loaded_key = None
            self._set_state(EngineState.CRASHED)
            self.crashed.emit(ev["message"])
