"""Saves a streaming reply as it grows, so a crash or kill loses at most the last second."""

from __future__ import annotations

import time
from collections.abc import Callable


class ReplyRecorder:
    """Collects streamed text and hands it to ``save`` when due.

    ``append`` is called per token and never saves by itself; ``flush_if_due`` is called by a
    timer (the GUI's, every half second) and saves when there is unsaved text and ``interval``
    has passed since the last save; ``finish`` saves the final text and state at once.
    ``save(text, state)`` is typically a database write queued to the store's thread; it reads
    the thinking streamed so far (pieces on the ``"reasoning"`` channel) from ``reasoning``.
    """

    def __init__(
        self,
        save: Callable[[str, str | None], None],
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        initial: str = "",
    ) -> None:
        self._save = save
        self._interval = interval
        self._clock = clock
        self._parts: list[str] = [initial] if initial else []
        self._text_cache: str | None = initial
        self._thinking: list[str] = []
        self._dirty = False
        self._last_save = clock()
        self.finished = False

    @property
    def text(self) -> str:
        if self._text_cache is None:
            self._text_cache = "".join(self._parts)
            self._parts = [self._text_cache]
        return self._text_cache

    @property
    def reasoning(self) -> str:
        if len(self._thinking) > 1:
            self._thinking = ["".join(self._thinking)]
        return self._thinking[0] if self._thinking else ""

    def append(self, piece: str, channel: str | None = None) -> None:
        """Add a piece of the answer, or of the thinking when ``channel`` is "reasoning"."""
        if self.finished or not piece:
            return
        if channel == "reasoning":
            self._thinking.append(piece)
        else:
            self._parts.append(piece)
            self._text_cache = None
        self._dirty = True

    def flush_if_due(self) -> bool:
        if self.finished or not self._dirty:
            return False
        if self._clock() - self._last_save < self._interval * 0.45:
            return False
        self._save(self.text, None)
        self._dirty = False
        self._last_save = self._clock()
        return True

    def finish(self, state: str, text: str | None = None, reasoning: str | None = None) -> None:
        """Save the final reply (``text`` and ``reasoning`` replace what streamed, when given)."""
        if self.finished:
            return
        if text is not None:
            self._parts, self._text_cache = [text], text
        if reasoning is not None:
            self._thinking = [reasoning] if reasoning else []
        self.finished = True
        self._save(self.text, state)
