"""Loading a model and its context in the worker: llama.cpp's parameters from LoadOptions, the
chat template (or a fallback), and the record of what was loaded."""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import llama_cpp as L

from app.core.chat.template import ChatTemplate, TemplateError
from app.core.fit.hardware import devices_for, probe_build
from app.core.fit.placement import Device, FitOptions, estimate, plan_offload
from app.core.fit.shape import shape_from_info, tensors_from_headers
from app.core.gguf.header import GGUFHeader
from app.core.gguf.info import ModelInfo as CoreModelInfo
from app.core.gguf.info import inspect_model_headers
from app.core.options import LoadOptions
from app.engine.devices import build_info
from app.engine.events import ModelInfo
from app.engine.llama_log import LogCapture, buffer_sizes
from app.engine.protocol import EngineError, ErrorCode

KV_TYPES = {"f16": L.GGML_TYPE_F16, "q8_0": L.GGML_TYPE_Q8_0, "q4_0": L.GGML_TYPE_Q4_0}
FLASH_ATTN = {
    "auto": L.LLAMA_FLASH_ATTN_TYPE_AUTO,
    "on": L.LLAMA_FLASH_ATTN_TYPE_ENABLED,
    "off": L.LLAMA_FLASH_ATTN_TYPE_DISABLED,
}


@dataclass
class LoadedModel:
    """A model, its context and what the context's KV cache holds."""

    path: str
    options: LoadOptions
    model: Any
    ctx: Any
    vocab: Any
    template: ChatTemplate
    template_note: str | None
    n_ctx: int
    n_batch: int
    n_swa: int
    n_parallel: int
    info: ModelInfo
    eog: list[int] | None = None  # end-of-generation tokens, found when first needed
    cache_tokens: list[int] = field(default_factory=list)  # the KV cache of sequence 0

    def free(self) -> None:
        L.llama_free(self.ctx)
        L.llama_model_free(self.model)


def physical_cores() -> int:
    try:
        import psutil

        return max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    except Exception:  # pragma: no cover - psutil is a dependency
        return max(1, os.cpu_count() or 1)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


Checked = tuple[CoreModelInfo, list[GGUFHeader]]


def check_model(path: str) -> Checked:
    """Read the file's header(s) before anything is unloaded: a file that is not a model, or an
    incomplete one, is refused here while the loaded model stays loaded."""
    name = Path(path).name
    model_info, headers = inspect_model_headers(path)
    if not model_info.valid:
        reason = model_info.error or "it is not a GGUF model"
        raise EngineError(ErrorCode.LOAD_FAILED, f"Cannot load {name}: {reason}")
    return model_info, headers


def load_model(
    path: str,
    options: LoadOptions,
    log: LogCapture,
    progress: Callable[[float], bool],
    checked: Checked | None = None,
) -> LoadedModel:
    """Load ``path``; ``progress(fraction)`` returning False cancels the load."""
    name = Path(path).name
    model_info, headers = checked or check_model(path)
    header = headers[0]
    shape = shape_from_info(model_info, tensors_from_headers(headers), "file")
    started = time.monotonic()
    rss_before = _rss()
    mark = log.mark()

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
    devices, cpu_flags = _fit_devices()
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
            raise EngineError(ErrorCode.CANCELLED, f"Loading {name} was stopped")
        reasons = log.errors_since(mark)
        detail = reasons[-1] if reasons else "llama.cpp gave no reason"
        raise EngineError(ErrorCode.LOAD_FAILED, f"Cannot load {name}: {detail}")

    n_ctx_train = L.llama_model_n_ctx_train(model)
    n_ctx = options.n_ctx
    note_ctx = None
    if n_ctx_train > 0 and n_ctx > n_ctx_train:
        note_ctx = f"The context length was lowered from {n_ctx:,} to the model's maximum of {n_ctx_train:,}"
        n_ctx = n_ctx_train
    threads = options.n_threads or physical_cores()
    cparams = L.llama_context_default_params()
    cparams.n_ctx = n_ctx
    cparams.n_batch = min(options.n_batch, n_ctx)
    cparams.n_ubatch = min(options.n_ubatch, cparams.n_batch)
    cparams.n_seq_max = options.n_parallel
    # Each reply keeps a KV stream of its own (n_ctx / n_parallel cells): its attention sees
    # only its own cells, so a greedy reply is the same whether written alone or with others.
    # (A unified cache ran 4 streams ~25% faster here but changed greedy replies now and then.)
    cparams.kv_unified = False
    cparams.n_threads = threads
    cparams.n_threads_batch = threads
    cparams.type_k = KV_TYPES[options.kv_type]
    cparams.type_v = KV_TYPES[options.kv_type]
    cparams.flash_attn_type = FLASH_ATTN[options.flash_attn]
    cparams.swa_full = False
    cparams.no_perf = True
    ctx = L.llama_init_from_model(model, cparams)
    if not ctx:
        reasons = log.errors_since(mark)
        L.llama_model_free(model)
        detail = reasons[-1] if reasons else "llama.cpp could not create the context"
        raise EngineError(
            ErrorCode.LOAD_FAILED,
            f"Cannot create a {n_ctx:,}-token context for {name}: {detail} "
            "(a smaller context length or KV cache type needs less memory)",
        )
    vocab = L.llama_model_get_vocab(model)
    template, note = template_for(model, vocab)
    n_layer = L.llama_model_n_layer(model)
    n_gpu = min(mparams.n_gpu_layers if mparams.n_gpu_layers >= 0 else n_layer + 1, n_layer + 1)
    fit_opts.n_ctx, fit_opts.n_gpu_layers = L.llama_n_ctx(ctx), n_gpu if offload else 0
    fit_opts.n_batch, fit_opts.n_ubatch = cparams.n_batch, cparams.n_ubatch
    estimate_result = estimate(shape, fit_opts, devices, cpu_flags)
    info: ModelInfo = {
        "path": path,
        "name": model_info.display_name,
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
        "system_prompt": template.system_prompt,
        # Which template options the chat can offer: the template text reads the variable.
        "thinking_switch": "enable_thinking" in template.source,
        "reasoning_efforts": "reasoning_effort" in template.source,
        "notes": [n for n in (note_ctx, note) if n],
        "buffers_mib": buffer_sizes(log.since(mark)),
        "estimate": estimate_result.to_dict(),
        "n_gpu_layers_planned": planned,
        "rss_before": rss_before,
        "rss_after": _rss(),
        "load_s": round(time.monotonic() - started, 3),
    }
    return LoadedModel(
        path,
        options,
        model,
        ctx,
        vocab,
        template,
        note,
        L.llama_n_ctx(ctx),
        cparams.n_batch,
        L.llama_model_n_swa(model),
        options.n_parallel,
        info,
    )


def _fit_devices() -> tuple[list[Device], set[str]]:
    """This machine as the estimator sees it: RAM and the GPUs llama.cpp can use."""
    hw = probe_build(dict(build_info()))
    return devices_for(hw), hw.flags


def token_text(vocab: Any, token: int) -> str:
    """A special token's text (BOS, EOS) as the chat template writes it."""
    if token < 0:
        return ""
    buf = ctypes.create_string_buffer(512)
    n = L.llama_token_to_piece(vocab, token, buf, len(buf), 0, True)
    return buf.raw[: max(n, 0)].decode("utf-8", errors="replace")


def template_for(model: Any, vocab: Any) -> tuple[ChatTemplate, str | None]:
    """The model's own chat template, or the transcript fallback and a note saying why."""
    bos = token_text(vocab, L.llama_vocab_bos(vocab))
    eos = token_text(vocab, L.llama_vocab_eos(vocab))
    raw = L.llama_model_chat_template(model, None)
    if not raw:
        fallback = ChatTemplate.transcript(bos, eos)
        return fallback, (
            "This model has no chat template (it is probably a base model, which continues "
            f"text rather than follows instructions). Hearth uses a {fallback.name} format."
        )
    try:
        template = ChatTemplate(raw.decode("utf-8", errors="replace"), bos, eos)
    except TemplateError as exc:
        fallback = ChatTemplate.transcript(bos, eos)
        return (
            fallback,
            f"The model's chat template is unusable ({exc}); Hearth uses a {fallback.name} format.",
        )
    try:
        # Once per load: does the template take a system message, or must it be merged?
        template.probed()
    except TemplateError:
        pass  # it fails even without a system message: chatting reports why, as it happens
    return template, None
