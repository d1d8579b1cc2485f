"""Perplexity and KL divergence in the worker, with llama-perplexity's method (core/quality/plan.py).

Each model is loaded here with a context of its own (several chunks side by side in one batch,
as llama-perplexity does), independent of the chat model the worker may hold. The reference's
compact log-probabilities are read from the cache, or computed first and kept there.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as L
import numpy as np

from app.core.quality import kl, refcache
from app.core.quality import stats as S
from app.core.quality.plan import ChunkPlan, PlanError, plan_chunks, rough_seconds
from app.engine.llama_log import LogCapture
from app.engine.loader import physical_cores
from app.engine.protocol import EngineError, ErrorCode

_TOPK_FIELDS = ("ids", "logp", "nll", "tail_ids", "tail_logp")
Progress = Callable[[str, int, int], None]  # (stage, chunks done, chunks in all)
Estimate = Callable[[dict[str, Any]], None]


@dataclass
class _Model:
    path: str
    model: Any
    vocab: Any
    n_vocab: int
    n_ctx_train: int
    n_params: int

    def free(self) -> None:
        L.llama_model_free(self.model)


def _load(path: str, log: LogCapture) -> _Model:
    mark = log.mark()
    params = L.llama_model_default_params()
    model = L.llama_model_load_from_file(os.fsencode(path), params)
    if not model:
        reasons = log.errors_since(mark)
        detail = reasons[-1] if reasons else "llama.cpp gave no reason"
        raise EngineError(ErrorCode.LOAD_FAILED, f"Cannot load {Path(path).name}: {detail}")
    vocab = L.llama_model_get_vocab(model)
    return _Model(
        path,
        model,
        vocab,
        int(L.llama_vocab_n_tokens(vocab)),
        int(L.llama_model_n_ctx_train(model)),
        int(L.llama_model_n_params(model)),
    )


def tokenize(m: _Model, text: str) -> np.ndarray:
    """The text's tokens as llama-perplexity makes them (BOS per the model, no special parsing)."""
    data = text.encode("utf-8")
    cap = len(data) + 16
    arr = (L.llama_token * cap)()
    n = L.llama_tokenize(m.vocab, data, len(data), arr, cap, True, False)
    if n < 0:
        raise EngineError(ErrorCode.BAD_REQUEST, "the text could not be tokenized")
    return np.ctypeslib.as_array(arr)[:n].astype(np.int32)


class Evaluator:
    """Runs one model over the plan's chunks; ``should_stop`` is checked inside each decode."""

    def __init__(self, should_stop: Callable[[], bool], threads: int | None = None) -> None:
        self.should_stop = should_stop
        self.threads = threads or physical_cores()
        self._abort_cb = L.ggml_abort_callback(lambda _data: bool(self.should_stop()))

    def run(
        self,
        m: _Model,
        tokens: np.ndarray,
        plan: ChunkPlan,
        on_rows: Callable[[np.ndarray, np.ndarray], None],
        on_group: Callable[[int, float], None],
    ) -> float:
        """Decode every chunk; ``on_rows(logits, next_tokens)`` gets each chunk's scored rows,
        ``on_group(chunks done, seconds so far)`` follows each batch. Returns decode seconds."""
        n_ctx, n_seq, first = plan.n_ctx, plan.n_seq, plan.first
        cparams = L.llama_context_default_params()
        cparams.n_ctx = n_ctx * n_seq
        cparams.n_batch = n_ctx * n_seq
        cparams.n_ubatch = min(512, n_ctx * n_seq)
        cparams.n_seq_max = n_seq
        cparams.n_threads = self.threads
        cparams.n_threads_batch = self.threads
        cparams.no_perf = True
        ctx = L.llama_init_from_model(m.model, cparams)
        if not ctx:
            raise EngineError(
                ErrorCode.LOAD_FAILED,
                f"Cannot create a {n_ctx * n_seq:,}-token context for {Path(m.path).name}",
            )
        L.llama_set_abort_callback(ctx, self._abort_cb, None)
        batch = L.llama_batch_init(n_ctx * n_seq, 0, n_seq)
        bos = int(L.llama_vocab_bos(m.vocab))
        add_bos = bool(L.llama_vocab_get_add_bos(m.vocab))
        scored = plan.scored_per_chunk
        outputs_per_seq = n_ctx - first
        spent = 0.0
        try:
            mem = L.llama_get_memory(ctx)
            for i in range(0, plan.chunks, n_seq):
                if self.should_stop():
                    raise EngineError(ErrorCode.CANCELLED, "The measurement was stopped")
                group = min(n_seq, plan.chunks - i)
                t0 = time.monotonic()
                L.llama_memory_clear(mem, True)
                k = 0
                for s in range(group):
                    start = (i + s) * n_ctx
                    for j in range(n_ctx):
                        tok = bos if (add_bos and j == 0) else int(tokens[start + j])
                        batch.token[k] = tok
                        batch.pos[k] = j
                        batch.n_seq_id[k] = 1
                        batch.seq_id[k][0] = s
                        batch.logits[k] = j >= first
                        k += 1
                batch.n_tokens = k
                rc = L.llama_decode(ctx, batch)
                if rc != 0:
                    if self.should_stop():
                        raise EngineError(ErrorCode.CANCELLED, "The measurement was stopped")
                    raise EngineError(
                        ErrorCode.DECODE_FAILED, f"llama.cpp could not decode (code {rc})"
                    )
                ptr = L.llama_get_logits(ctx)
                all_logits = np.ctypeslib.as_array(
                    ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)),
                    shape=(group * outputs_per_seq, m.n_vocab),
                )
                for s in range(group):
                    start = (i + s) * n_ctx
                    rows = all_logits[s * outputs_per_seq : s * outputs_per_seq + scored]
                    nxt = tokens[start + first + 1 : start + n_ctx]
                    on_rows(rows, nxt)
                spent += time.monotonic() - t0
                on_group(i + group, spent)
        finally:
            L.llama_batch_free(batch)
            L.llama_free(ctx)
        return spent


def measure(
    model_path: str,
    reference_path: str | None,
    text: str,
    text_name: str,
    n_ctx: int,
    chunks: int | None,
    log: LogCapture,
    should_stop: Callable[[], bool],
    on_progress: Progress,
    on_estimate: Estimate,
    threads: int | None = None,
) -> S.QualityResult:
    started = time.monotonic()
    ev = Evaluator(should_stop, threads)
    model = _load(model_path, log)
    try:
        tokens = tokenize(model, text)
        try:
            plan = plan_chunks(len(tokens), n_ctx, chunks, model.n_ctx_train)
        except PlanError as exc:
            raise EngineError(ErrorCode.BAD_REQUEST, str(exc)[:1].upper() + str(exc)[1:]) from None
        used = tokens[: plan.evaluated]
        ref: refcache.ReferenceLogits | None = None
        cached: bool | None = None
        key = ""
        if reference_path is not None:
            key = refcache.cache_key(reference_path, text, n_ctx, plan.chunks, kl.TOP_K)
            ref = refcache.load(key)
            cached = ref is not None
        passes = 1 if ref is not None or reference_path is None else 2
        on_estimate(
            {
                "seconds": round(rough_seconds(plan, model.n_params, ev.threads, passes), 1),
                "basis": "rough",
                "chunks": plan.chunks,
                "tokens": plan.scored,
                "n_ctx": n_ctx,
                "reference_cached": cached,
            }
        )
        if reference_path is not None and ref is None:
            ref = _reference(
                reference_path, text, plan, used, model, ev, log, on_progress, on_estimate
            )
            refcache.save(key, ref)
        if ref is not None:
            _check_same_vocab(ref, used, model, reference_path or "")
        model_stage = "model"
        nll_parts: list[np.ndarray] = []
        kld_parts: list[np.ndarray] = []
        same_parts: list[np.ndarray] = []
        offset = 0

        def rows(logits: np.ndarray, nxt: np.ndarray) -> None:
            nonlocal offset
            part = None
            if ref is not None:
                n = logits.shape[0]
                part = ref.top.rows(offset, offset + n)
                offset += n
            c = kl.compare_rows(logits, nxt, part, threads=ev.threads)
            nll_parts.append(c.nll)
            kld_parts.append(c.kld)
            same_parts.append(c.same_top)

        said = False

        def group(done: int, spent: float) -> None:
            nonlocal said
            if not said and done < plan.chunks:
                said = True
                on_estimate(
                    {
                        "seconds": round(spent / done * (plan.chunks - done), 1),
                        "basis": "measured",
                        "stage": model_stage,
                        "chunks": plan.chunks,
                        "tokens": plan.scored,
                        "n_ctx": n_ctx,
                        "reference_cached": cached,
                    }
                )
            on_progress(model_stage, done, plan.chunks)

        on_progress(model_stage, 0, plan.chunks)
        spent = ev.run(model, used, plan, rows, group)
    finally:
        model.free()
    nll = np.concatenate(nll_parts)
    result: S.QualityResult = {
        "model": model_path,
        "reference": reference_path,
        "text": text_name,
        "perplexity": S.perplexity(float(nll.astype(np.float64).sum()), len(nll)),
        "reference_perplexity": None,
        "kl_divergence": None,
        "same_top": None,
        "perplexity_ratio": None,
        "n_ctx": n_ctx,
        "chunks": plan.chunks,
        "tokens": len(nll),
        "seconds": 0.0,
        "tokens_per_second": plan.evaluated / spent if spent > 0 else 0.0,
        "reference_cached": cached,
    }
    if ref is not None:
        ref_nll = ref.top.nll.astype(np.float64)
        result["reference_perplexity"] = S.perplexity(float(ref_nll.sum()), len(ref_nll))
        result["kl_divergence"] = S.kl_summary(np.concatenate(kld_parts).tolist())
        result["same_top"] = float(np.concatenate(same_parts).mean())
        result["perplexity_ratio"] = float(np.exp(nll.astype(np.float64).mean() - ref_nll.mean()))
    result["seconds"] = round(time.monotonic() - started, 3)
    return result


def _check_same_vocab(
    ref: refcache.ReferenceLogits, used: np.ndarray, model: _Model, reference_path: str
) -> None:
    if (
        ref.n_vocab != model.n_vocab
        or len(ref.tokens) != len(used)
        or not np.array_equal(ref.tokens, used)
    ):
        raise EngineError(
            ErrorCode.BAD_REQUEST,
            f"{Path(reference_path).name} has another vocabulary than {Path(model.path).name} "
            f"({ref.n_vocab:,} and {model.n_vocab:,} tokens, or the text tokenizes differently): "
            "a reference must be the same model in other bits",
        )


def _reference(
    path: str,
    text: str,
    plan: ChunkPlan,
    used: np.ndarray,
    model: _Model,
    ev: Evaluator,
    log: LogCapture,
    on_progress: Progress,
    on_estimate: Estimate,
) -> refcache.ReferenceLogits:
    ref_model = _load(path, log)
    try:
        tokens = tokenize(ref_model, text)[: plan.evaluated]
        if ref_model.n_vocab != model.n_vocab or not np.array_equal(tokens, used):
            _check_same_vocab(
                refcache.ReferenceLogits(tokens, ref_model.n_vocab, kl.TopK(*[np.empty(0)] * 5)),
                used,
                model,
                path,
            )
        parts: list[kl.TopK] = []

        def rows(logits: np.ndarray, nxt: np.ndarray) -> None:
            parts.append(
                kl.reference_rows(logits, nxt, kl.TOP_K, threads=ev.threads, seed=len(parts))
            )

        said = False

        def group(done: int, spent: float) -> None:
            nonlocal said
            if not said and done < plan.chunks:
                said = True
                per_chunk = spent / done
                on_estimate(
                    {
                        "seconds": round(per_chunk * (2 * plan.chunks - done), 1),
                        "basis": "measured",
                        "stage": "reference",
                        "chunks": plan.chunks,
                        "tokens": plan.scored,
                        "n_ctx": plan.n_ctx,
                        "reference_cached": False,
                    }
                )
            on_progress("reference", done, plan.chunks)

        on_progress("reference", 0, plan.chunks)
        ev.run(ref_model, tokens, plan, rows, group)
    finally:
        ref_model.free()
    return refcache.ReferenceLogits(
        tokens,
        ref_model.n_vocab,
        kl.TopK(*(np.concatenate([getattr(p, f) for p in parts]) for f in _TOPK_FIELDS)),
    )
