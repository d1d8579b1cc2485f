"""The local API's handle on an engine worker: one model loaded, replies streamed to asyncio.

The worker answers one request at a time and queues the rest in order; each HTTP request gets its
own asyncio queue of the worker's events for its request id. A client that goes away has its
request stopped at once (a queued one is dropped before it starts). If the worker dies, every
open request ends with an error, the link says it is restarting (the API answers 503 with
Retry-After), and a new worker loads the same model.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from app.engine.client import EngineClient
from app.engine.events import EngineEvent
from app.engine.protocol import Event, Op

log = logging.getLogger(__name__)

LOAD_TIMEOUT_S = 600.0


class LinkState(str, Enum):
    STARTING = "starting"
    READY = "ready"
    RESTARTING = "restarting"
    FAILED = "failed"


@dataclass
class Stream:
    """The events of one request, as the worker sends them."""

    req_id: int
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)


class EngineLink:
    def __init__(
        self,
        model_path: str,
        load_options: dict[str, Any],
        command: list[str] | None = None,
    ) -> None:
        self.model_path = model_path
        self.load_options = dict(load_options)
        self._command = command
        self.state = LinkState.STARTING
        self.error: str = ""
        self.info: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: EngineClient | None = None
        self._streams: dict[int, Stream] = {}
        self._lock = threading.Lock()
        self._loaded = threading.Event()
        self._load_req: int | None = None
        self._load_error: str = ""

    # -- life ---------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start a worker and load the model (blocking: call it from a thread)."""
        self._loop = loop
        self._start_worker()

    def _start_worker(self) -> None:
        self._loaded.clear()
        self._load_error = ""
        client = EngineClient(lambda ev: self._on_event(client, ev), self._command)
        self._client = client
        client.start()
        self._load_req = client.request(Op.LOAD, path=self.model_path, options=self.load_options)
        if not self._loaded.wait(LOAD_TIMEOUT_S):
            self._fail("the model did not load in time")
        elif self._load_error:
            self._fail(self._load_error)
        else:
            self.state = LinkState.READY

    def _fail(self, message: str) -> None:
        self.error = message
        self.state = LinkState.FAILED
        log.warning("the local API's engine failed: %s", message)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close(timeout=3.0)

    @property
    def ready(self) -> bool:
        return self.state == LinkState.READY

    # -- requests -------------------------------------------------------------------------------

    def generate(
        self,
        messages: list[dict[str, str]] | None,
        sampling: dict[str, Any],
        template_kwargs: dict[str, Any] | None = None,
        prompt: str | None = None,
    ) -> Stream:
        """A reply to ``messages``, or ``prompt`` continued as it is (no chat template)."""
        client = self._client
        if client is None or not self.ready:
            raise RuntimeError(self.error or "the engine is not ready")
        extra: dict[str, Any] = {"template_kwargs": template_kwargs} if template_kwargs else {}
        if prompt is not None:
            extra["prompt"] = prompt
        else:
            extra["messages"] = messages
        with self._lock:
            req_id = client.request(Op.GENERATE, sampling=sampling, **extra)
            stream = Stream(req_id)
            self._streams[req_id] = stream
        return stream

    def stop(self, stream: Stream) -> None:
        """The client is gone: stop its request (or drop it before it starts)."""
        with self._lock:
            known = self._streams.pop(stream.req_id, None)
        client = self._client
        if known is not None and client is not None:
            client.stop(stream.req_id)

    def finished(self, stream: Stream) -> None:
        with self._lock:
            self._streams.pop(stream.req_id, None)

    # -- events (the client's reader thread) ----------------------------------------------------

    def _on_event(self, client: EngineClient, event: EngineEvent) -> None:
        if client is not self._client:
            return
        ev: dict[str, Any] = dict(event)
        kind = ev["event"]
        if kind == Event.LOADED and ev.get("id") == self._load_req:
            self.info = dict(ev["model"])
            self._loaded.set()
        elif kind == Event.ERROR and ev.get("id") == self._load_req:
            self._load_error = str(ev.get("message") or "the model could not be loaded")
            self._loaded.set()
        elif kind == Event.CRASHED:
            self._on_crash(str(ev.get("message") or "the engine stopped"))
        else:
            req = ev.get("id")
            with self._lock:
                stream = self._streams.get(req) if isinstance(req, int) else None
            if stream is not None:
                self._deliver(stream, ev)

    def _deliver(self, stream: Stream, ev: dict[str, Any]) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stream.queue.put_nowait, ev)

    def _on_crash(self, message: str) -> None:
        if not self._loaded.is_set():  # it died loading the model: that load fails, no retry
            self._load_error = message
            self._loaded.set()
            return
        log.warning("the local API's engine crashed: %s; starting a new one", message)
        self.state = LinkState.RESTARTING
        with self._lock:
            streams, self._streams = list(self._streams.values()), {}
        for stream in streams:
            self._deliver(
                stream, {"event": "error", "code": "crashed", "message": message, "crashed": True}
            )
        threading.Thread(target=self._start_worker, name="api-engine-restart", daemon=True).start()
