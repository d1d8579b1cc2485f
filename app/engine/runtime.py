"""The model runtime: llama.cpp through llama-cpp-python's low-level API, in the worker process.

A lean token loop (decode, then llama.cpp's own sampler chain) instead of the high-level
``Llama`` class: no per-token logits copies or Python-side sampling. The KV cache is kept
between turns and only the tokens after the longest common prefix are processed.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as L

from app.core.chat.context import ContextOverflow, plan_context
from app.core.chat.template import ChatTemplate, TemplateError
from app.core.fit.hardware import devices_for, probe_build
from app.core.fit.placement import Device, FitOptions, estimate, plan_offload
from app.core.fit.shape import shape_from_info, tensors_from_headers
from app.core.gguf.info import inspect_model_headers
from app.core.options import LoadOptions, SamplingOptions
from app.engine.protocol import EngineError

KV_TYPES = {"f16": L.GGML_TYPE_F16, "q8_0": L.GGML_TYPE_Q8_0, "q4_0": L.GGML_TYPE_Q4_0}
FLASH_ATTN = {
    "auto": L.LLAMA_FLASH_ATTN_TYPE_AUTO,
    "on": L.LLAMA_FLASH_ATTN_TYPE_ENABLED,
    "off": L.LLAMA_FLASH_ATTN_TYPE_DISABLED,
}
_LOG_DEBUG, _LOG_ERROR, _LOG_CONT = 1, 4, 5  # ggml_log_level
_BUFFER_RE = re.compile(r"^\s*\w+:\s+(\S+)\s+(\S.*?)\s+buffer size\s*=\s*([\d.]+) MiB")


class LogCapture:
    """Keeps llama.cpp's recent log lines (to explain failures and read buffer sizes)."""

    def __init__(self, keep: int = 400, echo: bool = False) -> None:
        self.lines: deque[tuple[int, str]] = deque(maxlen=keep)
        self._partial = ""
        self._level = 1
        self.count = 0
        self.echo = echo
        self._cb = L.llama_log_callback(self._on_log)  # keep a reference for llama.cpp
        L.llama_log_set(self._cb, ctypes.c_void_p(0))

    def _on_log(self, level: int, text: bytes, _user: Any) -> None:
        piece = text.decode("utf-8", errors="replace")
        if level != _LOG_CONT:
            self._level = level
        if self._level == _LOG_DEBUG:
            return
        if self.echo:
            os.write(2, text)
        self._partial += piece
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self.lines.append((self._level, line))
            self.count += 1

    def mark(self) -> int:
        """A position; ``since(mark)`` returns the lines logged after it."""
        return self.count

    def since(self, mark: int) -> list[tuple[int, str]]:
        n = min(self.count - mark, len(self.lines))
        return list(self.lines)[len(self.lines) - n :] if n > 0 else []

    def errors_since(self, mark: int) -> list[str]:
        return [
            line.strip() for level, line in self.since(mark) if level == _LOG_ERROR and line.strip()
        ]


def buffer_sizes(lines: list[tuple[int, str]]) -> dict[str, float]:
    """Buffer sizes (MiB) llama.cpp printed while loading, e.g. ``{"CPU_Mapped model": 92.1}``."""
    out: dict[str, float] = {}
    for _level, line in lines:
        m = _BUFFER_RE.search(line)
        if m:
            key = f"{m.group(1)} {m.group(2).strip()}"
            out[key] = out.get(key, 0.0) + float(m.group(3))
    return out


def physical_cores() -> int:
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except Exception:  # pragma: no cover - psutil is a dependency
        return max(1, os.cpu_count() or 1)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


class _Utf8Pieces:
    """Turns token byte pieces into text, holding back incomplete UTF-8 sequences."""

    def __init__(self) -> None:
        self._dec = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return self._dec.decode(data)

    def flush(self) -> str:
        return self._dec.decode(b"", final=True)


class _StopMatcher:
    """Finds stop strings in streamed text, holding back a tail that may start one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self._hold = ""

    def feed(self, text: str) -> tuple[str, bool]:
        """Return (text safe to emit, whether a stop string was reached)."""
        if not self.stops:
            return text, False
        buf = self._hold + text
        cut = min((i for i in (buf.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            self._hold = ""
            return buf[:cut], True
        keep = 0
        for s in self.stops:
            for n in range(min(len(s) - 1, len(buf)), 0, -1):
                if buf.endswith(s[:n]):
                    keep = max(keep, n)
                    break
        self._hold = buf[len(buf) - keep :] if keep else ""
        return buf[: len(buf) - keep], False

    def flush(self) -> str:
        out, self._hold = self._hold, ""
        return out


@dataclass
class LoadedModel:
    path: str
    model: Any
    ctx: Any
    vocab: Any
    template: ChatTemplate
    template_note: str | None
    n_ctx: int
    n_batch: int
    n_swa: int
    info: dict[str, Any]
    eog: list[int] | None = None


class Runtime:
    """One loaded model and its context; used from one thread only."""

    def __init__(self, log: LogCapture | None = None) -> None:
        L.llama_backend_init()
        self.log = log or LogCapture()
        self.loaded: LoadedModel | None = None
        self.cache_tokens: list[int] = []  # what the KV cache holds for sequence 0
        self._piece_buf = ctypes.create_string_buffer(512)
        self._abort_flag: Callable[[], bool] = lambda: False
        self._abort_cb = L.ggml_abort_callback(self._on_abort)

    # -- build facts --------------------------------------------------------------------------

    @staticmethod
    def build_info() -> dict[str, Any]:
        from app.engine.devices import backend_name, list_backends, list_devices

        backends: list[dict[str, Any]] = []
        try:
            devices = list_devices()
            backends = list_backends()
        except OSError as exc:
            devices = [
                {
                    "name": "CPU",
                    "description": f"devices unknown: {exc}",
                    "type": "cpu",
                    "free_bytes": 0,
                    "total_bytes": 0,
                }
            ]
        return {
            "llama_cpp_version": getattr(L, "__version__", "?"),
            "gpu_offload": bool(L.llama_supports_gpu_offload()),
            "mmap": bool(L.llama_supports_mmap()),
            "system_info": L.llama_print_system_info().decode("utf-8", errors="replace").strip(),
            "devices": devices,
            "backends": backends,
            "backend": backend_name(devices, backends),
        }

    # -- loading ------------------------------------------------------------------------------

    def load(
        self,
        path: str,
        options: LoadOptions,
        progress: Callable[[float], bool] = lambda f: True,
    ) -> dict[str, Any]:
        """Load ``path``; ``progress(fraction)`` returning False cancels the load."""
        self.unload()
        name = Path(path).name
        model_info, headers = inspect_model_headers(path)
        if not model_info.valid:
            raise EngineError("load_failed", f"Cannot load {name}: {model_info.error}")
        header = headers[0]
        shape = shape_from_info(model_info, tensors_from_headers(headers), "file")
        started = time.monotonic()
        rss_before = _rss()
        mark = self.log.mark()

        cancelled = False

        def _progress(fraction: float, _user: Any) -> bool:
            nonlocal cancelled
            if not progress(float(fraction)):
                cancelled = True
                return False
            return True

        progress_cb = L.llama_progress_callback(_progress)
        mparams = L.llama_model_default_params()
        offload = bool(L.llama_supports_gpu_offload())
        n_ctx_wanted = min(options.n_ctx, model_info.context_length or options.n_ctx)
        fit_opts = FitOptions(
            n_ctx=n_ctx_wanted,
            kv_type=options.kv_type,
            n_batch=min(options.n_batch, n_ctx_wanted),
            n_ubatch=min(options.n_ubatch, options.n_batch, n_ctx_wanted),
            flash_attn=options.flash_attn,
            n_gpu_layers="auto",
        )
        devices, cpu_flags = self._fit_devices()
        planned = None
        if options.n_gpu_layers is None:
            # "auto": as many layers as fit the GPU's free memory (none on a CPU build).
            planned = plan_offload(shape, fit_opts, devices, cpu_flags)[0] if offload else 0
            mparams.n_gpu_layers = planned
        else:
            mparams.n_gpu_layers = options.n_gpu_layers if offload else 0
        # Memory-map the file (llama.cpp's default) unless asked to read it into memory.
        mparams.load_mode = L.LLAMA_LOAD_MODE_AUTO if options.use_mmap else L.LLAMA_LOAD_MODE_NONE
        mparams.progress_callback = progress_cb
        model = L.llama_model_load_from_file(os.fsencode(path), mparams)
        if not model:
            if cancelled:
                raise EngineError("cancelled", f"Loading {name} was cancelled")
            reasons = self.log.errors_since(mark)
            detail = reasons[-1] if reasons else "llama.cpp gave no reason"
            raise EngineError("load_failed", f"Cannot load {name}: {detail}")

        n_ctx_train = L.llama_model_n_ctx_train(model)
        n_ctx = options.n_ctx
        note_ctx = None
        if n_ctx_train > 0 and n_ctx > n_ctx_train:
            note_ctx = (
                f"context length lowered from {n_ctx:,} to the model's maximum of {n_ctx_train:,}"
            )
            n_ctx = n_ctx_train
        threads = options.n_threads or physical_cores()
        cparams = L.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = min(options.n_batch, n_ctx)
        cparams.n_ubatch = min(options.n_ubatch, cparams.n_batch)
        cparams.n_seq_max = 1
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.type_k = KV_TYPES[options.kv_type]
        cparams.type_v = KV_TYPES[options.kv_type]
        cparams.flash_attn_type = FLASH_ATTN[options.flash_attn]
        cparams.swa_full = False
        cparams.no_perf = True
        ctx = L.llama_init_from_model(model, cparams)
        if not ctx:
            reasons = self.log.errors_since(mark)
            L.llama_model_free(model)
            detail = reasons[-1] if reasons else "llama.cpp could not create the context"
            raise EngineError(
                "load_failed",
                f"Cannot create a {n_ctx:,}-token context for {name}: {detail} "
                "(a smaller context length or KV cache type needs less memory)",
            )
        vocab = L.llama_model_get_vocab(model)
        template, note = self._template_for(model, vocab)
        n_layer = L.llama_model_n_layer(model)
        n_gpu = min(mparams.n_gpu_layers if mparams.n_gpu_layers >= 0 else n_layer + 1, n_layer + 1)
        fit_opts.n_ctx, fit_opts.n_gpu_layers = L.llama_n_ctx(ctx), n_gpu if offload else 0
        fit_opts.n_batch, fit_opts.n_ubatch = cparams.n_batch, cparams.n_ubatch
        estimate_result = estimate(shape, fit_opts, devices, cpu_flags)
        info = {
            "path": path,
            "name": model_info.name or name,
            "architecture": model_info.architecture,
            "n_ctx": L.llama_n_ctx(ctx),
            "n_ctx_requested": options.n_ctx,
            "n_ctx_train": n_ctx_train,
            "n_layer": n_layer,
            "n_gpu_layers": n_gpu if offload else 0,
            "n_params": int(L.llama_model_n_params(model)),
            "model_bytes": int(L.llama_model_size(model)),
            "threads": threads,
            "kv_type": options.kv_type,
            "flash_attn": options.flash_attn,
            "has_template": header.chat_template is not None,
            "template": template.name,
            "template_note": note,
            "notes": [n for n in (note_ctx, note) if n],
            "buffers_mib": buffer_sizes(self.log.since(mark)),
            "estimate": estimate_result.to_dict(),
            "n_gpu_layers_planned": planned,
            "rss_before": rss_before,
            "rss_after": _rss(),
            "load_s": round(time.monotonic() - started, 3),
        }
        self.loaded = LoadedModel(
            path,
            model,
            ctx,
            vocab,
            template,
            note,
            L.llama_n_ctx(ctx),
            cparams.n_batch,
            L.llama_model_n_swa(model),
            info,
        )
        self.cache_tokens = []
        return info

    def _fit_devices(self) -> tuple[list[Device], set[str]]:
        """This machine as the estimator sees it: RAM and the GPUs llama.cpp can use."""
        hw = probe_build(self.build_info())
        return devices_for(hw), hw.flags

    def _token_text(self, vocab: Any, token: int) -> str:
        if token < 0:
            return ""
        n = L.llama_token_to_piece(vocab, token, self._piece_buf, len(self._piece_buf), 0, True)
        return self._piece_buf.raw[: max(n, 0)].decode("utf-8", errors="replace")

    def _template_for(self, model: Any, vocab: Any) -> tuple[ChatTemplate, str | None]:
        bos = self._token_text(vocab, L.llama_vocab_bos(vocab))
        eos = self._token_text(vocab, L.llama_vocab_eos(vocab))
        raw = L.llama_model_chat_template(model, None)
        if not raw:
            fallback = ChatTemplate.transcript(bos, eos)
            return fallback, (
                "This model has no chat template (it is probably a base model, which continues "
                f"text rather than follows instructions). Hearth uses a {fallback.name} format."
            )
        try:
            return ChatTemplate(raw.decode("utf-8", errors="replace"), bos, eos), None
        except TemplateError as exc:
            fallback = ChatTemplate.transcript(bos, eos)
            return (
                fallback,
                f"The model's chat template is unusable ({exc}); Hearth uses a {fallback.name} format.",
            )

    def unload(self) -> None:
        if self.loaded is not None:
            L.llama_free(self.loaded.ctx)
            L.llama_model_free(self.loaded.model)
            self.loaded = None
            self.cache_tokens = []

    # -- tokens -------------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        lm = self._need_model()
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

    def _need_model(self) -> LoadedModel:
        if self.loaded is None:
            raise EngineError("not_loaded", "No model is loaded")
        return self.loaded

    def _on_abort(self, _data: Any) -> bool:
        return bool(self._abort_flag())

    # -- generation ---------------------------------------------------------------------------

    def generate(
        self,
        messages: list[dict[str, str]],
        sampling: SamplingOptions,
        emit: Callable[[str], None],
        should_stop: Callable[[], bool],
        on_started: Callable[[dict[str, Any]], None] = lambda info: None,
    ) -> tuple[str, dict[str, Any]]:
        """Reply to ``messages``; ``emit`` gets text as it is produced. Returns (text, stats)."""
        lm = self._need_model()
        t_request = time.monotonic()
        render_cache: dict[int, list[int]] = {}

        def count(msgs: list[dict[str, str]]) -> int:
            toks = self.tokenize(lm.template.render(msgs, add_generation_prompt=True))
            render_cache[len(msgs)] = toks
            return len(toks)

        try:
            plan = plan_context(messages, count, lm.n_ctx, sampling.max_tokens)
        except TemplateError as exc:
            raise EngineError("template", str(exc)) from None
        except ContextOverflow as exc:
            raise EngineError("context_overflow", str(exc)[:1].upper() + str(exc)[1:]) from None
        tokens = render_cache.get(len(plan.messages)) or self.tokenize(
            lm.template.render(plan.messages, add_generation_prompt=True)
        )

        n_past = self._reuse_prefix(tokens)
        reused = n_past
        on_started(
            {
                "prompt_tokens": len(tokens),
                "reused_tokens": reused,
                "dropped_messages": plan.dropped,
                "n_ctx": lm.n_ctx,
                "template": lm.template.name,
                "template_note": lm.template_note,
            }
        )

        stats: dict[str, Any] = {
            "prompt_tokens": len(tokens),
            "reused_tokens": reused,
            "dropped_messages": plan.dropped,
            "n_ctx": lm.n_ctx,
        }
        # Prompt processing, in batches, abortable inside each decode.
        t0 = time.monotonic()
        self._abort_flag = should_stop
        L.llama_set_abort_callback(lm.ctx, self._abort_cb, None)
        try:
            stopped_in_prompt = self._decode_prompt(tokens, n_past, should_stop)
        finally:
            L.llama_set_abort_callback(lm.ctx, L.ggml_abort_callback(), None)
            self._abort_flag = lambda: False
        t_prompt = time.monotonic() - t0
        stats["prompt_s"] = round(t_prompt, 4)
        new_prompt = len(tokens) - reused
        stats["prompt_tokens_per_second"] = (
            round(new_prompt / t_prompt, 2) if t_prompt > 0 else None
        )
        if stopped_in_prompt:
            stats.update(
                completion_tokens=0,
                ttft_s=None,
                generation_s=0.0,
                tokens_per_second=None,
                stop_reason="stopped",
                context_used=len(self.cache_tokens),
                seed=None,
            )
            return "", stats

        seed = sampling.seed if sampling.seed is not None else random.randrange(1 << 32)
        sampler = self._make_sampler(sampling, seed, tokens)
        try:
            text, gen = self._token_loop(lm, sampler, sampling, emit, should_stop, t_request)
        finally:
            L.llama_sampler_free(sampler)
        stats.update(gen)
        stats["seed"] = seed
        stats["context_used"] = len(self.cache_tokens)
        return text, stats

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Keep the cached tokens shared with ``tokens``; return how many are kept."""
        lm = self._need_model()
        mem = L.llama_get_memory(lm.ctx)
        cached = self.cache_tokens
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
        self.cache_tokens = cached[:n]
        return n

    def _decode_prompt(
        self, tokens: list[int], n_past: int, should_stop: Callable[[], bool]
    ) -> bool:
        """Decode ``tokens[n_past:]``; returns True if stopped by the user."""
        lm = self._need_model()
        mem = L.llama_get_memory(lm.ctx)
        pos = n_past
        while pos < len(tokens):
            if should_stop():
                return True
            chunk = tokens[pos : pos + lm.n_batch]
            arr = (L.llama_token * len(chunk))(*chunk)
            rc = L.llama_decode(lm.ctx, L.llama_batch_get_one(arr, len(chunk)))
            if rc == 2:
                kept = L.llama_memory_seq_pos_max(mem, 0) + 1
                self.cache_tokens = tokens[: max(kept, 0)]
                return True
            if rc != 0:
                L.llama_memory_clear(mem, True)
                self.cache_tokens = []
                raise EngineError("decode_failed", self._decode_error(rc, len(chunk)))
            pos += len(chunk)
            self.cache_tokens = tokens[:pos]
        return False

    @staticmethod
    def _decode_error(rc: int, n: int) -> str:
        if rc == 1:
            return f"llama.cpp found no room in the KV cache for {n} tokens; the context is full"
        return f"llama.cpp failed to process the prompt (error {rc})"

    def _eog_tokens(self) -> list[int]:
        """Every end-of-generation token of the vocabulary (computed once per model)."""
        lm = self._need_model()
        if lm.eog is None:
            n = L.llama_vocab_n_tokens(lm.vocab)
            lm.eog = [t for t in range(n) if L.llama_vocab_is_eog(lm.vocab, t)]
        return lm.eog

    def _make_sampler(self, s: SamplingOptions, seed: int, prompt: list[int]) -> Any:
        """llama.cpp's own sampler chain. Top-k runs first so that the repeat penalty (which
        looks up every candidate) works on a few dozen tokens, not the whole vocabulary."""
        lm = self._need_model()
        n_vocab = L.llama_vocab_n_tokens(lm.vocab)
        chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        add = L.llama_sampler_chain_add
        if s.ignore_eos:
            eog = self._eog_tokens()
            biases = (L.llama_logit_bias * len(eog))(
                *[L.llama_logit_bias(t, float("-inf")) for t in eog]
            )
            add(chain, L.llama_sampler_init_logit_bias(n_vocab, len(eog), biases))
        if s.top_k > 0:
            add(chain, L.llama_sampler_init_top_k(s.top_k))
        if s.repeat_penalty != 1.0 and s.repeat_last_n != 0:
            add(
                chain,
                L.llama_sampler_init_penalties(
                    n_vocab, s.repeat_last_n, s.repeat_penalty, 0.0, 0.0
                ),
            )
        if s.temperature <= 0:
            add(chain, L.llama_sampler_init_greedy())
        else:
            if s.top_p < 1.0:
                add(chain, L.llama_sampler_init_top_p(s.top_p, 1))
            if s.min_p > 0.0:
                add(chain, L.llama_sampler_init_min_p(s.min_p, 1))
            add(chain, L.llama_sampler_init_temp(s.temperature))
            add(chain, L.llama_sampler_init_dist(seed))
        window = len(prompt) if s.repeat_last_n < 0 else s.repeat_last_n
        for tok in prompt[-window:] if window else []:
            L.llama_sampler_accept(chain, tok)
        return chain

    def _token_loop(
        self,
        lm: LoadedModel,
        sampler: Any,
        s: SamplingOptions,
        emit: Callable[[str], None],
        should_stop: Callable[[], bool],
        t_request: float,
    ) -> tuple[str, dict[str, Any]]:
        ctx, vocab = lm.ctx, lm.vocab
        n_ctx = lm.n_ctx
        one = (L.llama_token * 1)()
        batch = L.llama_batch_get_one(one, 1)  # points at ``one``: reused for every token
        buf = self._piece_buf
        buf_len = len(buf)
        sample = L.llama_sampler_sample
        to_piece = L.llama_token_to_piece
        is_eog = L.llama_vocab_is_eog
        decode = L.llama_decode
        utf8 = _Utf8Pieces()
        stops = _StopMatcher(list(s.stop) + list(lm.template.stop_strings))
        out: list[str] = []
        cache = self.cache_tokens
        n_gen = 0
        reason = "max_tokens"
        t_first: float | None = None
        t_gen0 = time.monotonic()

        while True:
            if should_stop():
                reason = "stopped"
                break
            tok = sample(sampler, ctx, -1)
            if is_eog(vocab, tok):
                reason = "eos"
                break
            n_gen += 1
            n = to_piece(vocab, tok, buf, buf_len, 0, False)
            piece = buf.raw[:n] if n >= 0 else self._long_piece(vocab, tok, -n)
            text, hit = stops.feed(utf8.feed(piece))
            if text:
                if t_first is None:
                    t_first = time.monotonic()
                out.append(text)
                emit(text)
            if hit:
                reason = "stop_string"
                break
            if n_gen >= s.max_tokens:
                break
            if len(cache) >= n_ctx:
                reason = "context_full"
                break
            one[0] = tok
            rc = decode(ctx, batch)
            if rc != 0:
                if rc == 1:
                    reason = "context_full"
                    break
                raise EngineError(
                    "decode_failed", f"llama.cpp failed while generating (error {rc})"
                )
            cache.append(tok)
        if reason != "stop_string":
            tail = stops.feed(utf8.flush())[0] + stops.flush()
            if tail:
                out.append(tail)
                emit(tail)
        t_end = time.monotonic()
        gen_s = t_end - t_gen0
        return "".join(out), {
            "completion_tokens": n_gen,
            "ttft_s": round((t_first or t_end) - t_request, 4),
            "generation_s": round(gen_s, 4),
            "tokens_per_second": round(n_gen / gen_s, 2) if gen_s > 0 and n_gen else None,
            "stop_reason": reason,
        }

    def _long_piece(self, vocab: Any, tok: int, size: int) -> bytes:
        big = ctypes.create_string_buffer(size)
        n = L.llama_token_to_piece(vocab, tok, big, size, 0, False)
        return big.raw[: max(n, 0)]
