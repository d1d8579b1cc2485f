"""Which messages of a conversation go into the model's context.

The rule, shown to the user when it applies: the system prompt and the newest messages are kept;
when the conversation no longer fits in the context (leaving room for the reply), the oldest
messages are left out, a whole exchange at a time, until the prompt takes at most three quarters
of the room. Dropping more than strictly needed means the next few turns fit without dropping
again, so the model's cache can be reused instead of re-reading the whole conversation each turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Msg = dict[str, str]


class ContextOverflow(Exception):
    """Even the newest message alone does not fit; the message says by how much."""


@dataclass(frozen=True)
class ContextPlan:
    messages: list[Msg]  # what is sent to the template
    dropped: int  # how many of the oldest non-system messages were left out
    prompt_tokens: int
    budget: int  # most tokens the prompt may take


def reply_reserve(n_ctx: int, max_tokens: int) -> int:
    """Tokens kept free for the reply: the reply limit, but at most a quarter of the context."""
    return max(1, min(max_tokens, max(n_ctx // 4, 64)))


def plan_context(
    messages: Sequence[Msg],
    count_tokens: Callable[[list[Msg]], int],
    n_ctx: int,
    max_tokens: int,
) -> ContextPlan:
    """Choose the messages to send. ``count_tokens`` renders and tokenizes a message list."""
    budget = n_ctx - reply_reserve(n_ctx, max_tokens)
    system = [m for m in messages[:1] if m["role"] == "system"]
    rest = list(messages[len(system) :])

    full = count_tokens(system + rest)
    if full <= budget:
        return ContextPlan(system + rest, 0, full, budget)

    # Candidate cut points: drop the first k messages, keeping the first kept one a user message.
    cuts = [k for k in range(1, len(rest)) if rest[k]["role"] == "user"]
    if not cuts:
        cuts = [len(rest) - 1] if len(rest) > 1 else []
    target = budget * 3 // 4

    def tokens_for(k: int) -> int:
        return count_tokens(system + rest[k:])

    # Fewest dropped whose prompt fits the target (token counts fall as k grows).
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        n = tokens_for(cuts[mid])
        if n <= target:
            best = (cuts[mid], n)
            hi = mid - 1
        else:
            lo = mid + 1
    if best is None:
        # Not even the target: settle for the hard budget with the newest exchange alone.
        k = cuts[-1] if cuts else 0
        n = tokens_for(k)
        if n > budget:
            raise ContextOverflow(
                f"the newest message needs {n:,} tokens but the context of {n_ctx:,} tokens leaves "
                f"{budget:,} for the prompt (the rest is kept for the reply); shorten the message "
                "or the system prompt, or raise the context length"
            )
        best = (k, n)
    k, n = best
    return ContextPlan(system + rest[k:], k, n, budget)
