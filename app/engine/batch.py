"""Several replies written at once (continuous batching, as llama-server's ``-np``).

A model loaded with ``n_parallel`` > 1 has that many sequences in one context, each with its
share of the KV cache. A new request takes a free sequence: its prompt is decoded, then each step
decodes one token of every reply being written in one ``llama_decode`` and samples each with its
own sampler chain. A reply that ends frees its sequence at once for the next request; requests
beyond the free sequences wait in order.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp as L

from app.core.options import SamplingOptions
from app.engine.events import GenerationStats, StartedInfo
from app.engine.generate import ReplyWriter, build_prompt
from app.engine.loader import LoadedModel
from app.engine.protocol import EngineError, ErrorCode, StopReason
from app.engine.sampler import make_sampler


@dataclass
class Request:
    """A reply asked for: what the worker hands the batch."""

    req_id: int
    messages: list[dict[str, str]]
    sampling: SamplingOptions
    template_kwargs: dict[str, Any]
    raw_prompt: str | None
    emit: Callable[[str, str | None], None]
    on_started: Callable[[StartedInfo], None]
    on_done: Callable[[str, GenerationStats], None]
    on_error: Callable[[EngineError], None]
    flush: Callable[[], None] = lambda: None


@dataclass
class _Slot:
    seq: int
    req: Request
    writer: ReplyWriter
    sampler: Any
    seed: int
    n_past: int
    prompt_tokens: int
    prompt_s: float
    next_token: int = -1
    started: float = field(default_factory=time.monotonic)


class Batch:
    """The replies being written on one loaded model; ``step`` advances them all by a token."""

    def __init__(self, lm: LoadedModel, should_stop: Callable[[int], bool]) -> None:
        self.lm = lm
        self.should_stop = should_stop
        self.n_seq = lm.n_parallel
        self.n_ctx_seq = int(L.llama_n_ctx_seq(lm.ctx))
        self.slots: dict[int, _Slot] = {}
        self._batch = L.llama_batch_init(self.n_seq, 0, 1)
        self._mem = L.llama_get_memory(lm.ctx)
        L.llama_memory_clear(self._mem, True)
        lm.cache_tokens = []  # sequence 0 is shared out now: nothing of a chat stays cached

    def close(self) -> None:
        for slot in list(self.slots.values()):
            self._end(slot, StopReason.STOPPED)
        L.llama_batch_free(self._batch)

    @property
    def free(self) -> bool:
        return len(self.slots) < self.n_seq

    @property
    def busy(self) -> bool:
        return bool(self.slots)

    # -- admitting --------------------------------------------------------------------------------

    def admit(self, req: Request) -> None:
        """Decode ``req``'s prompt on a free sequence and sample its first token (errors go to
        ``req.on_error``)."""
        seq = next(i for i in range(self.n_seq) if i not in self.slots)
        try:
            tokens, fmt, dropped = build_prompt(
                self.lm,
                req.messages,
                req.template_kwargs,
                req.raw_prompt,
                self.n_ctx_seq,
                req.sampling.max_tokens,
            )
        except EngineError as exc:
            req.on_error(exc)
            return
        t_request = time.monotonic()
        req.on_started(
            {
                "prompt_tokens": len(tokens),
                "reused_tokens": 0,
                "dropped_messages": dropped,
                "n_ctx": self.n_ctx_seq,
                "template": self.lm.template.name,
                "template_note": self.lm.template_note,
            }
        )
        L.llama_memory_seq_rm(self._mem, seq, -1, -1)
        t0 = time.monotonic()
        try:
            self._decode_prompt(seq, tokens)
        except EngineError as exc:
            L.llama_memory_seq_rm(self._mem, seq, -1, -1)
            req.on_error(exc)
            return
        s = req.sampling
        seed = s.seed if s.seed is not None else random.randrange(1 << 32)
        try:
            sampler = make_sampler(self.lm, s, seed, tokens)
        except EngineError as exc:
            L.llama_memory_seq_rm(self._mem, seq, -1, -1)
            req.on_error(exc)
            return
        writer = ReplyWriter(self.lm, s, fmt, req.emit, t_request)
        slot = _Slot(
            seq, req, writer, sampler, seed, len(tokens), len(tokens), time.monotonic() - t0
        )
        self.slots[seq] = slot
        self._take(slot, L.llama_sampler_sample(sampler, self.lm.ctx, -1))

    def _decode_prompt(self, seq: int, tokens: list[int]) -> None:
        b = L.llama_batch_init(self.lm.n_batch, 0, 1)
        try:
            for start in range(0, len(tokens), self.lm.n_batch):
                chunk = tokens[start : start + self.lm.n_batch]
                b.n_tokens = len(chunk)
                for i, tok in enumerate(chunk):
                    b.token[i] = tok
                    b.pos[i] = start + i
                    b.n_seq_id[i] = 1
                    b.seq_id[i][0] = seq
                    b.logits[i] = start + i == len(tokens) - 1
                rc = L.llama_decode(self.lm.ctx, b)
                if rc != 0:
                    raise EngineError(
                        ErrorCode.DECODE_FAILED,
                        f"llama.cpp failed to process the prompt (error {rc})",
                    )
        finally:
            L.llama_batch_free(b)

    # -- writing ----------------------------------------------------------------------------------

    def _take(self, slot: _Slot, tok: int) -> None:
        """Give the reply its sampled token; end it, or queue the token for the next step."""
        reason = slot.writer.accept(tok)
        if reason is None and slot.n_past >= self.n_ctx_seq:
            reason = StopReason.CONTEXT_FULL
        if reason is None and self.should_stop(slot.req.req_id):
            reason = StopReason.STOPPED
        if reason is not None:
            self._end(slot, reason)
        else:
            slot.next_token = tok

    def step(self) -> None:
        """Decode the next token of every reply in one batch, then sample each."""
        for slot in list(self.slots.values()):
            if self.should_stop(slot.req.req_id):
                self._end(slot, StopReason.STOPPED)
        active = list(self.slots.values())
        if not active:
            return
        b = self._batch
        b.n_tokens = len(active)
        for i, slot in enumerate(active):
            b.token[i] = slot.next_token
            b.pos[i] = slot.n_past
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = slot.seq
            b.logits[i] = True
        rc = L.llama_decode(self.lm.ctx, b)
        if rc != 0:
            for slot in active:
                if rc == 1:
                    self._end(slot, StopReason.CONTEXT_FULL)
                else:
                    self._fail(
                        slot,
                        EngineError(
                            ErrorCode.DECODE_FAILED,
                            f"llama.cpp failed while generating (error {rc})",
                        ),
                    )
            return
        for i, slot in enumerate(active):
            slot.n_past += 1
            self._take(slot, L.llama_sampler_sample(slot.sampler, self.lm.ctx, i))

    def _release(self, slot: _Slot) -> None:
        self.slots.pop(slot.seq, None)
        L.llama_sampler_free(slot.sampler)
        L.llama_memory_seq_rm(self._mem, slot.seq, -1, -1)

    def _end(self, slot: _Slot, reason: StopReason) -> None:
        self._release(slot)
        text, gen = slot.writer.finish(reason)
        slot.req.flush()
        prompt_s = slot.prompt_s
        stats: GenerationStats = {
            "prompt_tokens": slot.prompt_tokens,
            "reused_tokens": 0,
            "dropped_messages": 0,
            "n_ctx": self.n_ctx_seq,
            "prompt_s": round(prompt_s, 4),
            "prompt_tokens_per_second": (
                round(slot.prompt_tokens / prompt_s, 2) if prompt_s > 0 else None
            ),
            **gen,
            "seed": slot.seed,
            "context_used": slot.n_past,
        }
        slot.req.on_done(text, stats)

    def _fail(self, slot: _Slot, exc: EngineError) -> None:
        self._release(slot)
        slot.req.flush()
        slot.req.on_error(exc)
