"""Streamed text: token bytes to UTF-8 text, stop strings found across pieces, and the batcher
that sends the text to the app (one channel per message: thinking or the answer).

Pure Python (no llama_cpp): the generation loop and the worker use these, and tests drive them
without a model.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable


class Utf8Pieces:
    """Turns token byte pieces into text, holding back incomplete UTF-8 sequences."""

    def __init__(self) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return self._dec.decode(data)

    def flush(self) -> str:
        return self._dec.decode(b"", final=True)


class StopMatcher:
    """Finds stop strings in streamed text, holding back a tail that may start one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self._hold = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Return (text safe to emit, whether a stop string was reached)."""
        if not self.stops:
            return text, False
        buf = self._hold + text
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self._hold = ""
            return buf[:cut], True
        keep = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(buf)), 0, -1):
                if buf.endswith(s[:n]):
                    keep = max(keep, n)
                    break
        self._hold = buf[len(buf) - keep :] if keep else ""
        return buf[: len(buf) - keep], False

    def flush(self) -> str:
        out, self._hold = self._hold, ""
        return out


class TokenBatcher:
    """Sends streamed text at most every ``interval`` seconds, the first piece at once.

    A fast model (a token every few milliseconds) then costs the app one message per ~30 ms
    instead of one per token; a slow model's tokens still go out as each one arrives. Text of
    another channel (thinking, then the answer) first sends what is held, so a message carries
    one channel: ``send(text, channel)``, channel None for the answer.
    """

    def __init__(self, send: Callable[[str, str | None], None], interval: float = 0.03) -> None:
        self._send = send
        self._interval = interval
        self._parts: list[str] = []
        self._channel: str | None = None
        self._last = 0.0

    def add(self, text: str, channel: str | None = None) -> None:
        if channel != self._channel:
            self.flush()
            self._channel = channel
        self._parts.append(text)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self.flush(now)

    def flush(self, now: float | None = None) -> None:
        if self._parts:
            self._send("".join(self._parts), self._channel)
            self._parts = []
            self._last = time.monotonic() if now is None else now
