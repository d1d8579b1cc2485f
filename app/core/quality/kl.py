"""Log-probabilities, perplexity and KL divergence from logits (numpy, one row per position).

The reference's distribution is kept compact: its ``k`` most likely tokens with their
log-probabilities, and the probability mass of all the others as one bucket. The KL divergence
is then computed over those ``k + 1`` outcomes. Merging the tail into one bucket can only lower
the divergence (the log-sum inequality); with ``k = 128`` the difference from the full-vocabulary
figure is far under 1% (tests/core/quality measures it on real logits).

Rows are handled a few at a time so that the temporaries stay small for a 262,144-token
vocabulary; numpy releases the GIL in its loops, so blocks can run on several threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

TOP_K = 128
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
    """The reference's compact distributions: ``ids`` and ``logp`` are (n, k), ``nll`` is (n,):
    the negative log-likelihood of the actual next token."""

    ids: np.ndarray
    logp: np.ndarray
    nll: np.ndarray


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
    logits: np.ndarray, next_tokens: np.ndarray, k: int = TOP_K, threads: int = 1
) -> TopK:
    """The top-``k`` of each row (most likely first) and the next token's NLL."""
    n, vocab = logits.shape
    k = min(k, vocab)
    ids = np.empty((n, k), dtype=np.int32)
    logp = np.empty((n, k), dtype=np.float32)
    nll = np.empty(n, dtype=np.float32)

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

    _map_blocks(n, block, threads)
    return TopK(ids, logp, nll)


def bucket_kl(p_logp: np.ndarray, q_logp: np.ndarray) -> np.ndarray:
    """KL(P || Q) per row over the top-k outcomes plus one bucket for the rest."""
    pl = p_logp.astype(np.float64)
    ql = q_logp.astype(np.float64)
    p = np.exp(pl)
    head = (p * (pl - ql)).sum(axis=1)
    p_rest = 1.0 - p.sum(axis=1)
    q_rest = 1.0 - np.exp(ql).sum(axis=1)
    ok = (p_rest > 1e-12) & (q_rest > 0)
    tail = np.zeros_like(head)
    tail[ok] = p_rest[ok] * (np.log(p_rest[ok]) - np.log(q_rest[ok]))
    return np.maximum(head + tail, 0.0)


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
            kld[s : s + _ROWS] = bucket_kl(ref.logp[s : s + _ROWS], q)
            same[s : s + _ROWS] = x.argmax(axis=1) == ids[:, 0]

    _map_blocks(n, block, threads)
    return Compared(nll, kld, same)


def full_kl(p_logits: np.ndarray, q_logits: np.ndarray) -> np.ndarray:
    """KL(P || Q) per row over the whole vocabulary (to check the compact form against)."""
    p_lp = log_softmax(p_logits).astype(np.float64)
    q_lp = log_softmax(q_logits).astype(np.float64)
    return np.asarray((np.exp(p_lp) * (p_lp - q_lp)).sum(axis=1))
