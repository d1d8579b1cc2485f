"""Multi-turn chats in the real window reuse the KV cache: each turn evaluates only its new tokens."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from tests.ui.conftest import stored_messages

pytestmark = [pytest.mark.gui]

# (question, longest reply in tokens): greedy SmolLM2 answers with numbered lines; the last reply is
# cut by the limit right after a line break, so a reply stored trimmed would show.
TURNS = (
    ("List three fruits, one per line.", 40),
    ("List two vegetables, one per line.", 40),
    ("List three animals, one per line.", 4),
)


def test_each_turn_evaluates_only_its_new_tokens(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings())
    d.wait_loaded()
    generated: list[str] = []  # the replies as the engine wrote them
    d.w.bridge.replyDone.connect(lambda text, _stats: generated.append(text))
    stats: list[dict[str, Any]] = []
    for question, length in TURNS:
        d.w.settings.sampling = d.w.settings.sampling.merged({"max_tokens": length})
        d.send(question)
        reply = d.wait_reply()
        assert reply.message.state == "done"
        stats.append(reply.message.stats)
    assert stats[0]["reused_tokens"] == 0  # the first turn starts from an empty cache
    for before, now in pairwise(stats):
        # Everything the previous turn left in the cache (its prompt and the reply as it was
        # generated) starts this turn's prompt: the stored reply, rendered again by the chat
        # template, gives back the very tokens the model wrote.
        assert now["reused_tokens"] == before["context_used"], (before, now)
        new = now["prompt_tokens"] - now["reused_tokens"]
        assert 0 < new <= 24 and new * 2 < now["prompt_tokens"], (before, now)
    assert [m.content for m in d.w.controller.session.messages[1::2]] == generated
    assert "\n" in generated[0] and generated[-1].endswith("\n"), (
        f"the test expects greedy SmolLM2's replies in lines, the last cut after one: {generated}"
    )
    # The status bar says so too, and the store keeps the figures.
    last = stats[-1]
    assert f"prompt {last['prompt_tokens']} tokens ({last['reused_tokens']} cached)" in (
        d.w.figures_label.text()
    )
    d.wait_saved()
    saved = [m for m in stored_messages() if m.role == "assistant"]
    assert [m.stats["reused_tokens"] for m in saved] == [s["reused_tokens"] for s in stats]
