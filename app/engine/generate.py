"""A reply from the loaded model: the prompt planned and tokenized, decoded after the part the
KV cache already holds, then llama.cpp's own sampler chain in a lean token loop.

The loop calls decode and the sampler directly (no per-token logits copies or Python-side
sampling, unlike llama-cpp-python's ``Llama``), and streams text through streaming.py's helpers
and core's reasoning parser (thinking and the answer told apart as the tokens come).
"""

from __future__ import annotations

import ctypes
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

import llama_cpp as L

from app.core.chat.context import ContextOverflow, plan_context
from app.core.chat.reasoning import PLAIN, REASONING, ReasoningFormat, detect_format
from app.core.chat.template import TemplateError
from app.core.options import SamplingOptions
from app.engine.events import GenerationStats, PromptStats, ReplyStats, StartedInfo
from app.engine.loader import LoadedModel
from app.engine.protocol import EngineError, ErrorCode, StopReason
from app.engine.sampler import make_sampler
from app.engine.streaming import StopMatcher, Utf8Pieces


def tokenize(lm: LoadedModel, text: str) -> list[int]:
    bos = lm.template.bos_token
    add_special = True
    if bos and text.startswith(bos):
        # The template wrote BOS itself; let the tokenizer add it (once) per the model's rule.
        text = text[len(bos) :]
    data = text.encode("utf-8")
    cap = len(data) + 16
    arr = (L.llama_token * cap)()
    n = L.llama_tokenize(lm.vocab, data, len(data), arr, cap, add_special, True)
    if n < 0:
        cap = -n
        arr = (L.llama_token * cap)()
        n = L.llama_tokenize(lm.vocab, data, len(data), arr, cap, add_special, True)
    return list(arr[:n])


def marker_tokens(lm: LoadedModel, fmt: ReasoningFormat) -> frozenset[int]:
    """The tokens that are whole markers of the reasoning format: the loop renders their text
    even when they are control tokens (harmony's ``<|end|>``), and no other special token's."""
    keep = set()
    for marker in fmt.markers:
        data = marker.encode("utf-8")
        arr = (L.llama_token * (len(data) + 4))()
        n = L.llama_tokenize(lm.vocab, data, len(data), arr, len(arr), False, True)
        if n == 1:
            keep.add(int(arr[0]))
    return frozenset(keep)


class Generator:
    """Writes replies with one loaded model at a time; used from one thread only."""

    def __init__(self) -> None:
        self._piece_buf = ctypes.create_string_buffer(512)
        self._abort_flag: Callable[[], bool] = lambda: False
        self._abort_cb = L.ggml_abort_callback(self._on_abort)  # kept alive for llama.cpp

    def _on_abort(self, _data: Any) -> bool:
        return bool(self._abort_flag())

    def generate(
        self,
        lm: LoadedModel,
        messages: list[dict[str, str]],
        sampling: SamplingOptions,
        emit: Callable[[str, str | None], None],
        should_stop: Callable[[], bool],
        on_started: Callable[[StartedInfo], None],
        template_kwargs: dict[str, Any] | None = None,
        raw_prompt: str | None = None,
    ) -> tuple[str, GenerationStats]:
        """Reply to ``messages``; ``emit(text, channel)`` gets text as it is produced (channel
        ``"reasoning"`` for thinking, None for the answer); ``template_kwargs`` are template
        variables (``enable_thinking``, ``reasoning_effort``). With ``raw_prompt`` the text is
        continued as it is, without the chat template. Returns (text, stats)."""
        t_request = time.monotonic()
        tokens, fmt, dropped = build_prompt(
            lm, messages, template_kwargs, raw_prompt, lm.n_ctx, sampling.max_tokens
        )
        return self._reply(
            lm, tokens, dropped, fmt, sampling, emit, should_stop, on_started, t_request
        )

    def _reply(
        self,
        lm: LoadedModel,
        tokens: list[int],
        dropped: int,
        fmt: ReasoningFormat,
        sampling: SamplingOptions,
        emit: Callable[[str, str | None], None],
        should_stop: Callable[[], bool],
        on_started: Callable[[StartedInfo], None],
        t_request: float,
    ) -> tuple[str, GenerationStats]:
        """Decode the prompt's new tokens, then write the reply."""
        reused = reuse_prefix(lm, tokens)
        on_started(
            {
                "prompt_tokens": len(tokens),
                "reused_tokens": reused,
                "dropped_messages": dropped,
                "n_ctx": lm.n_ctx,
                "template": lm.template.name,
                "template_note": lm.template_note,
            }
        )
        # Prompt processing, in batches, abortable inside each decode.
        t0 = time.monotonic()
        self._abort_flag = should_stop
        L.llama_set_abort_callback(lm.ctx, self._abort_cb, None)
        try:
            stopped_in_prompt = decode_prompt(lm, tokens, reused, should_stop)
        finally:
            L.llama_set_abort_callback(lm.ctx, L.ggml_abort_callback(), None)
            self._abort_flag = lambda: False
        t_prompt = time.monotonic() - t0
        new_prompt = len(tokens) - reused
        prompt_stats: PromptStats = {
            "prompt_tokens": len(tokens),
            "reused_tokens": reused,
            "dropped_messages": dropped,
            "n_ctx": lm.n_ctx,
            "prompt_s": round(t_prompt, 4),
            "prompt_tokens_per_second": round(new_prompt / t_prompt, 2) if t_prompt > 0 else None,
        }
        if stopped_in_prompt:
            return "", {
                **prompt_stats,
                "completion_tokens": 0,
                "ttft_s": None,
                "generation_s": 0.0,
                "tokens_per_second": None,
                "stop_reason": StopReason.STOPPED,
                "context_used": len(lm.cache_tokens),
                "seed": None,
                "reasoning": None,
                "reasoning_tokens": 0,
            }

        seed = sampling.seed if sampling.seed is not None else random.randrange(1 << 32)
        sampler = make_sampler(lm, sampling, seed, tokens)
        try:
            text, gen = self._token_loop(lm, sampler, sampling, fmt, emit, should_stop, t_request)
        finally:
            L.llama_sampler_free(sampler)
        return text, {
            **prompt_stats,
            **gen,
            "seed": seed,
            "context_used": len(lm.cache_tokens),
        }

    def _token_loop(
        self,
        lm: LoadedModel,
        sampler: Any,
        s: SamplingOptions,
        fmt: ReasoningFormat,
        emit: Callable[[str, str | None], None],
        should_stop: Callable[[], bool],
        t_request: float,
    ) -> tuple[str, ReplyStats]:
        ctx = lm.ctx
        n_ctx = lm.n_ctx
        one = (L.llama_token * 1)()
        batch = L.llama_batch_get_one(one, 1)  # points at ``one``: reused for every token
        sample = L.llama_sampler_sample
        decode = L.llama_decode
        writer = ReplyWriter(lm, s, fmt, emit, t_request, self._piece_buf)
        cache = lm.cache_tokens
        reason: StopReason | None = None
        while True:
            if should_stop():
                reason = StopReason.STOPPED
                break
            reason = writer.accept(sample(sampler, ctx, -1))
            if reason is not None:
                break
            if len(cache) >= n_ctx:
                reason = StopReason.CONTEXT_FULL
                break
            one[0] = writer.last
            rc = decode(ctx, batch)
            if rc != 0:
                if rc == 1:
                    reason = StopReason.CONTEXT_FULL
                    break
                raise EngineError(
                    ErrorCode.DECODE_FAILED, f"llama.cpp failed while generating (error {rc})"
                )
            cache.append(writer.last)
        return writer.finish(reason)


def _sentence(exc: Exception) -> str:
    return str(exc)[:1].upper() + str(exc)[1:]


def build_prompt(
    lm: LoadedModel,
    messages: list[dict[str, str]],
    template_kwargs: dict[str, Any] | None,
    raw_prompt: str | None,
    room: int,
    max_tokens: int,
) -> tuple[list[int], ReasoningFormat, int]:
    """A reply's prompt in ``room`` tokens of context: (its tokens, how the reply marks
    thinking, how many old messages were left out). ``raw_prompt`` is taken as it is (no
    template); otherwise the messages that fit go through the chat template."""
    if raw_prompt is not None:
        tokens = tokenize(lm, raw_prompt)
        if len(tokens) >= room:
            raise EngineError(
                ErrorCode.CONTEXT_OVERFLOW,
                f"The prompt is {len(tokens):,} tokens; the context holds {room:,}",
            )
        return tokens, PLAIN, 0
    kwargs = dict(template_kwargs or {})
    rendered: dict[int, tuple[str, list[int]]] = {}  # by message count, as planning tried them

    def render(msgs: list[dict[str, str]]) -> tuple[str, list[int]]:
        if len(msgs) not in rendered:
            text = lm.template.render(msgs, add_generation_prompt=True, **kwargs)
            rendered[len(msgs)] = (text, tokenize(lm, text))
        return rendered[len(msgs)]

    try:
        plan = plan_context(messages, lambda msgs: len(render(msgs)[1]), room, max_tokens)
        text, tokens = render(plan.messages)
    except TemplateError as exc:
        raise EngineError(ErrorCode.TEMPLATE, _sentence(exc)) from None
    except ContextOverflow as exc:
        raise EngineError(ErrorCode.CONTEXT_OVERFLOW, _sentence(exc)) from None
    return tokens, detect_format(lm.template.source, text), plan.dropped


class ReplyWriter:
    """One reply's tokens turned into text: pieces (markers rendered), UTF-8, stop strings,
    thinking told apart, sent through ``emit``; and the reply's figures. ``accept`` takes a
    sampled token and says why the reply ends (None: go on); the caller decodes it."""

    def __init__(
        self,
        lm: LoadedModel,
        s: SamplingOptions,
        fmt: ReasoningFormat,
        emit: Callable[[str, str | None], None],
        t_request: float,
        piece_buf: Any = None,
    ) -> None:
        self.vocab = lm.vocab
        self.max_tokens = s.max_tokens
        self.fmt = fmt
        self.emit = emit
        self.t_request = t_request
        self.buf = piece_buf if piece_buf is not None else ctypes.create_string_buffer(512)
        self.utf8 = Utf8Pieces()
        self.stops = StopMatcher(
            list(s.stop) + list(lm.template.stop_strings) + list(fmt.answer_ends)
        )
        self.keep = marker_tokens(lm, fmt)
        self.parser = fmt.parser()
        self.raw: list[str] = []  # the text as the model wrote it (think tags and all)
        self.shown: list[str] = []  # what was emitted, both channels, in order
        self.thinking: list[str] = []
        self.n_thinking = 0
        self.n_gen = 0
        self.last = -1  # the token accepted last
        self.t_first: float | None = None
        self.t_gen0 = time.monotonic()

    def _send(self, pieces: Iterable[tuple[str, str]]) -> None:
        for channel, part in pieces:
            self.shown.append(part)
            if channel == REASONING:
                self.thinking.append(part)
                self.emit(part, REASONING)
            else:
                self.emit(part, None)

    def accept(self, tok: int) -> StopReason | None:
        if L.llama_vocab_is_eog(self.vocab, tok):
            return StopReason.EOS
        self.last = tok
        self.n_gen += 1
        buf = self.buf
        n = L.llama_token_to_piece(self.vocab, tok, buf, len(buf), 0, tok in self.keep)
        piece = buf.raw[:n] if n >= 0 else _long_piece(self.vocab, tok, -n)
        text, hit = self.stops.feed(self.utf8.feed(piece))
        was_thinking = self.parser.in_reasoning
        if text:
            if self.t_first is None:
                self.t_first = time.monotonic()
            self.raw.append(text)
            self._send(self.parser.feed(text))
        if was_thinking or self.parser.in_reasoning:
            self.n_thinking += 1
        if hit:
            return StopReason.STOP_STRING
        if self.n_gen >= self.max_tokens:
            return StopReason.MAX_TOKENS
        return None

    def finish(self, reason: StopReason | None) -> tuple[str, ReplyStats]:
        reason = reason or StopReason.MAX_TOKENS
        if reason != StopReason.STOP_STRING:
            tail = self.stops.feed(self.utf8.flush())[0] + self.stops.flush()
            if tail:
                self.raw.append(tail)
                self._send(self.parser.feed(tail))
        self._send(self.parser.finish())
        t_end = time.monotonic()
        gen_s = t_end - self.t_gen0
        n_gen = self.n_gen
        # The reply's text stays what the window shows and stores: for think tags the model's own
        # text (templates drop old thinking from it by its tags), for harmony the shown pieces
        # (its markers are no text of the reply).
        text = "".join(self.raw if self.fmt.family in ("think", "none") else self.shown)
        return text, {
            "completion_tokens": n_gen,
            "ttft_s": round((self.t_first or t_end) - self.t_request, 4),
            "generation_s": round(gen_s, 4),
            "tokens_per_second": round(n_gen / gen_s, 2) if gen_s > 0 and n_gen else None,
            "stop_reason": reason,
            "reasoning": "".join(self.thinking) if self.thinking else None,
            "reasoning_tokens": self.n_thinking,
        }


def _long_piece(vocab: Any, tok: int, size: int) -> bytes:
    big = ctypes.create_string_buffer(size)
    n = L.llama_token_to_piece(vocab, tok, big, size, 0, False)
    return big.raw[: max(n, 0)]


def reuse_prefix(lm: LoadedModel, tokens: list[int]) -> int:
    """Keep the cached tokens shared with ``tokens``; return how many are kept."""
    mem = L.llama_get_memory(lm.ctx)
    cached = lm.cache_tokens
    n = 0
    limit = min(len(cached), len(tokens) - 1)  # the last prompt token is always decoded
    while n < limit and cached[n] == tokens[n]:
        n += 1
    if n > 0 and lm.n_swa > 0:
        pos_min = L.llama_memory_seq_pos_min(mem, 0)
        # Sliding-window layers only hold the last n_swa positions: continuing at n needs
        # positions from n - n_swa on.
        if pos_min > 0 and pos_min >= n - lm.n_swa:
            n = 0
    if n == 0 or not L.llama_memory_seq_rm(mem, 0, n, -1):
        L.llama_memory_clear(mem, True)
        n = 0
    lm.cache_tokens = cached[:n]
    return n


def decode_prompt(
    lm: LoadedModel, tokens: list[int], n_past: int, should_stop: Callable[[], bool]
) -> bool:
    """Decode ``tokens[n_past:]``; returns True if stopped by the user."""
    mem = L.llama_get_memory(lm.ctx)
    pos = n_past
    while pos < len(tokens):
        if should_stop():
            return True
        chunk = tokens[pos : pos + lm.n_batch]
        arr = (L.llama_token * len(chunk))(*chunk)
        rc = L.llama_decode(lm.ctx, L.llama_batch_get_one(arr, len(chunk)))
        if rc == 2:  # aborted by the abort callback
            kept = L.llama_memory_seq_pos_max(mem, 0) + 1
            lm.cache_tokens = tokens[: max(kept, 0)]
            return True
        if rc != 0:
            L.llama_memory_clear(mem, True)
            lm.cache_tokens = []
            raise EngineError(ErrorCode.DECODE_FAILED, _decode_error(rc, len(chunk)))
        pos += len(chunk)
        lm.cache_tokens = tokens[:pos]
    return False


def _decode_error(rc: int, n: int) -> str:
    if rc == 1:
        return f"llama.cpp found no room in the KV cache for {n} tokens; the context is full"
    return f"llama.cpp failed to process the prompt (error {rc})"
