"""llama.cpp's log, captured in the worker: recent lines to explain failures, buffer sizes."""

from __future__ import annotations

import ctypes
import os
import re
from collections import deque
from typing import Any

import llama_cpp as L

_LOG_DEBUG, _LOG_ERROR, _LOG_CONT = 1, 4, 5  # ggml_log_level
_BUFFER_RE = re.compile(r"^\s*\w+:\s+(\S+)\s+(\S.*?)\s+buffer size\s*=\s*([\d.]+) MiB")


class LogCapture:
    """Keeps llama.cpp's recent log lines (to explain failures and read buffer sizes)."""

    def __init__(self, keep: int = 400, echo: bool = False) -> None:
        self.lines: deque[tuple[int, str]] = deque(maxlen=keep)
        self._partial = ""
        self._level = 1
        self.count = 0
        self.echo = echo
        self._cb = L.llama_log_callback(self._on_log)  # keep a reference for llama.cpp
        L.llama_log_set(self._cb, ctypes.c_void_p(0))

    def _on_log(self, level: int, text: bytes, _user: Any) -> None:
        piece = text.decode("utf-8", errors="replace")
        if level != _LOG_CONT:
            self._level = level
        if self._level == _LOG_DEBUG:
            return
        if self.echo:
            os.write(2, text)
        self._partial += piece
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self.lines.append((self._level, line))
            self.count += 1

    def mark(self) -> int:
        """A position; ``since(mark)`` returns the lines logged after it."""
        return self.count

    def since(self, mark: int) -> list[tuple[int, str]]:
        n = min(self.count - mark, len(self.lines))
        return list(self.lines)[len(self.lines) - n :] if n > 0 else []

    def errors_since(self, mark: int) -> list[str]:
        return [
            line.strip() for level, line in self.since(mark) if level == _LOG_ERROR and line.strip()
        ]


def buffer_sizes(lines: list[tuple[int, str]]) -> dict[str, float]:
    """Buffer sizes (MiB) llama.cpp printed while loading, e.g. ``{"CPU_Mapped model": 92.1}``."""
    out: dict[str, float] = {}
    for _level, line in lines:
        m = _BUFFER_RE.search(line)
        if m:
            key = f"{m.group(1)} {m.group(2).strip()}"
            out[key] = out.get(key, 0.0) + float(m.group(3))
    return out
