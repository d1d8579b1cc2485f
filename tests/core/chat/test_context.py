"""The rule that decides which messages go into the context."""

from __future__ import annotations

import pytest

from app.core.chat.context import ContextOverflow, plan_context, reply_reserve


def count_words(msgs: list[dict[str, str]]) -> int:
    """A stand-in tokenizer: one token per word plus 4 per message (a template's overhead)."""
    return sum(len(m["content"].split()) + 4 for m in msgs)


def convo(n_turns: int, words: int = 20) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": "be kind"}]
    for i in range(n_turns):
        msgs.append({"role": "user", "content": " ".join([f"q{i}"] * words)})
        msgs.append({"role": "assistant", "content": " ".join([f"a{i}"] * words)})
    msgs.append({"role": "user", "content": "last question"})
    return msgs


def test_everything_fits() -> None:
    msgs = convo(3)
    plan = plan_context(msgs, count_words, n_ctx=4096, max_tokens=512)
    assert plan.dropped == 0
    assert plan.messages == msgs


def test_oldest_exchanges_are_dropped_keeping_system_and_newest() -> None:
    msgs = convo(30)
    plan = plan_context(msgs, count_words, n_ctx=512, max_tokens=128)
    assert plan.dropped > 0
    assert plan.messages[0]["role"] == "system"
    assert plan.messages[1]["role"] == "user"  # the kept part starts with a question
    assert plan.messages[-1]["content"] == "last question"
    assert plan.messages[1:] == msgs[1 + plan.dropped :]
    # Room is left for the reply, and hysteresis leaves headroom for the next turns.
    assert plan.prompt_tokens <= (512 - reply_reserve(512, 128)) * 3 // 4


def test_drop_is_stable_across_turns() -> None:
    """Adding one short exchange does not change which messages are dropped, most of the time."""
    msgs = convo(30)
    first = plan_context(msgs, count_words, n_ctx=512, max_tokens=128)
    more = [*msgs, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "and?"}]
    second = plan_context(more, count_words, n_ctx=512, max_tokens=128)
    assert second.dropped == first.dropped


def test_a_message_too_long_for_the_context_is_an_error() -> None:
    msgs = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(ContextOverflow, match="raise the context length"):
        plan_context(msgs, count_words, n_ctx=1024, max_tokens=256)


def test_reply_reserve() -> None:
    assert reply_reserve(4096, 2048) == 1024
    assert reply_reserve(4096, 100) == 100
    assert reply_reserve(256, 2048) == 64


def test_the_newest_question_alone_is_kept_when_no_cut_reaches_the_target() -> None:
    """No cut brings the prompt under three quarters of the budget, so the planner falls back to
    the newest question alone, which fits the hard budget (304 tokens) though not the target."""
    short = " ".join(["w"] * 10)  # 14 tokens a message
    msgs = [
        {"role": "user", "content": short},
        {"role": "assistant", "content": short},
        {"role": "user", "content": short},
        {"role": "assistant", "content": short},
        {"role": "user", "content": short},
        {"role": "assistant", "content": short},
        {"role": "user", "content": " ".join(["long"] * 246)},  # 250 tokens
    ]
    # n_ctx 400, reply limit 96: the prompt may take 304 tokens, the target is 228.
    plan = plan_context(msgs, count_words, n_ctx=400, max_tokens=96)
    assert plan.budget == 304
    assert plan.messages == [msgs[-1]]
    assert plan.dropped == 6
    assert plan.prompt_tokens == 250
