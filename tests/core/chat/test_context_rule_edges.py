"""The context rule at its edges: exact fits, exact targets, odd conversations, the error's words.

Variants of ``app/core/chat/context.py`` that behave the same for every conversation (found with
``bench/mutation.py``; no test can tell them apart):

- cut points starting at 0 (``range(len(rest))``): dropping nothing is never under the target
  once the whole conversation is over the budget, so the search never picks it.
- the fallback cut for a single message (``or True``, ``>= 1``): it is 0, which is what the
  fallback takes anyway (and an empty conversation slices to the same empty list).
- ``budget * 3 / 4`` for ``// 4``: token counts are whole numbers, so ``n <= x`` and
  ``n <= floor(x)`` agree.
- the search ending one cut early (``len(cuts) - 2``): the last cut is also the fallback, which
  is taken (and checked against the budget) when no earlier cut reaches the target.
"""

from __future__ import annotations

import pytest

from app.core.chat.context import ContextOverflow, plan_context, reply_reserve


def count_words(msgs: list[dict[str, str]]) -> int:
    """One token per word plus 4 per message, as in test_context.py."""
    return sum(len(m["content"].split()) + 4 for m in msgs)


def msg(role: str, words: int) -> dict[str, str]:
    return {"role": role, "content": " ".join(["w"] * words)}


# n_ctx 400 with a reply limit of 96: the prompt may take 304 tokens, the target is 228.
N_CTX, MAX_TOKENS, BUDGET, TARGET = 400, 96, 304, 228


def test_the_reply_reserve_keeps_one_token_and_whole_numbers() -> None:
    assert reply_reserve(4096, 1) == 1
    assert reply_reserve(4096, 0) == 1  # never zero room for the reply
    assert reply_reserve(4098, 4096) == 1024  # a quarter of 4,098 rounds down


def test_a_conversation_exactly_filling_the_budget_is_sent_whole() -> None:
    msgs = [msg("user", 10), msg("assistant", 10), msg("user", 272)]  # 14 + 14 + 276 = 304
    plan = plan_context(msgs, count_words, N_CTX, MAX_TOKENS)
    assert (plan.dropped, plan.prompt_tokens, plan.budget) == (0, BUDGET, BUDGET)
    assert plan.messages == msgs


def test_only_a_leading_system_message_is_the_system_prompt() -> None:
    msgs = [msg("user", 3), {"role": "system", "content": "be brief"}, msg("user", 3)]
    plan = plan_context(msgs, count_words, 4096, 512)
    assert plan.messages == msgs


def test_a_cut_exactly_at_the_target_is_taken() -> None:
    msgs = [
        msg("user", 50),  # 54
        msg("assistant", 50),  # 54
        msg("user", 20),  # 24
        msg("assistant", 20),  # 24
        msg("user", 176),  # 180: the last three take 228, the target exactly
    ]
    plan = plan_context(msgs, count_words, N_CTX, MAX_TOKENS)
    assert (plan.dropped, plan.prompt_tokens) == (2, TARGET)
    assert plan.messages == msgs[2:]


def test_the_newest_question_exactly_filling_the_budget_is_kept() -> None:
    msgs = [msg("user", 10), msg("assistant", 10), msg("user", 300)]  # the last takes 304
    plan = plan_context(msgs, count_words, N_CTX, MAX_TOKENS)
    assert (plan.dropped, plan.prompt_tokens) == (2, BUDGET)


def test_a_long_greeting_before_the_first_question_is_dropped_alone() -> None:
    """A conversation that opens with the model's greeting may be cut right after it."""
    msgs = [{"role": "system", "content": "be kind"}, msg("assistant", 250)]
    for i in range(7):
        msgs.append(msg("user" if i % 2 == 0 else "assistant", 10))
    plan = plan_context(msgs, count_words, N_CTX, MAX_TOKENS)
    assert plan.dropped == 1
    assert plan.messages == [msgs[0], *msgs[2:]]


@pytest.mark.parametrize("system", [True, False])
def test_a_conversation_ending_with_the_models_message_keeps_that_message(system: bool) -> None:
    """A local API client may send a conversation that ends with the assistant's message (to
    continue it). With no later question to cut at, the newest message is kept alone."""
    head = [{"role": "system", "content": "be kind"}] if system else []
    msgs = [*head, msg("user", 300), {"role": "assistant", "content": "Sure"}]
    plan = plan_context(msgs, count_words, N_CTX, MAX_TOKENS)
    assert plan.dropped == 1
    assert plan.messages == [*head, msgs[-1]]


def fewest_dropped(msgs: list[dict[str, str]], n_ctx: int, max_tokens: int) -> int | None:
    """The rule as the module docstring states it, by trying every cut in turn."""
    budget = n_ctx - reply_reserve(n_ctx, max_tokens)
    if count_words(msgs) <= budget:
        return 0
    system, rest = msgs[:1], msgs[1:]  # these conversations start with a system prompt
    cuts = [k for k in range(1, len(rest)) if rest[k]["role"] == "user"]
    for k in cuts:
        if count_words(system + rest[k:]) <= budget * 3 // 4:
            return k
    if count_words(system + rest[cuts[-1] :]) <= budget:
        return cuts[-1]
    return None


def test_the_fewest_messages_are_dropped_to_reach_three_quarters_of_the_room() -> None:
    # Exchanges of uneven length, so the cut points fall at irregular token counts.
    msgs = [{"role": "system", "content": "be kind"}]
    for i in range(24):
        msgs.append(msg("user", 3 + (i * 7) % 23))
        msgs.append(msg("assistant", 5 + (i * 11) % 31))
    msgs.append(msg("user", 6))
    checked = 0
    for n_ctx in range(120, 1400, 9):
        for max_tokens in (16, 128, 512):
            expected = fewest_dropped(msgs, n_ctx, max_tokens)
            if expected is None:
                with pytest.raises(ContextOverflow):
                    plan_context(msgs, count_words, n_ctx, max_tokens)
                continue
            plan = plan_context(msgs, count_words, n_ctx, max_tokens)
            assert plan.dropped == expected, (n_ctx, max_tokens)
            assert plan.prompt_tokens == count_words(plan.messages)
            checked += expected > 0
    assert checked > 50


def test_the_overflow_message_says_the_sizes_and_what_to_do() -> None:
    msgs = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(ContextOverflow) as info:
        plan_context(msgs, count_words, n_ctx=1024, max_tokens=256)
    assert str(info.value) == (
        "the newest message needs 5,004 tokens but the context of 1,024 tokens leaves 768 for "
        "the prompt (the rest is kept for the reply); shorten the message or the system prompt, "
        "or raise the context length"
    )
