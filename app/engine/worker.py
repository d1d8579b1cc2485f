"""The engine worker process: reads requests on stdin, writes events on stdout (see protocol.py).

Run as ``python -m app.engine.worker`` (or the frozen app with ``--engine-worker``). The protocol
stream is a private copy of the original stdout; file descriptor 1 is pointed at stderr so that
nothing llama.cpp or a library prints can corrupt the protocol.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any, BinaryIO

from app.core.options import LoadOptions, OptionError, SamplingOptions
from app.engine import protocol as P


class _TokenBatcher:
    """Sends streamed text at most every ``interval`` seconds, the first piece at once.

    A fast model (a token every few milliseconds) then costs the app one message per ~30 ms
    instead of one per token; a slow model's tokens still go out as each one arrives.
    """

    def __init__(self, send: Callable[[str], None], interval: float = 0.03) -> None:
        self._send = send
        self._interval = interval
        self._parts: list[str] = []
        self._last = 0.0

    def add(self, text: str) -> None:
        self._parts.append(text)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if self._parts:
            self._send("".join(self._parts))
            self._parts = []
            self._last = time.monotonic() if now is None else now


class Worker:
    def __init__(self, inp: BinaryIO, out: BinaryIO) -> None:
        self._in = inp
        self._out = out
        self._write_lock = threading.Lock()
        self._requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._current: int | None = None  # id of the request being served
        self._current_op: str | None = None
        self._stop_ids: set[int] = set()
        self._runtime: Any = None

    # -- output -----------------------------------------------------------------------------

    def send(self, event: str, **fields: Any) -> None:
        data = P.encode({"event": event, **fields})
        with self._write_lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError):
                # The app is gone; finish quietly.
                os._exit(0)

    # -- input ------------------------------------------------------------------------------

    def _reader(self) -> None:
        for line in self._in:
            if not line.strip():
                continue
            try:
                msg = P.decode(line)
            except ValueError as exc:
                self.send(
                    "error", id=None, code=P.BAD_REQUEST, message=f"unreadable request: {exc}"
                )
                continue
            op = msg.get("op")
            if op == "stop":
                target = msg.get("id")
                self._stop_ids.add(target if isinstance(target, int) else -1)
            elif op == "status":
                self._send_status(msg.get("id"))
            elif op == "exit":
                break
            else:
                self._requests.put(msg)
        # End of input: the app closed the pipe or asked us to exit. Stop what runs, then quit.
        self._stop_ids.add(-1)
        self._requests.put(None)

    def _should_stop(self) -> bool:
        return self._current in self._stop_ids or -1 in self._stop_ids

    def _send_status(self, req_id: Any) -> None:
        rt = self._runtime
        loaded = rt.loaded.info if rt is not None and rt.loaded is not None else None
        import psutil

        self.send(
            "status",
            id=req_id,
            loaded=loaded,
            busy=self._current_op,
            context_used=len(rt.cache_tokens) if rt is not None else 0,
            rss=int(psutil.Process().memory_info().rss),
        )

    # -- main loop --------------------------------------------------------------------------

    def run(self) -> int:
        from app.engine.runtime import Runtime

        echo = os.environ.get("HEARTH_ENGINE_LOG") == "1"
        from app.engine.runtime import LogCapture

        self._runtime = Runtime(LogCapture(echo=echo))
        self.send("ready", pid=os.getpid(), **self._runtime.build_info())
        threading.Thread(target=self._reader, name="protocol-reader", daemon=True).start()
        while True:
            msg = self._requests.get()
            if msg is None:
                break
            req_id = msg.get("id")
            self._current, self._current_op = req_id, msg.get("op")
            try:
                self._dispatch(msg)
            except Exception as exc:
                from app.engine.protocol import EngineError

                if isinstance(exc, EngineError):
                    self.send("error", id=req_id, code=exc.code, message=str(exc))
                else:
                    self.send(
                        "error",
                        id=req_id,
                        code=P.INTERNAL,
                        message=f"{type(exc).__name__}: {exc}",
                        detail=traceback.format_exc(),
                    )
            finally:
                self._stop_ids.discard(req_id)
                self._current, self._current_op = None, None
        self._runtime.unload()
        return 0

    def _dispatch(self, msg: dict[str, Any]) -> None:
        op, req_id = msg.get("op"), msg.get("id")
        if op == "load":
            self._load(req_id, msg)
        elif op == "generate":
            self._generate(req_id, msg)
        elif op == "unload":
            self._runtime.unload()
            self.send("unloaded", id=req_id)
        else:
            self.send("error", id=req_id, code=P.BAD_REQUEST, message=f"unknown op {op!r}")

    def _load(self, req_id: int, msg: dict[str, Any]) -> None:
        path = msg.get("path")
        if not isinstance(path, str):
            self.send("error", id=req_id, code=P.BAD_REQUEST, message="load needs a path")
            return
        try:
            options = LoadOptions.from_dict(msg.get("options"))
        except (OptionError, TypeError) as exc:
            self.send("error", id=req_id, code=P.BAD_REQUEST, message=str(exc))
            return
        last = [-1.0]

        def progress(fraction: float) -> bool:
            if fraction - last[0] >= 0.02 or fraction >= 1.0:
                last[0] = fraction
                self.send("progress", id=req_id, fraction=round(fraction, 3))
            return not self._should_stop()

        info = self._runtime.load(path, options, progress)
        self.send("loaded", id=req_id, model=info)

    def _generate(self, req_id: int, msg: dict[str, Any]) -> None:
        messages = msg.get("messages")
        if (
            not isinstance(messages, list)
            or not all(
                isinstance(m, dict)
                and isinstance(m.get("content"), str)
                and m.get("role") in ("system", "user", "assistant")
                for m in messages
            )
            or not messages
        ):
            self.send(
                "error", id=req_id, code=P.BAD_REQUEST, message="generate needs a list of messages"
            )
            return
        try:
            sampling = SamplingOptions.from_dict(msg.get("sampling"))
        except (OptionError, TypeError) as exc:
            self.send("error", id=req_id, code=P.BAD_REQUEST, message=str(exc))
            return
        send = self.send
        tokens = _TokenBatcher(lambda text: send("token", id=req_id, text=text))
        text, stats = self._runtime.generate(
            [{"role": m["role"], "content": m["content"]} for m in messages],
            sampling,
            emit=tokens.add,
            should_stop=self._should_stop,
            on_started=lambda info: send("started", id=req_id, **info),
        )
        tokens.flush()
        self.send("done", id=req_id, text=text, stats=stats)


def main() -> int:
    # Ctrl+C in a terminal reaches every process of the foreground group, the worker too: the
    # client decides what it means (stop the reply), and closing stdin is how the worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Keep a private handle on the protocol pipe, then send fd 1 to stderr.
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out = os.fdopen(proto_fd, "wb", buffering=0)
    inp = os.fdopen(os.dup(0), "rb")
    return Worker(inp, out).run()


if __name__ == "__main__":
    sys.exit(main())
