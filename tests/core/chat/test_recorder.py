"""The throttled saver of streaming replies."""

from __future__ import annotations

from app.core.chat.recorder import ReplyRecorder


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_saves_at_most_every_half_interval_and_on_finish() -> None:
    saves: list[tuple[str, str | None]] = []
    clock = Clock()
    rec = ReplyRecorder(lambda text, state: saves.append((text, state)), interval=1.0, clock=clock)
    rec.append("Hel")
    assert not rec.flush_if_due()  # nothing is due yet
    clock.t = 0.5
    rec.append("lo")
    assert rec.flush_if_due()
    assert saves == [("Hello", None)]
    clock.t = 0.6
    rec.append(" world")
    assert not rec.flush_if_due()
    clock.t = 1.0
    assert rec.flush_if_due()
    assert not rec.flush_if_due()  # nothing new
    rec.finish("done", "Hello world!")
    assert saves[-1] == ("Hello world!", "done")
    rec.append("ignored")
    rec.finish("stopped")
    assert len(saves) == 3


def test_text_survives_any_timer_rate() -> None:
    """With a tick every half interval, no appended text waits longer than one interval."""
    saved: list[str] = []
    clock = Clock()
    rec = ReplyRecorder(lambda text, state: saved.append(text), interval=1.0, clock=clock)
    appended_at: dict[int, float] = {}
    for step in range(1, 101):
        clock.t = step * 0.05
        rec.append("x")
        appended_at[step] = clock.t
        if step % 10 == 0:  # the GUI timer: every 0.5 s
            rec.flush_if_due()
            for n, t in appended_at.items():
                if clock.t - t >= 1.0:
                    assert len(saved[-1]) >= n


def test_thinking_is_kept_apart_from_the_answer_and_saved_with_it() -> None:
    saves: list[tuple[str, str, str | None]] = []
    clock = Clock()
    rec: ReplyRecorder

    def save(text: str, state: str | None) -> None:
        saves.append((text, rec.reasoning, state))

    rec = ReplyRecorder(save, interval=1.0, clock=clock)
    rec.append("The user ", "reasoning")
    rec.append("greets.", "reasoning")
    clock.t = 0.5
    assert rec.flush_if_due()  # thinking alone is worth saving
    assert saves == [("", "The user greets.", None)]
    rec.append("Hi!")
    rec.finish("done", "Hi there!", "The user greets me.")
    assert saves[-1] == ("Hi there!", "The user greets me.", "done")
