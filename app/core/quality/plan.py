"""How a text is cut for perplexity, as llama.cpp's llama-perplexity cuts it.

The tokens (with BOS when the model adds one) are split into chunks of ``n_ctx`` tokens; each
chunk is evaluated from an empty cache with its first token replaced by BOS, and only the
second half is scored (each position predicts the next token: ``n_ctx - 1 - n_ctx // 2``
scores per chunk), so every scored token has at least half a context before it.
"""

from __future__ import annotations

from dataclasses import dataclass


class PlanError(ValueError):
    """The text, context or chunk count cannot make a measurement."""


@dataclass(frozen=True)
class ChunkPlan:
    n_ctx: int
    chunks: int
    n_seq: int  # chunks evaluated together in one batch

    @property
    def first(self) -> int:
        """The first scored position of a chunk."""
        return self.n_ctx // 2

    @property
    def scored_per_chunk(self) -> int:
        return self.n_ctx - 1 - self.first

    @property
    def scored(self) -> int:
        return self.chunks * self.scored_per_chunk

    @property
    def evaluated(self) -> int:
        """Tokens the model evaluates (all of each chunk)."""
        return self.chunks * self.n_ctx

    def chunk_range(self, i: int) -> tuple[int, int]:
        return i * self.n_ctx, (i + 1) * self.n_ctx


MIN_CTX = 16
# The batch llama-perplexity uses by default: several chunks fit one batch when n_ctx is small.
DEFAULT_BATCH = 2048


def plan_chunks(
    n_tokens: int,
    n_ctx: int,
    chunks: int | None = None,
    n_ctx_train: int | None = None,
    n_batch: int = DEFAULT_BATCH,
) -> ChunkPlan:
    """The chunks of a text of ``n_tokens`` tokens (all that fit, or at most ``chunks``)."""
    if n_ctx < MIN_CTX:
        raise PlanError(f"a context of {n_ctx} tokens is too small (at least {MIN_CTX})")
    if n_ctx_train and n_ctx > n_ctx_train:
        raise PlanError(
            f"a context of {n_ctx:,} tokens is beyond the model's maximum of {n_ctx_train:,}"
        )
    if chunks is not None and chunks < 1:
        raise PlanError("--chunks must be at least 1")
    if n_tokens < 2 * n_ctx:
        raise PlanError(
            f"the text has only {n_tokens:,} tokens; a context of {n_ctx:,} needs at least "
            f"{2 * n_ctx:,} (two chunks, as llama-perplexity asks): use a longer text or a "
            "smaller --ctx"
        )
    n_chunk = n_tokens // n_ctx
    if chunks is not None:
        n_chunk = min(n_chunk, chunks)
    n_seq = max(1, min(n_batch // n_ctx, n_chunk))
    return ChunkPlan(n_ctx, n_chunk, n_seq)


def estimate_seconds(plan: ChunkPlan, tokens_per_second: float, passes: int = 1) -> float:
    """The time ``passes`` evaluations of the plan take at ``tokens_per_second``."""
    return passes * plan.evaluated / max(tokens_per_second, 1e-9)


# Prompt tokens per second per billion parameters on one core of a 2020s desktop CPU: enough for
# an order of magnitude before anything is measured (measured: Gemma 3 270M, 2 threads).
_ROUGH_TPS_PER_CORE_BILLION = 60.0


def rough_seconds(plan: ChunkPlan, n_params: int, threads: int, passes: int = 1) -> float:
    """A first estimate from the model's size alone, before a batch has been timed."""
    billions = max(n_params / 1e9, 0.01)
    tps = _ROUGH_TPS_PER_CORE_BILLION * max(threads, 1) / billions
    return estimate_seconds(plan, tps, passes)
