"""The app's side of the engine: starts the worker process and exchanges protocol messages.

No llama_cpp here: this module is imported by the GUI and the CLI. ``EngineClient`` calls
``on_event`` from its reader thread; ``BlockingEngine`` wraps it for the CLI, benchmarks and tests.
"""

from __future__ import annotations

import collections
import itertools
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from app.engine import protocol as P
from app.engine.protocol import EngineError

Event = dict[str, Any]


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
        on_event: Callable[[Event], None],
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
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self.ready = threading.Event()
        self.build: Event = {}

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
        self.ready.clear()
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
                    self.stderr_tail.append(line)

    def _read_events(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                try:
                    event = P.decode(line)
                except ValueError:
                    self.stderr_tail.append(
                        "unreadable engine output: " + line[:200].decode(errors="replace")
                    )
                    continue
                if event.get("event") == "ready":
                    self.build = event
                    self.ready.set()
                self._on_event(event)
        rc = proc.wait()
        self._close_stdin(proc)
        if proc is not self._proc:
            return
        if self._closing and rc in (0, -signal.SIGTERM, -signal.SIGKILL, 1):
            self._on_event({"event": "exited", "returncode": rc})
            return
        time.sleep(0.05)  # let the stderr reader catch the last lines
        tail = list(self.stderr_tail)[-20:]
        hint = next(
            (t for t in reversed(tail) if "error" in t.lower() or "assert" in t.lower()), ""
        )
        message = describe_exit(rc)[0].upper() + describe_exit(rc)[1:]
        if hint:
            message += f": {hint.strip()}"
        self._on_event(
            {"event": "crashed", "returncode": rc, "message": message, "stderr_tail": tail}
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

    def request(self, op: str, **fields: Any) -> int:
        req_id = next(self._ids)
        self._send({"op": op, "id": req_id, **fields})
        return req_id

    def stop(self, req_id: int | None) -> None:
        """Stop request ``req_id`` (None: whatever runs)."""
        self._send({"op": "stop", "id": req_id if req_id is not None else -1})

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
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()


class BlockingEngine:
    """A synchronous front to one worker: ``load`` and ``chat`` block until they finish."""

    def __init__(self, command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        self._events: queue.Queue[Event] = queue.Queue()
        self.client = EngineClient(self._events.put, command, env)
        self.client.start()
        ready = self._next(timeout=120)
        if ready.get("event") != "ready":
            raise EngineError("crashed", ready.get("message") or f"unexpected first event {ready}")
        self.build = ready

    def _next(self, timeout: float | None = None) -> Event:
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            raise EngineError("timeout", "the engine did not answer in time") from None
        if event.get("event") in ("crashed", "exited"):
            raise EngineError(
                "crashed", event.get("message") or describe_exit(event.get("returncode"))
            )
        return event

    def _until(self, req_id: int, final: set[str]) -> Iterator[Event]:
        while True:
            event = self._next()
            if event.get("id") not in (req_id, None):
                continue
            if event.get("event") == "error":
                raise EngineError(event.get("code", "error"), event.get("message", "engine error"))
            yield event
            if event.get("event") in final:
                return

    def load(
        self,
        path: str,
        options: dict[str, Any] | None = None,
        on_progress: Callable[[float], None] | None = None,
    ) -> dict[str, Any]:
        req = self.client.request("load", path=path, options=options or {})
        for event in self._until(req, {"loaded"}):
            if event["event"] == "progress" and on_progress:
                on_progress(event["fraction"])
            elif event["event"] == "loaded":
                return event["model"]
        raise AssertionError("unreachable")

    def chat(
        self,
        messages: list[dict[str, str]],
        sampling: dict[str, Any] | None = None,
        on_token: Callable[[str], None] | None = None,
        on_started: Callable[[Event], None] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        req = self.client.request("generate", messages=messages, sampling=sampling or {})
        self.current = req
        for event in self._until(req, {"done"}):
            kind = event["event"]
            if kind == "token" and on_token:
                on_token(event["text"])
            elif kind == "started" and on_started:
                on_started(event)
            elif kind == "done":
                return event["text"], event["stats"]
        raise AssertionError("unreachable")

    def status(self) -> dict[str, Any]:
        """What the worker holds now (answered even while it is busy)."""
        req = self.client.request("status")
        for event in self._until(req, {"status"}):
            if event["event"] == "status":
                return event
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self.client.stop(getattr(self, "current", None))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> BlockingEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
