"""A model's shape, what the estimate needs to know about it, at one of three grades of input.

* ``name``: a file name (or name and quant) and a parameter count, before any download. Weights
  come from the quant preset's typical bits per weight; the shape (layers, heads, vocabulary) from
  the table of common families, else the KV cache and compute buffers are stated as unknown.
* ``header``: the header of a remote file (exact tensor sizes, the file size from the Hub).
* ``file``: a local file.

Each grade says in ``assumptions`` what it used and assumed.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any

from app.core.fit.families import (
    Family,
    family_rows,
    find_family,
    has_attention,
    is_global,
    like_sized,
    lineage_of,
    lookup_name,
    merged_experts,
    parameter_count,
    weights_bytes,
)
from app.core.fit.publishers import spelling_for
from app.core.gguf.info import ModelInfo, inspect_model_headers
from app.core.gguf.names import companion_kind, parse_name
from app.core.gguf.quants import PRESET_BASE_TYPE, preset_for

# Architectures whose sliding-window layers follow a fixed pattern (every n-th layer is global),
# as llama.cpp sets it when the file carries no pattern of its own.
SWA_PATTERNS = {
    "gemma2": (2, False),
    "gemma3": (6, False),
    "gemma3n": (5, False),
    "gemma-embedding": (6, False),
    "cohere2": (4, False),
    "cohere2moe": (4, True),
    "exaone4": (4, False),
    "exaone-moe": (4, False),
    "llama4": (4, False),
    "gpt-oss": (2, False),
    "openai-moe": (2, False),
    "olmo2": (4, False),
    "afmoe": (4, False),
    "mellum": (4, False),
    "laguna": (4, True),
}
NO_SWA_ARCHS = {"phi3"}  # llama.cpp ignores their sliding_window key


class FitError(ValueError):
    """The input cannot give an estimate; the message says what is missing or wrong."""


@dataclass
class Tensor:
    name: str
    type_name: str
    shape: tuple[int, ...]
    n_bytes: int


@dataclass
class ModelShape:
    """What the estimator needs to know about a model."""

    grade: str  # "name", "header" or "file"
    name: str
    n_layer: int | None = None
    n_embd: int | None = None
    n_vocab: int | None = None
    n_head: int | None = None
    n_head_kv: list[int] = field(default_factory=list)  # per layer
    key_length: int | None = None
    value_length: int | None = None
    n_ff: int | None = None
    expert_count: int = 0
    expert_used: int = 0
    n_ff_exp: int | None = None
    n_ctx_train: int | None = None
    sliding_window: int = 0
    swa_layers: list[bool] = field(default_factory=list)
    is_mla: bool = False
    tensors: list[Tensor] | None = None  # None at name grade
    weights_bytes: int = 0  # all tensors (at name grade: parameters x bits per weight / 8)
    parameters: int | None = None
    quant: str | None = None  # the preset, at name grade
    assumptions: list[str] = field(default_factory=list)

    @property
    def shape_known(self) -> bool:
        return bool(
            self.n_layer and self.n_embd and self.n_vocab and self.n_head and self.n_head_kv
        )


def _kv_per_layer(value: Any, n_layer: int) -> list[int]:
    if isinstance(value, list) and len(value) == n_layer:
        return [int(v) for v in value]
    return [int(value)] * n_layer


def swa_layer_flags(arch: str | None, n_layer: int, window: int, pattern: Any) -> list[bool]:
    if not window or arch in NO_SWA_ARCHS:
        return [False] * n_layer
    if isinstance(pattern, list) and len(pattern) == n_layer:
        return [bool(p) for p in pattern]
    n_pattern, dense_first = SWA_PATTERNS.get(arch or "", (0, False))
    if isinstance(pattern, int) and not isinstance(pattern, bool):
        n_pattern = pattern
    if not n_pattern:
        return [True] * n_layer  # a window with no pattern: every layer slides
    if dense_first:
        return [il % n_pattern != 0 for il in range(n_layer)]
    return [il % n_pattern < n_pattern - 1 for il in range(n_layer)]


def shape_from_info(info: ModelInfo, tensors: list[Tensor], grade: str = "file") -> ModelShape:
    """A model's shape from its header facts and tensor table (a local file or a remote header)."""
    if not info.valid:
        raise FitError(f"{info.path} cannot be used: {info.error}")
    meta = info.metadata
    arch = info.architecture or ""
    n_layer = info.block_count or 0
    raw_kv = meta.get(f"{arch}.attention.head_count_kv")
    n_embd = info.embedding_length or 0
    vocab = info.vocab_size or 0
    out = next((t for t in tensors if t.name == "output.weight"), None)
    if out is not None and len(out.shape) == 2:
        vocab = out.shape[1] or vocab
    ffn = next((t for t in tensors if re.match(r"blk\.\d+\.ffn_up\.weight$", t.name)), None)
    ffn_exp = next(
        (t for t in tensors if re.match(r"blk\.\d+\.ffn_up_exps\.weight$", t.name)), None
    )
    shape = ModelShape(
        grade=grade,
        name=info.display_name,
        n_layer=n_layer or None,
        n_embd=n_embd or None,
        n_vocab=vocab or None,
        n_head=info.head_count,
        n_head_kv=_kv_per_layer(
            raw_kv if raw_kv is not None else (info.head_count_kv or 0), n_layer
        )
        if n_layer
        else [],
        key_length=info.key_length,
        value_length=info.value_length,
        n_ff=(
            ffn.shape[1]
            if ffn is not None and len(ffn.shape) == 2
            else meta.get(f"{arch}.feed_forward_length")
        ),
        expert_count=info.expert_count or 0,
        expert_used=info.expert_used_count or 0,
        n_ff_exp=(ffn_exp.shape[1] if ffn_exp is not None and len(ffn_exp.shape) == 3 else None),
        n_ctx_train=info.context_length,
        sliding_window=info.sliding_window or 0,
        is_mla=f"{arch}.attention.key_length_mla" in meta,
        tensors=tensors,
        weights_bytes=sum(t.n_bytes for t in tensors),
        parameters=info.parameters,
    )
    pattern = info.sliding_window_pattern or meta.get(f"{arch}.attention.sliding_window_pattern")
    shape.swa_layers = swa_layer_flags(arch, n_layer, shape.sliding_window, pattern)
    if isinstance(shape.n_ff, list):
        shape.n_ff = max(shape.n_ff)
    return shape


def shape_from_file(path: str) -> ModelShape:
    """A local model file's shape (grade "file")."""
    info, headers = inspect_model_headers(path)
    return shape_from_info(info, tensors_from_headers(headers), "file")


def tensors_from_headers(headers: list[Any]) -> list[Tensor]:
    out = []
    for h in headers:
        for t in h.tensors:
            out.append(Tensor(t.name, t.type_name, t.shape, t.n_bytes))
    return out


def looks_exact(parameters: int) -> bool:
    """A count with more than four significant digits is a real count (a header's, the Hub's
    GGUF metadata), not a size someone wrote ("7B", "1.5B", "135M")."""
    return len(str(parameters).rstrip("0")) > 4


def shape_from_name(
    filename: str,
    parameters: int | None = None,
    quant: str | None = None,
    file_size: int | None = None,
    params_source: str | None = None,
) -> ModelShape:
    """A shape from a file name, a parameter count and a quant, before anything is read.

    ``parameters`` is what the caller knows: a stated size ("7B", rounded) or an exact count
    (``params_source`` says where it comes from, for the assumptions). A known family's shape
    gives the real count behind a stated size and prices each tensor at its preset's type; an
    unknown family falls back to the count times the preset's typical bits per weight."""
    companion = companion_kind(filename)
    if companion:
        raise FitError(_not_a_model(filename, companion))
    parsed = parse_name(filename)
    base = lookup_name(parsed.base_name, parsed.finetune)  # "zephyr-7b-gemma": a Gemma
    quant_name = quant or parsed.quant
    stated = parameters or parsed.parameters
    exact = parameters is not None and (params_source is not None or looks_exact(parameters))
    fam = find_family(base, stated, None if parameters else parsed.active_parameters)
    active = parsed.active_parameters
    if fam is None and parameters and active and abs(parameters - active) <= 0.01 * active:
        # "17B" given for Llama-4-Scout-17B-16E: the active size its name states, not a total.
        fam = find_family(base, None, active)
        if fam is not None:
            parameters, stated, exact = None, parsed.parameters, False
    effective = effective_size(filename)
    if fam is None and stated is None and effective:
        fam = find_family(base, None, None, effective)
    if fam is None and stated is None and parsed.version:  # "Mistral-Small-Instruct-2409"
        fam = find_family(f"{base}-{parsed.version}", None)
    merged = False
    if fam is None and parsed.experts and parsed.parameters and not parsed.active_parameters:
        # "GritLM-8x7B": eight copies of a 7B's FFN under one attention, not 56 B
        fam = merged_experts(base, parsed.experts, parsed.parameters / parsed.experts / 1e9)
        merged = fam is not None
    if stated is None and fam is None:
        raise FitError(_unplaced(filename, base, parsed.active_parameters, effective))
    mtp = bool(_MTP.search(PurePosixPath(filename).name))
    if mtp and fam is not None and not (fam.linear_interval or fam.nextn):
        # Unsloth's "gemma-4-12B-it-MTP-BF16.gguf": Gemma 4's drafter, a model of its own
        raise FitError(_not_a_model(filename, "a speculative-decoding draft head"))
    assumptions: list[str] = []
    if exact and parameters is not None:
        params = parameters
        source = params_source or "an exact count"
        assumptions.append(f"parameters: {params:,} ({source})")
    elif fam is not None:
        params = parameter_count(fam)
        said = (
            f"the name's {parsed.size_label}"
            if parsed.size_label and not parameters
            else f"{stated / 1e9:g}B given"
            if stated
            else f"the name's E{effective:g}B, an effective size"
            if effective
            else "no size in the name"
        )
        assumptions.append(
            f"parameters: {params / 1e9:.2f} B, counted from the shape of {fam.label} ({said})"
        )
    else:
        assert stated is not None
        params = stated
        said = f"the name's {parsed.size_label}" if not parameters else "as given"
        assumptions.append(f"parameters: {params / 1e9:.2f} B ({said})")
        if parsed.experts and not parsed.active_parameters and parameters is None:
            assumptions.append(
                f"{parsed.size_label} read as {params / 1e9:.0f} B parameters; shared layers make "
                "the real count lower"
            )
    if fam is not None and lineage_of(base):
        assumptions.append(f"{base!r} read as a fine-tune of {fam.label}, which its name implies")
    if merged and fam is not None:
        assumptions.append(
            f"{parsed.size_label} read as a merge of experts: attention and embeddings once, the "
            "FFN once per expert"
        )
    shape = ModelShape(grade="name", name=parsed.base_name or filename, parameters=params)
    preset = preset_for(quant_name)
    if parsed.dynamic and quant is None and (parsed.quant or "") in _DYNAMIC:
        preset = preset_for(_DYNAMIC[parsed.quant or ""])
    shape.quant = preset.name if preset else quant_name
    if file_size:
        shape.weights_bytes = file_size
        assumptions.append(f"weights: the file's size, {file_size / 1e9:.2f} GB")
    elif preset is None:
        raise FitError(
            f"unknown quant {quant_name!r}; Hearth reads llama.cpp's presets (Q4_K_M, Q8_0, "
            "IQ4_XS, F16…)"
            if quant_name
            else f"{filename!r} does not say which quant it is; give one (for example Q4_K_M)"
        )
    elif fam is not None and preset.name in PRESET_BASE_TYPE:
        variant = _ends_type(parsed.quant, parsed.dynamic, parsed.ends)
        spelled = spelling_for(PurePosixPath(filename).name, fam.label)
        made = fam
        if (
            fam.expert_type
            and PRESET_BASE_TYPE[preset.name] in ("Q8_0", "F16", "BF16", "F32")
            and re.search(r"(?i)(^|[-_.])bf16([-_.]|$)", parsed.finetune or "")
        ):
            # "gpt-oss-20b-BF16-abliterated-Q8_0": a fine-tune saved in BF16; Q8_0 and the
            # float types quantize its experts like any other tensor (the other presets give
            # them MXFP4, as the original's are).
            made = replace(fam, expert_type="")
        if spelled is not None:
            variant = variant or spelled.embeddings
            if spelled.output is not None:
                made = replace(made, gguf_output=spelled.output)
            if spelled.nextn is not None:
                made = replace(made, nextn=spelled.nextn)
        if mtp and fam.linear_interval:  # ggml-org's "Qwen3.6-27B-MTP-Q8_0.gguf"
            made = replace(made, nextn=1)
        legacy = spelled is not None and spelled.presets_2023
        size = weights_bytes(made, preset.name, variant, legacy)
        if exact:
            size = int(size * params / parameter_count(fam))
        shape.weights_bytes = size
        assumptions.append(
            f"weights: each tensor of {fam.label} at the type {preset.name} gives it"
            f"{' (llama.cpp as of 2023)' if legacy else ''}"
            f"{f' (embeddings and output at {variant})' if variant else ''}: "
            f"{size * 8 / params:.2f} bits per weight"
        )
        if spelled is not None:
            assumptions.append(spelled.said)
        if made.tied and not fam.label.startswith("Gemma"):
            # The other reading, for a file made otherwise than the name suggests (a publisher's
            # own conversion, a fine-tune saved with its own output layer). llama.cpp's Gemma
            # conversions never write one.
            other = weights_bytes(
                replace(made, gguf_output=not made.gguf_output), preset.name, variant, legacy
            )
            if exact:
                other = int(other * params / parameter_count(fam))
            with_it = made.gguf_output
            if spelled is None or spelled.output is None:
                assumptions.append(
                    f"counted {'with' if with_it else 'without'} a separate output tensor, as "
                    f"llama.cpp converts {fam.label}"
                )
            assumptions.append(
                f"a file made {'without' if with_it else 'with'} a separate output tensor is "
                f"{other / 1e9:.2f} GB"
            )
    elif preset.name in PRESET_BASE_TYPE:
        # A family Hearth does not know: priced as the known models nearest its size are. A
        # stated "7B" is 6.7 to 8.5 B real parameters, and small models keep a larger share in
        # embeddings held at more bits; the median of the neighbours' files carries both.
        variant = _ends_type(parsed.quant, parsed.dynamic, parsed.ends)
        moe = bool(parsed.experts or parsed.active_parameters)
        near = like_sized(params, moe)
        # What a parameter costs in this preset in models of that size (their embeddings'
        # share, the types the preset gives each tensor), not how their stated sizes round
        per = sorted(weights_bytes(f, preset.name, variant) / parameter_count(f) for f in near)
        rate = statistics.median(per)
        shape.weights_bytes = int(params * rate)
        assumptions.append(
            f"weights: priced as the known models nearest its size are "
            f"({', '.join(f.label for f in near[:3])}…): {rate * 8:.2f} bits per parameter in "
            f"{preset.name}{f' (embeddings and output at {variant})' if variant else ''}"
        )
    else:
        shape.weights_bytes = int(params * preset.bits_per_weight / 8)
        assumptions.append(
            f"weights: {params / 1e9:.2f} B parameters at {preset.bits_per_weight} bits per weight "
            f"(typical of {preset.name})"
        )
    if fam is None:
        shape.assumptions = [
            *assumptions,
            "KV cache and compute buffers: unknown (not a family Hearth knows the shape of)",
        ]
        return shape
    _fill_from_family(shape, fam)
    shape.assumptions = [
        *assumptions,
        f"shape of {fam.label}: {fam.n_layer} layers{_attending(shape)}, {fam.n_head_kv} KV "
        f"head{'s' if fam.n_head_kv != 1 else ''} of {fam.head_dim}, {fam.n_vocab:,}-token "
        "vocabulary",
    ]
    return shape


# Unsloth's dynamic quants sit nearer these presets than the bartowski _XL files of the same name.
_DYNAMIC = {"Q3_K_XL": "Q3_K_M", "Q2_K_XL": "Q2_K"}


def _ends_type(quant: str | None, dynamic: bool, ends: str | None) -> str:
    """The type a file's name says its token embeddings and output are kept at: ``-f16`` after
    the quant, bartowski's ``Q4_K_L`` / ``Q3_K_XL`` (Q8_0), Unsloth's dynamic ``UD-Q8_K_XL``
    (BF16) and other ``UD-…_XL`` (Q8_0); "" for the preset's own."""
    q = (quant or "").upper()
    if ends:
        return ends
    if dynamic and q == "Q8_K_XL":
        return "BF16"
    if q == "Q8_0_L":  # bartowski's early _L files: F16 (a Q8_0 file's own is Q8_0 already)
        return "F16"
    if re.search(r"_K_X?L$", q) and q != "Q3_K_L" and not dynamic:
        return "Q8_0"
    return ""


_MTP = re.compile(r"(?i)(?:^|[-_.])mtp(?=[-_.]|$)")  # a multi-token-prediction layer kept
_EFFECTIVE = re.compile(r"(?i)(?:^|[-_.])(E\d+(?:\.\d+)?B)(?=[-_.]|$)")


def effective_size(filename: str) -> float | None:
    """The effective size a name states, in billions ("gemma-3n-E4B-it": 4.0), if any."""
    m = _EFFECTIVE.search(filename)
    return float(m.group(1)[1:-1]) if m else None


def _not_a_model(filename: str, kind: str) -> str:
    return (
        f"{filename!r} is {kind}, not a model on its own: it is loaded beside the model it "
        "belongs to; check that model's file"
    )


def _unplaced(filename: str, base: str | None, active: int | None, effective: float | None) -> str:
    what = (
        f"it names {active / 1e9:g} B active parameters but not the total"
        if active
        else f"E{effective:g}B is an effective size (as Gemma 3n and 4 name them), not the total,"
        if effective
        else "it has no size such as 8B or 135M"
    )
    family = (
        f" and {base!r} is not a family Hearth knows the shape of"
        if base and not family_rows(base)
        else f" and {base!r} comes in several sizes"
        if base
        else ""
    )
    return (
        f"{filename!r} does not say how many parameters the model has: {what}{family}; give the "
        "count with --params (for example --params 8B)"
    )


def _attending(shape: ModelShape) -> str:
    """How many layers hold a KV cache ("(16 with a KV cache)"), when some hold none (linear
    attention, Mamba mixers, convolutions, layers that read an earlier layer's cache)."""
    cached = sum(1 for h in shape.n_head_kv if h)
    return f" ({cached} with a KV cache)" if cached < len(shape.n_head_kv) else ""


def _kv_heads(fam: Family, il: int, kv: int) -> int:
    """Layer ``il``'s KV heads in units of the family's head size (Gemma 4's full-attention
    layers have fewer heads of twice the size)."""
    if fam.global_head_dim and is_global(fam, il):
        return (fam.global_kv_heads or kv) * fam.global_head_dim // fam.head_dim
    return kv


def _fill_from_family(shape: ModelShape, fam: Family) -> None:
    shape.n_layer = fam.n_layer
    shape.n_embd = fam.n_embd
    shape.n_vocab = fam.n_vocab
    shape.n_head = fam.n_head
    kv = 1 if fam.kv_lora else fam.n_head_kv
    # Layers without attention (LFM2's convolutions, Mamba mixers, Nemotron-H's FFN blocks) and
    # Gemma 3n's last layers (which reuse earlier layers' KV) hold no KV cache of their own.
    shape.n_head_kv = [
        _kv_heads(fam, il, kv)
        if has_attention(fam, il) and il < fam.n_layer - fam.kv_shared_layers
        else 0
        for il in range(fam.n_layer)
    ]
    shape.key_length = shape.value_length = fam.head_dim
    if fam.kv_lora:  # MLA caches one compressed key per token
        shape.is_mla = True
        shape.key_length, shape.value_length = fam.kv_lora + fam.rope_dim, fam.kv_lora
    shape.n_ff = fam.n_ff
    shape.expert_count, shape.expert_used = fam.expert_count, fam.expert_used
    shape.n_ff_exp = fam.n_ff if fam.expert_count else None
    shape.n_ctx_train = fam.n_ctx_train
    shape.sliding_window = fam.sliding_window
    shape.swa_layers = [
        bool(fam.swa_pattern) and not is_global(fam, il) for il in range(fam.n_layer)
    ]
