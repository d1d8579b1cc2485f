"""Quality measurements and quantizing for the GUI: each job runs in an engine worker of its own
(the chat's model stays loaded), driven from a thread; its events come back on the GUI thread.

EngineJob signals:
    engineEvent(dict) an engine event: ``estimate``, ``progress``, ``planned`` (and ``measured``
                     for each quant of a comparison)
    finished(object) the job's result
    failed(str)      what went wrong, for the user
    cancelled()      stopped by the user
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.core.quality import measured
from app.core.quality.stats import QualityResult
from app.engine.client import BlockingEngine
from app.engine.events import EngineEvent
from app.engine.protocol import EngineError, ErrorCode

Emit = Callable[[dict[str, Any]], None]
Work = Callable[[BlockingEngine, Emit], Any]


class EngineJob(QObject):
    engineEvent = Signal(dict)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, work: Work, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._engine: BlockingEngine | None = None
        self._stopping = False
        self._lock = threading.Lock()
        self.running = False

    def start(self) -> None:
        self.running = True
        threading.Thread(target=self._run, name="quality-job", daemon=True).start()

    def cancel(self) -> None:
        """Stop the job (a quantize ends its worker: llama.cpp's quantizer cannot be stopped)."""
        with self._lock:
            self._stopping = True
            engine = self._engine
        if engine is not None:
            try:
                engine.stop()
            except (OSError, RuntimeError):
                pass

    def _run(self) -> None:
        try:
            engine = BlockingEngine()
        except (EngineError, OSError) as exc:
            self._end(failed=f"The engine could not be started: {exc}")
            return
        with self._lock:
            self._engine = engine
            stop_now = self._stopping
        try:
            if stop_now:
                self._end(cancelled=True)
                return
            result = self._work(engine, lambda ev: self.engineEvent.emit(dict(ev)))
        except EngineError as exc:
            if self._stopping or exc.code == ErrorCode.CANCELLED:
                self._end(cancelled=True)
            else:
                self._end(failed=str(exc))
            return
        except Exception as exc:  # reported to the user, not a crash of the window
            self._end(failed=f"{type(exc).__name__}: {exc}")
            return
        finally:
            with self._lock:
                self._engine = None
            engine.close()
        self._end(result=result)

    def _end(self, result: Any = None, failed: str = "", cancelled: bool = False) -> None:
        self.running = False
        if cancelled:
            self.cancelled.emit()
        elif failed:
            self.failed.emit(failed)
        else:
            self.finished.emit(result)


def compare_work(reference: str, models: list[str], n_ctx: int, chunks: int | None) -> Work:
    """Measure each of ``models`` against ``reference``; every result is kept as a measured
    figure (core/quality/measured.py) as soon as it is known."""

    def work(engine: BlockingEngine, emit: Emit) -> list[QualityResult]:
        results: list[QualityResult] = []
        for i, model in enumerate(models):

            def on_event(ev: EngineEvent, i: int = i, model: str = model) -> None:
                emit({**ev, "index": i, "count": len(models), "model": model})

            result = engine.quality(model, reference, None, n_ctx, chunks, None, on_event)
            measured.record(result)
            results.append(result)
            emit({"event": "measured", "index": i, "count": len(models), "result": result})
        return results

    return work


def quantize_work(source: str, type_name: str, out: str, allow_requantize: bool) -> Work:
    def work(engine: BlockingEngine, emit: Emit) -> dict[str, Any]:
        return engine.quantize(source, type_name, out, allow_requantize, emit)  # type: ignore[arg-type]

    return work


def model_name(path: str) -> str:
    return Path(path).name
