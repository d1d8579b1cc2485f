"""Log-probabilities, perplexity and KL divergence from logits (numpy, one row per position).

The reference's distribution is kept compact: its ``k`` most likely tokens with their
log-probabilities (the head, exact), and ``s`` tokens drawn from the rest in proportion to their
probability (stratified, with a fixed seed). The KL divergence is the head's exact sum plus the
rest's mass times the mean of ``log p - log q`` over the drawn tokens: an unbiased estimate of the
tail's share. Merging the tail into one bucket instead lowers the figure badly on large
vocabularies (Gemma 3's 262,144 tokens: -19% at k = 128); the sampled tail keeps the mean within
1% of the whole-vocabulary figure (tests/engine/test_quality.py measures it on real logits). A
model against itself still gives exactly 0.

Rows are handled a few at a time so that the temporaries stay small for a large vocabulary;
numpy releases the GIL in its loops, so blocks can run on several threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

TOP_K = 128
TAIL_SAMPLES = 128
_ROWS = 16


def _lse(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row max, row log-sum-exp) of a block of logits."""
    m = x.max(axis=1, keepdims=True)
    s = np.exp(x - m).sum(axis=1, dtype=np.float64, keepdims=True)
    return m, m.astype(np.float64) + np.log(s)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float32 (a new array)."""
    out = np.empty(logits.shape, dtype=np.float32)
    for s in range(0, logits.shape[0], _ROWS):
        x = logits[s : s + _ROWS]
        _m, lse = _lse(x)
        out[s : s + _ROWS] = (x - lse).astype(np.float32)
    return out


@dataclass
class TopK:
    """The reference's compact distributions: ``ids`` and ``logp`` are (n, k), the head, most
    likely first; ``tail_ids`` and ``tail_logp`` (n, s) the tokens drawn from the rest; ``nll``
    (n,) the negative log-likelihood of the actual next token."""

    ids: np.ndarray
    logp: np.ndarray
    nll: np.ndarray
    tail_ids: np.ndarray
    tail_logp: np.ndarray

    def rows(self, start: int, stop: int) -> TopK:
        return TopK(
            self.ids[start:stop],
            self.logp[start:stop],
            self.nll[start:stop],
            self.tail_ids[start:stop],
            self.tail_logp[start:stop],
        )


@dataclass
class Compared:
    """Per position: the model's NLL, the KL divergence from the reference, same top token."""

    nll: np.ndarray
    kld: np.ndarray
    same_top: np.ndarray


def _map_blocks(n: int, fn, threads: int) -> None:  # type: ignore[no-untyped-def]
    starts = range(0, n, _ROWS)
    if threads <= 1 or n <= _ROWS:
        for s in starts:
            fn(s)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fn, starts))


def reference_rows(
    logits: np.ndarray,
    next_tokens: np.ndarray,
    k: int = TOP_K,
    threads: int = 1,
    samples: int = TAIL_SAMPLES,
    seed: int = 0,
) -> TopK:
    """The top-``k`` of each row (most likely first), ``samples`` tokens drawn from the rest,
    and the next token's NLL."""
    n, vocab = logits.shape
    k = min(k, vocab)
    ids = np.empty((n, k), dtype=np.int32)
    logp = np.empty((n, k), dtype=np.float32)
    nll = np.empty(n, dtype=np.float32)
    tail_ids = np.zeros((n, samples), dtype=np.int32)
    tail_logp = np.zeros((n, samples), dtype=np.float32)
    offsets = np.asarray(np.random.default_rng(seed).random(n))

    def block(s: int) -> None:
        x = logits[s : s + _ROWS]
        _m, lse = _lse(x)
        part = np.argpartition(-x, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(x, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        ids[s : s + _ROWS] = np.take_along_axis(part, order, axis=1)
        logp[s : s + _ROWS] = (np.take_along_axis(vals, order, axis=1) - lse).astype(np.float32)
        rows = np.arange(x.shape[0])
        nll[s : s + _ROWS] = lse[:, 0] - x[rows, next_tokens[s : s + _ROWS]]
        if samples and k < vocab:
            p = np.exp(x - lse).astype(np.float64)
            np.put_along_axis(p, part, 0.0, axis=1)
            cum = np.cumsum(p, axis=1)
            for r in range(x.shape[0]):
                total = cum[r, -1]
                if total <= 0:
                    continue
                u = (np.arange(samples) + offsets[s + r]) / samples * total
                picked = np.minimum(np.searchsorted(cum[r], u, side="right"), vocab - 1)
                tail_ids[s + r] = picked
                tail_logp[s + r] = (x[r, picked] - lse[r, 0]).astype(np.float32)

    _map_blocks(n, block, threads)
    return TopK(ids, logp, nll, tail_ids, tail_logp)


def compact_kl(
    p_logp: np.ndarray, q_logp: np.ndarray, p_tail: np.ndarray, q_tail: np.ndarray
) -> np.ndarray:
    """KL(P || Q) per row: the head exactly, the tail estimated from the drawn tokens."""
    pl = p_logp.astype(np.float64)
    ql = q_logp.astype(np.float64)
    head = (np.exp(pl) * (pl - ql)).sum(axis=1)
    p_rest = np.clip(1.0 - np.exp(pl).sum(axis=1), 0.0, 1.0)
    if p_tail.shape[1] == 0:
        return head
    tail = p_rest * (p_tail.astype(np.float64) - q_tail).mean(axis=1)
    return np.asarray(head + tail)


def compare_rows(
    logits: np.ndarray, next_tokens: np.ndarray, ref: TopK | None, threads: int = 1
) -> Compared:
    """The model's rows (NLL; with a reference also KL divergence and same top token)."""
    n = logits.shape[0]
    nll = np.empty(n, dtype=np.float32)
    kld = np.zeros(n, dtype=np.float32)
    same = np.zeros(n, dtype=bool)

    def block(s: int) -> None:
        x = logits[s : s + _ROWS]
        _m, lse = _lse(x)
        rows = np.arange(x.shape[0])
        nll[s : s + _ROWS] = lse[:, 0] - x[rows, next_tokens[s : s + _ROWS]]
        if ref is not None:
            ids = ref.ids[s : s + _ROWS]
            q = (np.take_along_axis(x, ids.astype(np.int64), axis=1) - lse).astype(np.float32)
            tids = ref.tail_ids[s : s + _ROWS].astype(np.int64)
            qt = (np.take_along_axis(x, tids, axis=1) - lse).astype(np.float32)
            kld[s : s + _ROWS] = compact_kl(
                ref.logp[s : s + _ROWS], q, ref.tail_logp[s : s + _ROWS], qt
            )
            same[s : s + _ROWS] = x.argmax(axis=1) == ids[:, 0]

    _map_blocks(n, block, threads)
    return Compared(nll, kld, same)


def full_kl(p_logits: np.ndarray, q_logits: np.ndarray) -> np.ndarray:
    """KL(P || Q) per row over the whole vocabulary (to check the compact form against)."""
    out = np.empty(p_logits.shape[0], dtype=np.float64)
    for s in range(0, p_logits.shape[0], _ROWS):
        p_lp = log_softmax(p_logits[s : s + _ROWS]).astype(np.float64)
        q_lp = log_softmax(q_logits[s : s + _ROWS]).astype(np.float64)
        out[s : s + _ROWS] = (np.exp(p_lp) * (p_lp - q_lp)).sum(axis=1)
    return out
