"""The app's side of the engine: starts the worker process and exchanges protocol messages.

No llama_cpp here: this module is imported by the GUI and the CLI. ``EngineClient`` calls
``on_event`` from its reader thread; ``BlockingEngine`` wraps it for the CLI, benchmarks and tests.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

from app.core.quality.stats import QualityResult
from app.engine import protocol as P
from app.engine.events import (
    EngineEvent,
    GenerationStats,
    ModelInfo,
    StartedEvent,
    StatusEvent,
)
from app.engine.protocol import EngineError, ErrorCode, Event, Op

log = logging.getLogger(__name__)


def worker_command() -> list[str]:
    """How to start a worker: the frozen app's own executable, or this Python."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "--engine-worker"]
    return [sys.executable, "-m", "app.engine.worker"]


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "the engine stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        meaning = {
            "SIGKILL": "killed (out of memory, or ended by another program)",
            "SIGABRT": "aborted by llama.cpp",
            "SIGSEGV": "crashed (memory fault)",
            "SIGTERM": "terminated",
            # The portable build needs AVX2; a CPU without it stops at the first such instruction.
            "SIGILL": "stopped by an instruction this CPU does not have (the llama.cpp build "
            "needs a newer CPU: build Hearth with HEARTH_BACKEND=cpu on this machine)",
        }.get(name, "ended by a signal")
        return f"the engine was {meaning} [{name}]"
    return f"the engine exited unexpectedly with code {returncode}"


class EngineClient:
    """One worker process. Thread-safe ``request``/``stop``; events arrive on a reader thread."""

    def __init__(
        self,
        on_event: Callable[[EngineEvent], None],
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self._on_event = on_event
        self._command = command or worker_command()
        self._env = env
        self._proc: subprocess.Popen[bytes] | None = None
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._closing = False
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=60)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        env = dict(os.environ if self._env is None else self._env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        creationflags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        self._closing = False
        self._proc = subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            creationflags=creationflags,
        )
        proc = self._proc
        threading.Thread(
            target=self._read_events, args=(proc,), name="engine-events", daemon=True
        ).start()
        threading.Thread(
            target=self._read_stderr, args=(proc,), name="engine-stderr", daemon=True
        ).start()

    def _read_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for raw in proc.stderr:
                line = raw.decode("utf-8", errors="replace").rstrip()
                if line:
                    self._stderr_tail.append(line)

    def _read_events(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                try:
                    event = P.decode(line)
                except ValueError:
                    self._stderr_tail.append(
                        "unreadable engine output: " + line[:200].decode(errors="replace")
                    )
                    continue
                self._on_event(cast(EngineEvent, event))
        rc = proc.wait()
        self._close_stdin(proc)
        if proc is not self._proc:
            return
        if self._closing and rc in (0, -signal.SIGTERM, -signal.SIGKILL, 1):
            log.info("the engine (pid %d) exited with code %d, as asked", proc.pid, rc)
            self._on_event({"event": Event.EXITED, "returncode": rc})
            return
        time.sleep(0.05)  # let the stderr reader catch the last lines
        tail = list(self._stderr_tail)[-20:]
        hint = next(
            (t for t in reversed(tail) if "error" in t.lower() or "assert" in t.lower()), ""
        )
        how = describe_exit(rc)
        message = how[0].upper() + how[1:]
        if hint:
            message += f": {hint.strip()}"
        log.warning("the engine (pid %d) ended unexpectedly: %s", proc.pid, message)
        self._on_event(
            {"event": Event.CRASHED, "returncode": rc, "message": message, "stderr_tail": tail}
        )

    def _close_stdin(self, proc: subprocess.Popen[bytes]) -> None:
        with self._write_lock:
            try:
                if proc.stdin and not proc.stdin.closed:
                    proc.stdin.close()
            except OSError:
                pass

    def _send(self, msg: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise RuntimeError("the engine is not running")
        with self._write_lock:
            try:
                proc.stdin.write(P.encode(msg))
                proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass  # the reader thread reports the exit

    def request(self, op: Op, **fields: Any) -> int:
        req_id = next(self._ids)
        self._send({"op": op, "id": req_id, **fields})
        return req_id

    def stop(self, req_id: int | None) -> None:
        """Stop request ``req_id`` (None: whatever runs)."""
        self._send({"op": Op.STOP, "id": req_id if req_id is not None else -1})

    def close(self, timeout: float = 5.0) -> None:
        """Ask the worker to finish; kill it if it does not within ``timeout``."""
        proc = self._proc
        if proc is None:
            return
        self._closing = True
        self._close_stdin(proc)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("the engine (pid %d) did not finish in %.0f s: killed", proc.pid, timeout)
            proc.kill()
            proc.wait()


class BlockingEngine:
    """A synchronous front to one worker: ``load`` and ``chat`` block until they finish."""

    def __init__(self, command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self._events: queue.Queue[EngineEvent] = queue.Queue()
        self._generating: int | None = None
        self.client = EngineClient(self._events.put, command, env)
        self.client.start()
        ready = self._next(timeout=120)
        if ready["event"] != Event.READY:
            raise EngineError(ErrorCode.CRASHED, f"unexpected first event {ready}")
        self.build: dict[str, Any] = dict(ready)  # as hardware.probe_build reads it

    def _next(self, timeout: float | None = None) -> EngineEvent:
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            raise EngineError(ErrorCode.TIMEOUT, "the engine did not answer in time") from None
        if event["event"] == Event.CRASHED:
            raise EngineError(ErrorCode.CRASHED, event["message"])
        if event["event"] == Event.EXITED:
            raise EngineError(ErrorCode.CRASHED, describe_exit(event["returncode"]))
        return event

    def _until(self, req_id: int, final: Event) -> Iterator[EngineEvent]:
        """The events answering ``req_id`` up to its ``final`` one; an error raises."""
        while True:
            event = self._next()
            if event.get("id") not in (req_id, None):
                continue
            if event["event"] == Event.ERROR:
                raise EngineError(event["code"], event["message"])
            yield event
            if event["event"] == final:
                return

    def load(
        self,
        path: str,
        options: dict[str, Any] | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> ModelInfo:
        req = self.client.request(Op.LOAD, path=path, options=options or {})
        self._generating = req  # ``stop`` stops the load
        try:
            for event in self._until(req, Event.LOADED):
                if event["event"] == Event.PROGRESS and on_progress:
                    on_progress(event["fraction"])
                elif event["event"] == Event.LOADED:
                    return event["model"]
        except EngineError as exc:
            log.warning("loading a model failed (%s): %s", exc.code, exc)
            raise
        raise AssertionError("unreachable")

    def chat(
        self,
        messages: list[dict[str, str]],
        sampling: dict[str, Any] | None = None,
        on_token: Callable[[str], None] | None = None,
        on_started: Callable[[StartedEvent], None] | None = None,
        on_reasoning: Callable[[str], None] | None = None,
        template_kwargs: dict[str, Any] | None = None,
    ) -> tuple[str, GenerationStats]:
        """A reply; with ``on_reasoning``, thinking goes there and ``on_token`` gets the answer
        only (without it, ``on_token`` gets both, as the window shows them). ``template_kwargs``:
        template options (``enable_thinking``, ``reasoning_effort``; see protocol.py)."""
        extra: dict[str, Any] = {"template_kwargs": template_kwargs} if template_kwargs else {}
        req = self.client.request(Op.GENERATE, messages=messages, sampling=sampling or {}, **extra)
        self._generating = req
        for event in self._until(req, Event.DONE):
            if event["event"] == Event.TOKEN and on_reasoning and "channel" in event:
                on_reasoning(event["text"])
            elif event["event"] == Event.TOKEN and on_token:
                on_token(event["text"])
            elif event["event"] == Event.STARTED and on_started:
                on_started(event)
            elif event["event"] == Event.DONE:
                return event["text"], event["stats"]
        raise AssertionError("unreachable")

    def quality(
        self,
        model: str,
        reference: str | None = None,
        text_path: str | None = None,
        n_ctx: int = 512,
        chunks: int | None = None,
        threads: int | None = None,
        on_event: Callable[[EngineEvent], None] | None = None,
    ) -> QualityResult:
        """Perplexity of ``model`` (and its KL divergence from ``reference``); ``on_event`` gets
        the ``estimate`` and ``progress`` events as they come."""
        req = self.client.request(
            Op.QUALITY,
            model=model,
            reference=reference,
            text_path=text_path,
            n_ctx=n_ctx,
            chunks=chunks,
            threads=threads,
        )
        return cast(QualityResult, self._result(req, Event.MEASURED, on_event))

    def quantize(
        self,
        source: str,
        type_name: str,
        out: str | None = None,
        allow_requantize: bool = False,
        on_event: Callable[[EngineEvent], None] | None = None,
    ) -> dict[str, Any]:
        """Make a quant of ``source``; ``on_event`` gets ``planned`` and ``progress``. A stopped
        quantize ends this worker (llama.cpp's quantizer cannot be interrupted)."""
        req = self.client.request(
            Op.QUANTIZE, source=source, type=type_name, out=out, allow_requantize=allow_requantize
        )
        return cast(dict[str, Any], self._result(req, Event.QUANTIZED, on_event))

    def _result(
        self, req: int, final: Event, on_event: Callable[[EngineEvent], None] | None
    ) -> Any:
        """The ``result`` of a long request's ``final`` event; the events before it go to
        ``on_event`` (and a stop is for this request)."""
        self._generating = req
        for event in self._until(req, final):
            if event["event"] == final:
                return event["result"]  # type: ignore[typeddict-item]
            if on_event:
                on_event(event)
        raise AssertionError("unreachable")

    def status(self) -> StatusEvent:
        """What the worker holds now (answered even while it is busy)."""
        req = self.client.request(Op.STATUS)
        for event in self._until(req, Event.STATUS):
            if event["event"] == Event.STATUS:
                return event
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self.client.stop(self._generating)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> BlockingEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
