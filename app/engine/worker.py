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
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from app.core.chat.reasoning import REASONING
from app.core.options import LoadOptions, OptionError, SamplingOptions
from app.engine import protocol as P
from app.engine.events import (
    EngineEvent,
    GenerationStats,
    ModelInfo,
    StartedInfo,
    TokenEvent,
)
from app.engine.protocol import EngineError, ErrorCode, Event, Op
from app.engine.streaming import TokenBatcher

if TYPE_CHECKING:
    from app.engine.runtime import Runtime

_ROLES = ("system", "user", "assistant")


# Events that end the request they answer.
_LAST_EVENTS = frozenset(
    {Event.LOADED, Event.DONE, Event.UNLOADED, Event.ERROR, Event.MEASURED, Event.QUANTIZED}
)


class Worker:
    """Serves one request at a time from a queue the reader thread fills; ``stop`` and
    ``status`` are answered by the reader thread itself, at once."""

    def __init__(self, inp: BinaryIO, out: BinaryIO) -> None:
        self._in = inp
        self._out = out
        self._write_lock = threading.Lock()
        self._requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._current: int | None = None  # id of the request being served
        self._current_op: Op | None = None
        self._stop_ids: set[int] = set()
        # Requests taken from the queue while replies were written together, handled next.
        self._held: list[dict[str, Any] | None] = []
        self._runtime: Runtime | None = None

    # -- output -----------------------------------------------------------------------------

    def send(self, event: EngineEvent) -> None:
        current = self._current
        if event["event"] in _LAST_EVENTS and current is not None and event.get("id") == current:
            # The request's last event: what runs is over once it is out, so a status asked for
            # on seeing it does not still say busy.
            self._current_op = None
        data = P.encode(event)
        with self._write_lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (BrokenPipeError, ValueError):
                # The app is gone; finish quietly.
                os._exit(0)

    def _error(self, req_id: int | None, code: ErrorCode, message: str) -> None:
        self.send({"event": Event.ERROR, "id": req_id, "code": code, "message": message})

    def _load_error(self, req_id: int | None, exc: EngineError, loaded: ModelInfo | None) -> None:
        self.send(
            {
                "event": Event.ERROR,
                "id": req_id,
                "code": exc.code,
                "message": str(exc),
                "loaded": loaded,
            }
        )

    # -- input ------------------------------------------------------------------------------

    def _reader(self) -> None:
        for line in self._in:
            if not line.strip():
                continue
            try:
                msg = P.decode(line)
            except ValueError as exc:
                self._error(None, ErrorCode.BAD_REQUEST, f"unreadable request: {exc}")
                continue
            op = msg.get("op")
            if op == Op.STOP:
                target = msg.get("id")
                if isinstance(target, int) and target >= 0:
                    self._stop_ids.add(target)  # now, or when it starts if it is queued
                elif self._current is not None:
                    self._stop_ids.add(self._current)  # "whatever runs": only what runs now
            elif op == Op.STATUS:
                self._send_status(msg.get("id"))
            elif op == Op.EXIT:
                break
            else:
                self._requests.put(msg)
        # End of input: the app closed the pipe or asked us to exit. Stop what runs, then quit.
        self._stop_ids.add(-1)
        self._requests.put(None)

    def _should_stop(self) -> bool:
        return self._current in self._stop_ids or -1 in self._stop_ids

    def _send_status(self, req_id: int | None) -> None:
        rt = self._runtime
        loaded = rt.loaded.info if rt is not None and rt.loaded is not None else None
        import psutil

        self.send(
            {
                "event": Event.STATUS,
                "id": req_id,
                "loaded": loaded,
                "busy": self._current_op,
                "context_used": len(rt.cache_tokens) if rt is not None else 0,
                "rss": int(psutil.Process().memory_info().rss),
            }
        )

    # -- main loop --------------------------------------------------------------------------

    def run(self) -> int:
        from app.engine.devices import build_info
        from app.engine.llama_log import LogCapture
        from app.engine.runtime import Runtime

        echo = os.environ.get("HEARTH_ENGINE_LOG") == "1"
        runtime = self._runtime = Runtime(LogCapture(echo=echo))
        self.send({"event": Event.READY, "pid": os.getpid(), **build_info()})
        threading.Thread(target=self._reader, name="protocol-reader", daemon=True).start()
        while True:
            msg = self._held.pop(0) if self._held else self._requests.get()
            if msg is None:
                break
            # Ids are echoed as the request gave them (the protocol's are integers).
            req_id: Any = msg.get("id")
            self._current, self._current_op = req_id, msg.get("op")
            try:
                self._dispatch(runtime, req_id, msg)
            except EngineError as exc:
                if msg.get("op") == Op.LOAD:  # the model loaded after a failed load, if any
                    self._load_error(req_id, exc, runtime.loaded_info())
                else:
                    self._error(req_id, exc.code, str(exc))
            except Exception as exc:
                self.send(
                    {
                        "event": Event.ERROR,
                        "id": req_id,
                        "code": ErrorCode.INTERNAL,
                        "message": f"{type(exc).__name__}: {exc}",
                        "detail": traceback.format_exc(),
                    }
                )
            finally:
                self._stop_ids.discard(req_id)
                self._current, self._current_op = None, None
        runtime.unload()
        return 0

    def _dispatch(self, runtime: Runtime, req_id: int, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == Op.LOAD:
            self._load(runtime, req_id, msg)
        elif op == Op.GENERATE:
            self._generate(runtime, req_id, msg)
        elif op == Op.UNLOAD:
            runtime.unload()
            self.send({"event": Event.UNLOADED, "id": req_id})
        elif op == Op.QUALITY:
            self._quality(runtime, req_id, msg)
        elif op == Op.QUANTIZE:
            self._quantize(runtime, req_id, msg)
        else:
            self._error(req_id, ErrorCode.BAD_REQUEST, f"unknown op {op!r}")

    def _load(self, runtime: Runtime, req_id: int, msg: dict[str, Any]) -> None:
        path = msg.get("path")
        if not isinstance(path, str):
            self._error(req_id, ErrorCode.BAD_REQUEST, "load needs a path")
            return
        try:
            options = LoadOptions.from_dict(msg.get("options"))
        except (OptionError, TypeError) as exc:
            self._error(req_id, ErrorCode.BAD_REQUEST, str(exc))
            return
        last = -1.0

        def progress(fraction: float) -> bool:
            nonlocal last
            if fraction - last >= 0.02 or fraction >= 1.0:
                last = fraction
                self.send({"event": Event.PROGRESS, "id": req_id, "fraction": round(fraction, 3)})
            return not self._should_stop()

        info = runtime.load(path, options, progress)
        self.send({"event": Event.LOADED, "id": req_id, "model": info})

    def _read_generate(
        self, req_id: int, msg: dict[str, Any]
    ) -> tuple[list[dict[str, str]], str | None, SamplingOptions, dict[str, Any]] | None:
        """A generate request's messages (or raw prompt), sampling and template options; None
        when it is malformed (the error is sent)."""
        messages = msg.get("messages")
        prompt = msg.get("prompt")  # raw text to continue, without the chat template
        if prompt is not None:
            if not isinstance(prompt, str) or messages is not None:
                self._error(req_id, ErrorCode.BAD_REQUEST, "a prompt is a string, given alone")
                return None
            messages = []
        elif (
            not isinstance(messages, list)
            or not all(
                isinstance(m, dict)
                and isinstance(m.get("content"), str)
                and m.get("role") in _ROLES
                for m in messages
            )
            or not messages
        ):
            self._error(req_id, ErrorCode.BAD_REQUEST, "generate needs a list of messages")
            return None
        try:
            sampling = SamplingOptions.from_dict(msg.get("sampling"))
            kwargs = P.template_kwargs(msg.get("template_kwargs"))
        except (OptionError, TypeError, ValueError) as exc:
            self._error(req_id, ErrorCode.BAD_REQUEST, str(exc))
            return None
        clean = [{"role": m["role"], "content": m["content"]} for m in messages]
        return clean, prompt, sampling, kwargs

    def _token_sender(self, req_id: int) -> TokenBatcher:
        send = self.send

        def send_text(text: str, channel: str | None) -> None:
            event: TokenEvent = {"event": Event.TOKEN, "id": req_id, "text": text}
            if channel == REASONING:
                event["channel"] = REASONING
            send(event)

        return TokenBatcher(send_text)

    def _generate(self, runtime: Runtime, req_id: int, msg: dict[str, Any]) -> None:
        loaded = runtime.loaded
        if loaded is not None and loaded.n_parallel > 1:
            self._generate_batched(runtime, msg)
            return
        read = self._read_generate(req_id, msg)
        if read is None:
            return
        messages, prompt, sampling, kwargs = read
        send = self.send
        tokens = self._token_sender(req_id)
        text, stats = runtime.generate(
            messages,
            sampling,
            emit=tokens.add,
            should_stop=self._should_stop,
            on_started=lambda info: send({"event": Event.STARTED, "id": req_id, **info}),
            template_kwargs=kwargs,
            raw_prompt=prompt,
        )
        tokens.flush()
        self.send({"event": Event.DONE, "id": req_id, "text": text, "stats": stats})

    def _generate_batched(self, runtime: Runtime, first: dict[str, Any]) -> None:
        """Write replies to this request and to every generate request that comes while they
        are written, several at once (the model was loaded with n_parallel > 1). Another kind of
        request waits until the replies in progress end."""
        from collections import deque

        from app.engine.batch import Batch, Request

        assert runtime.loaded is not None
        self._current = -1  # a stop for "whatever runs" stops every reply being written
        batch = Batch(runtime.loaded, lambda rid: rid in self._stop_ids or -1 in self._stop_ids)
        waiting: deque[dict[str, Any]] = deque([first])
        try:
            while True:
                while not self._held:
                    try:
                        msg = self._requests.get_nowait()
                    except queue.Empty:
                        break
                    if msg is not None and msg.get("op") == Op.GENERATE:
                        waiting.append(msg)
                    else:
                        self._held.append(msg)  # handled once these replies are written
                while waiting and batch.free:
                    msg = waiting.popleft()
                    req_id = msg.get("id")
                    read = self._read_generate(req_id, msg)  # type: ignore[arg-type]
                    if read is None:
                        continue
                    messages, prompt, sampling, kwargs = read
                    tokens = self._token_sender(req_id)  # type: ignore[arg-type]
                    batch.admit(
                        Request(
                            req_id,  # type: ignore[arg-type]
                            messages,
                            sampling,
                            kwargs,
                            prompt,
                            tokens.add,
                            self._started_sender(req_id),
                            self._done_sender(req_id),
                            self._error_sender(req_id),
                            tokens.flush,
                        )
                    )
                if batch.busy:
                    batch.step()
                elif not waiting:
                    return
        finally:
            batch.close()
            self._stop_ids.discard(-1)
            for msg in waiting:  # only when the batch itself failed
                self._error(msg.get("id"), ErrorCode.INTERNAL, "the reply could not be written")

    def _started_sender(self, req_id: Any) -> Callable[[StartedInfo], None]:
        def started(info: StartedInfo) -> None:
            self.send({"event": Event.STARTED, "id": req_id, **info})

        return started

    def _done_sender(self, req_id: Any) -> Callable[[str, GenerationStats], None]:
        def done(text: str, stats: GenerationStats) -> None:
            self.send({"event": Event.DONE, "id": req_id, "text": text, "stats": stats})

        return done

    def _error_sender(self, req_id: Any) -> Callable[[EngineError], None]:
        def failed(exc: EngineError) -> None:
            self._error(req_id, exc.code, str(exc))

        return failed

    def _quality(self, runtime: Runtime, req_id: int, msg: dict[str, Any]) -> None:
        from app.core.quality.evaltext import EvalTextError, read_text

        model, reference, text_path = msg.get("model"), msg.get("reference"), msg.get("text_path")
        n_ctx, chunks, threads = msg.get("n_ctx", 512), msg.get("chunks"), msg.get("threads")
        if (
            not isinstance(model, str)
            or not isinstance(reference, (str, type(None)))
            or not isinstance(text_path, (str, type(None)))
            or not isinstance(n_ctx, int)
            or not isinstance(chunks, (int, type(None)))
            or not isinstance(threads, (int, type(None)))
        ):
            self._error(req_id, ErrorCode.BAD_REQUEST, "quality needs a model path and numbers")
            return
        try:
            text, text_name = read_text(text_path)
        except EvalTextError as exc:
            self._error(req_id, ErrorCode.BAD_REQUEST, str(exc)[:1].upper() + str(exc)[1:])
            return
        send = self.send

        def progress(stage: str, done: int, total: int) -> None:
            send(
                {
                    "event": Event.PROGRESS,
                    "id": req_id,
                    "fraction": round(done / total, 3) if total else 0.0,
                    "stage": stage,
                    "done": done,
                    "total": total,
                }
            )

        result = runtime.measure_quality(
            model_path=model,
            reference_path=reference,
            text=text,
            text_name=text_name,
            n_ctx=n_ctx,
            chunks=chunks,
            should_stop=self._should_stop,
            on_progress=progress,
            on_estimate=lambda e: send({"event": Event.ESTIMATE, "id": req_id, **e}),  # type: ignore[typeddict-item]
            threads=threads,
        )
        self.send({"event": Event.MEASURED, "id": req_id, "result": result})

    def _quantize(self, runtime: Runtime, req_id: int, msg: dict[str, Any]) -> None:
        from pathlib import Path

        from app.core.gguf.info import inspect_model_headers
        from app.core.quality.quantize import QuantizeError, check_free_space, plan_quantize
        from app.engine.quantize import Abandoned

        source, type_name, out = msg.get("source"), msg.get("type"), msg.get("out")
        allow = msg.get("allow_requantize", False)
        if (
            not isinstance(source, str)
            or not isinstance(type_name, str)
            or not isinstance(out, (str, type(None)))
            or not isinstance(allow, bool)
        ):
            self._error(req_id, ErrorCode.BAD_REQUEST, "quantize needs a source path and a type")
            return
        info, headers = inspect_model_headers(source)
        if not info.valid:
            reason = info.error or "it is not a GGUF model"
            self._error(
                req_id, ErrorCode.BAD_REQUEST, f"Cannot quantize {Path(source).name}: {reason}"
            )
            return
        try:
            plan = plan_quantize(
                Path(source),
                type_name,
                info.quant,
                [(t.name, t.n_elements, len(t.shape)) for h in headers for t in h.tensors],
                info.file_size - sum(h.data_size for h in headers),
                Path(out) if out else None,
                allow,
            )
            check_free_space(plan.out.parent, plan.estimated_bytes)
        except QuantizeError as exc:
            self._error(req_id, ErrorCode.BAD_REQUEST, str(exc))
            return
        self.send(
            {
                "event": Event.PLANNED,
                "id": req_id,
                "out": str(plan.out),
                "type": plan.type,
                "estimated_bytes": plan.estimated_bytes,
                "requantize": plan.requantize,
                "warnings": list(plan.warnings),
            }
        )

        def progress(done: int, total: int) -> None:
            self.send(
                {
                    "event": Event.PROGRESS,
                    "id": req_id,
                    "fraction": round(done / total, 3) if total else 0.0,
                    "stage": "quantize",
                    "done": done,
                    "total": total,
                }
            )

        try:
            result = runtime.quantize(
                source=source,
                out=str(plan.out),
                file_type=plan.file_type,
                allow_requantize=plan.requantize,
                should_stop=self._should_stop,
                on_progress=progress,
            )
        except Abandoned as exc:
            # llama.cpp's quantizer cannot be interrupted: the worker ends, and with it the work.
            self._error(req_id, exc.code, str(exc))
            os._exit(0)
        result["warnings"] = list(plan.warnings)
        self.send({"event": Event.QUANTIZED, "id": req_id, "result": result})


def main() -> int:
    # Ctrl+C in a terminal reaches every process of the foreground group, the worker too: the
    # client decides what it means (stop the reply), and closing stdin is how the worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Past a file-size limit, a write fails (and quantizing reports it) instead of killing us.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # Keep a private handle on the protocol pipe, then send fd 1 to stderr.
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out = os.fdopen(proto_fd, "wb", buffering=0)
    inp = os.fdopen(os.dup(0), "rb")
    return Worker(inp, out).run()


if __name__ == "__main__":
    sys.exit(main())
