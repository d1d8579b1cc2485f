"""Quantizing in the worker with llama.cpp's own quantizer (``llama_model_quantize``).

The C function has no progress callback and cannot be interrupted: it runs on a thread of its
own while this one reads the tensor counter llama.cpp logs (``[  12/ 236] blk.0.attn_q.weight
...``) and reports it. It writes to ``<out>.partial``; the result is checked (a whole GGUF file
whose header reads) before it takes its name, and a failed or stopped run leaves nothing behind.
The source is only read.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llama_cpp as L

from app.core.gguf.info import inspect_model_headers
from app.engine.llama_log import LogCapture
from app.engine.loader import physical_cores
from app.engine.protocol import EngineError, ErrorCode

_COUNTER = re.compile(r"\[\s*(\d+)/\s*(\d+)\]")
POLL_S = 0.2


class Abandoned(EngineError):
    """Stopped while llama.cpp's quantizer still runs: only ending the process stops it."""


def _tensor_counter(log: LogCapture, mark: int) -> tuple[int, int] | None:
    texts = [line for _level, line in log.since(mark)[-4:]]
    texts.append(getattr(log, "_partial", ""))
    for text in reversed(texts):
        found = _COUNTER.findall(text)
        if found:
            done, total = found[-1]
            return int(done), int(total)
    return None


def quantize(
    source: str,
    out: str,
    file_type: int,
    allow_requantize: bool,
    log: LogCapture,
    should_stop: Callable[[], bool],
    on_progress: Callable[[int, int], None],
    threads: int | None = None,
) -> dict[str, Any]:
    """Quantize ``source`` to ``out``; ``on_progress(tensors done, tensors in all)``."""
    started = time.monotonic()
    partial = out + ".partial"
    params = L.llama_model_quantize_default_params()
    params.ftype = file_type
    params.allow_requantize = allow_requantize
    params.nthread = threads or physical_cores()
    mark = log.mark()
    result: dict[str, int] = {}

    def work() -> None:
        try:
            result["rc"] = int(
                L.llama_model_quantize(os.fsencode(source), os.fsencode(partial), params)
            )
        except Exception:  # pragma: no cover - ctypes errors only
            result["rc"] = -1

    thread = threading.Thread(target=work, name="quantize", daemon=True)
    thread.start()
    last: tuple[int, int] | None = None
    while thread.is_alive():
        thread.join(POLL_S)
        if should_stop():
            with contextlib.suppress(OSError):
                os.unlink(partial)  # the quantizer writes on into a file no longer named
            raise Abandoned(ErrorCode.CANCELLED, "Quantizing was stopped; nothing was kept")
        counter = _tensor_counter(log, mark)
        if counter and counter != last:
            last = counter
            on_progress(*counter)
    name = Path(out).name
    if result.get("rc", -1) != 0:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        reasons = log.errors_since(mark)
        failed = [line for _lvl, line in log.since(mark) if "failed to quantize" in line]
        detail = (failed or reasons or ["llama.cpp gave no reason"])[-1].strip()
        detail = detail.split("failed to quantize:", 1)[-1].strip()
        if "iostream" in detail or "space" in detail.lower() or "write" in detail.lower():
            folder = Path(out).parent
            free = shutil.disk_usage(folder).free if folder.exists() else 0
            detail = (
                f"writing the file failed ({detail}): is the disk full? "
                f"{free / 1e9:.2f} GB is free in {folder}"
            )
        raise EngineError(ErrorCode.QUANTIZE_FAILED, f"Could not make {name}: {detail}")
    info, _headers = inspect_model_headers(partial)
    if not info.valid:
        size = _size(partial)
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise EngineError(
            ErrorCode.QUANTIZE_FAILED,
            f"Could not make {name}: the file written is not a whole model "
            f"({info.error or 'unreadable'}; {size / 1e6:.1f} MB written): is the disk full?",
        )
    os.replace(partial, out)
    if last:
        on_progress(last[1], last[1])
    return {
        "path": out,
        "bytes": _size(out),
        "seconds": round(time.monotonic() - started, 3),
        "tensors": last[1] if last else None,
        "quant": info.quant,
        "bits_per_weight": info.bits_per_weight,
    }


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
