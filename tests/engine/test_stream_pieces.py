"""Streamed pieces at the edges: a stop string twice in one piece, nothing left after a stop,
channels kept apart, and the batcher's clock (a fake one, so the timing is exact).

Variants of ``app/engine/streaming.py`` that stream the same (found with ``bench/mutation.py``):

- ``getincrementaldecoder("UTF-8")``: the same codec.
- ``min(..., default=-2)``: any negative means no stop string was found.
- the held-back tail scanning one or two characters longer (``len(s) + 1``): a tail that is the
  whole stop string was already found by ``find``.
- ``buf[len(buf) - keep:] if keep or True``: with ``keep == 0`` the slice is empty anyway.
- the batcher's channel starting as ``""``, its clock at 1.0, or a send stamped with a fresh
  ``monotonic()`` instead of the one just read: the first piece still goes out at once (the
  monotonic clock is far past one second in a running app) and the stamps differ by microseconds.
"""

from __future__ import annotations

import pytest

from app.engine import streaming
from app.engine.streaming import StopMatcher, TokenBatcher


def test_a_stop_string_twice_in_one_piece_ends_at_the_first() -> None:
    stops = StopMatcher(["<|end|>"])
    assert stops.feed("one<|end|>two<|end|>") == ("one", True)


def test_nothing_is_left_to_send_after_a_stop() -> None:
    stops = StopMatcher(["</s>"])
    assert stops.feed("done </") == ("done ", False)
    assert stops.feed("s> more") == ("", True)
    assert stops.flush() == ""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def batcher_on(
    monkeypatch: pytest.MonkeyPatch, interval: float | None = None
) -> tuple[TokenBatcher, FakeClock, list[tuple[str, str | None]]]:
    clock = FakeClock()
    monkeypatch.setattr(streaming, "time", clock)
    sent: list[tuple[str, str | None]] = []

    def send(text: str, channel: str | None) -> None:
        sent.append((text, channel))

    if interval is None:
        return TokenBatcher(send), clock, sent
    return TokenBatcher(send, interval), clock, sent


def test_thinking_and_answer_go_out_on_their_own_channels(monkeypatch: pytest.MonkeyPatch) -> None:
    batcher, _clock, sent = batcher_on(monkeypatch)
    batcher.add("Let me ", "thinking")
    batcher.add("see.", "thinking")
    batcher.add("It is 4.")
    batcher.flush()
    assert sent == [("Let me ", "thinking"), ("see.", "thinking"), ("It is 4.", None)]


def test_the_default_interval_is_about_thirty_milliseconds(monkeypatch: pytest.MonkeyPatch) -> None:
    batcher, clock, sent = batcher_on(monkeypatch)
    batcher.add("a")
    clock.now += 0.01
    batcher.add("b")
    assert sent == [("a", None)]  # 10 ms later: held
    clock.now += 0.04
    batcher.add("c")
    assert sent == [("a", None), ("bc", None)]  # 50 ms after the first send: out


def test_a_piece_exactly_one_interval_after_the_last_send_goes_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batcher, clock, sent = batcher_on(monkeypatch, interval=0.25)
    batcher.add("a")
    clock.now += 0.25
    batcher.add("b")
    assert sent == [("a", None), ("b", None)]


def test_pieces_after_a_flush_are_timed_from_it(monkeypatch: pytest.MonkeyPatch) -> None:
    batcher, clock, sent = batcher_on(monkeypatch, interval=0.25)
    batcher.add("a")
    batcher.add("b")  # held
    clock.now += 0.1
    batcher.flush()  # a channel switch or the end of a reply sends what is held
    assert sent == [("a", None), ("b", None)]
    clock.now += 0.1
    batcher.add("c")  # 100 ms after the flush: held
    assert sent == [("a", None), ("b", None)]
    clock.now += 0.15
    batcher.add("d")
    assert sent == [("a", None), ("b", None), ("cd", None)]
