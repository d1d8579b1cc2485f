"""The figures of a quality measurement, summed up as llama-perplexity reports them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypedDict


class KLSummary(TypedDict):
    mean: float
    median: float
    p99: float


class QualityResult(TypedDict):
    """What ``hearth quality --json`` prints (reference fields are None without a reference)."""

    model: str
    reference: str | None
    text: str
    perplexity: float
    reference_perplexity: float | None
    kl_divergence: KLSummary | None
    same_top: float | None  # share of positions where both pick the same most likely token
    perplexity_ratio: float | None  # PPL(model) / PPL(reference)
    n_ctx: int
    chunks: int
    tokens: int  # tokens scored
    seconds: float
    tokens_per_second: float  # tokens evaluated per second by the model (not the reference)
    reference_cached: bool | None  # the reference's figures came from the cache


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """As llama-perplexity computes it: linear between the two nearest ranks."""
    if not sorted_values:
        return math.nan
    if fraction <= 0:
        return float(sorted_values[0])
    if fraction >= 1:
        return float(sorted_values[-1])
    p = fraction * (len(sorted_values) - 1)
    i = int(p)
    p -= i
    j = min(i + 1, len(sorted_values) - 1)
    return float((1 - p) * sorted_values[i] + p * sorted_values[j])


def median(sorted_values: Sequence[float]) -> float:
    n = len(sorted_values)
    if n == 0:
        return math.nan
    if n % 2 == 0:
        return float(0.5 * (sorted_values[n // 2] + sorted_values[n // 2 - 1]))
    return float(sorted_values[n // 2])


def perplexity(nll_sum: float, count: int) -> float:
    return math.exp(nll_sum / count) if count else math.nan


def kl_summary(values: Sequence[float]) -> KLSummary:
    ordered = sorted(float(v) for v in values)
    mean = sum(ordered) / len(ordered) if ordered else math.nan
    return {"mean": mean, "median": median(ordered), "p99": percentile(ordered, 0.99)}


def rounded(result: QualityResult) -> dict[str, Any]:
    """The result with figures rounded for people (6 significant digits is plenty)."""

    def r(v: Any) -> Any:
        if isinstance(v, float):
            return float(f"{v:.6g}")
        if isinstance(v, dict):
            return {k: r(x) for k, x in v.items()}
        return v

    return {k: r(v) for k, v in result.items()}
