"""Will a model fit here, and how should it be loaded? An estimate of what llama.cpp allocates.

Three grades of input, each saying what it used and assumed:

* ``name``: a file name (or name and quant) and a parameter count, before any download. Weights
  come from the quant preset's typical bits per weight; the shape (layers, heads, vocabulary) from
  the table of common families, else the KV cache and compute buffers are stated as unknown.
* ``header``: the header of a remote file (exact tensor sizes, the file size from the Hub).
* ``file``: a local file.

What is modelled, as llama.cpp 0.3.36 (llama-cpp-python) does it:

* weights: each tensor where llama.cpp puts it. ``n_gpu_layers = k`` offloads the output layer
  first, then the last ``k - 1`` repeating layers; token embeddings always stay on the CPU; tied
  embeddings are copied to the GPU with the output layer. On the CPU the file is memory-mapped,
  and quantized matrices of the types this CPU has faster kernels for are repacked into an extra
  buffer (``CPU_REPACK``).
* KV cache: per layer ``cells x (key + value width) x bytes of the cache type``, where the GPU
  that holds the layer holds its cache; the context is padded to 256; sliding-window layers keep
  ``min(context, window + ubatch)`` cells (padded); MLA models cache only the compressed K.
* compute buffers: the largest of the graph's stages for a full micro-batch: the output (logits
  for every token of the micro-batch), attention (the K·Q scores per head without flash
  attention, the mask, the head projections) and the feed-forward block (experts used per token
  for MoE).
* overhead llama.cpp does not report: the worker process and its graph metadata on the CPU, the
  driver context on a GPU.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from app.core.fit.families import Family, find_family
from app.core.gguf.info import ModelInfo, inspect_model_headers
from app.core.gguf.names import parse_name
from app.core.gguf.quants import preset_for

MiB = 1 << 20
GiB = 1 << 30
CTX_PAD = 256
KV_BYTES_PER_VALUE = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}
CPU_OVERHEAD = (
    96 * MiB
)  # the worker (Python, llama.cpp) and graph metadata, measured with bench/bench_fit.py
GPU_OVERHEAD = {"CUDA": 400 * MiB, "ROCm": 400 * MiB, "Vulkan": 128 * MiB, "Metal": 32 * MiB}
HOST_RESERVE = 2 * GiB  # RAM kept for the system when planning for another machine

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


@dataclass
class Device:
    name: str
    kind: str  # "cpu" or "gpu"
    capacity_bytes: int
    free_bytes: int
    backend: str = "CPU"  # CPU, CUDA, Metal, Vulkan, ROCm


@dataclass
class FitOptions:
    n_ctx: int = 4096
    kv_type: str = "f16"
    n_batch: int = 512
    n_ubatch: int = 512
    flash_attn: str = "auto"  # "auto", "on", "off"
    n_gpu_layers: int | str = "auto"  # a number (-1: all) or "auto": the planner decides
    swa_full: bool = False
    use_mmap: bool = True

    @classmethod
    def from_load(cls, load: Any) -> FitOptions:
        """The estimate's options from the app's ``LoadOptions`` (GPU layers None: auto)."""
        return cls(
            n_ctx=load.n_ctx,
            kv_type=load.kv_type,
            n_batch=load.n_batch,
            n_ubatch=load.n_ubatch,
            flash_attn=load.flash_attn,
            n_gpu_layers="auto" if load.n_gpu_layers is None else load.n_gpu_layers,
        )


@dataclass
class DeviceUse:
    name: str
    kind: str
    weights_bytes: int
    kv_cache_bytes: int
    compute_bytes: int
    overhead_bytes: int
    total_bytes: int
    capacity_bytes: int
    free_bytes: int
    repack_bytes: int = 0  # part of weights: CPU copies of repacked matrices
    # Memory-mapped file pages of the repacked matrices: read once while loading, then the OS may
    # drop them, so they count in what llama.cpp maps but not in what must stay in RAM.
    evictable_bytes: int = 0

    @property
    def resident_bytes(self) -> int:
        return self.total_bytes - self.evictable_bytes


@dataclass
class FitResult:
    grade: str
    assumptions: list[str]
    n_ctx: int
    kv_type: str
    gpu_layers: int
    n_layers: int | None
    verdict: str  # "gpu_full", "gpu_partial", "cpu_only", "no_fit"
    total_bytes: int
    devices: list[DeviceUse]
    load_options: dict[str, Any]
    margin_bytes: int  # memory left on the tightest device after this plan (negative: short)
    summary: str
    max_ctx: int | None = None  # with every layer on the GPU: the largest context that still fits
    kv_known: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- building the shape -------------------------------------------------------------------------


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


def shape_from_name(
    filename: str,
    parameters: int | None = None,
    quant: str | None = None,
    file_size: int | None = None,
) -> ModelShape:
    """A rough shape from a file name, a parameter count and a quant, before anything is read."""
    parsed = parse_name(filename)
    params = parameters or parsed.parameters
    quant_name = quant or parsed.quant
    assumptions: list[str] = []
    if params is None:
        raise FitError(
            f"{filename!r} does not say how many parameters the model has; give the count "
            "(for example --params 8B)"
        )
    shape = ModelShape(grade="name", name=parsed.base_name or filename, parameters=params)
    preset_of_quant = preset_for(quant_name)
    shape.quant = preset_of_quant.name if preset_of_quant else quant_name
    if file_size:
        shape.weights_bytes = file_size
        assumptions.append(f"weights: the file's size, {file_size / 1e9:.2f} GB")
    else:
        preset = preset_for(quant_name)
        if preset is None:
            raise FitError(
                f"unknown quant {quant_name!r}"
                if quant_name
                else f"{filename!r} does not say which quant it is; give one (for example Q4_K_M)"
            )
        shape.weights_bytes = int(params * preset.bits_per_weight / 8)
        assumptions.append(
            f"weights: {params / 1e9:.2f} B parameters at {preset.bits_per_weight} bits per weight "
            f"(typical of {preset.name})"
        )
    if parsed.experts and not parsed.active_parameters and parameters is None:
        assumptions.append(
            f"{parsed.size_label} read as {params / 1e9:.0f} B parameters; shared layers make the real count lower"
        )
    fam = find_family(parsed.base_name, params)
    if fam is None:
        shape.assumptions = [
            *assumptions,
            "KV cache and compute buffers: unknown (not a family Hearth knows the shape of)",
        ]
        return shape
    _fill_from_family(shape, fam)
    shape.assumptions = [
        *assumptions,
        f"shape of {fam.label}: {fam.n_layer} layers, {fam.n_head_kv} KV heads of {fam.head_dim}, {fam.n_vocab:,}-token vocabulary",
    ]
    return shape


def _fill_from_family(shape: ModelShape, fam: Family) -> None:
    shape.n_layer = fam.n_layer
    shape.n_embd = fam.n_embd
    shape.n_vocab = fam.n_vocab
    shape.n_head = fam.n_head
    shape.n_head_kv = [fam.n_head_kv] * fam.n_layer
    shape.key_length = shape.value_length = fam.head_dim
    shape.n_ff = fam.n_ff
    shape.expert_count, shape.expert_used = fam.expert_count, fam.expert_used
    shape.n_ff_exp = fam.n_ff if fam.expert_count else None
    shape.n_ctx_train = fam.n_ctx_train
    shape.sliding_window = fam.sliding_window
    shape.swa_layers = [
        bool(fam.swa_pattern) and (il % fam.swa_pattern < fam.swa_pattern - 1)
        for il in range(fam.n_layer)
    ]


# -- where tensors go ----------------------------------------------------------------------------

_LAYER = re.compile(r"^blk\.(\d+)\.")
_INPUT = ("token_embd.", "token_embd_norm.", "position_embd.", "token_types.")

# Tensor types the CPU backend repacks, by the instructions it needs (ggml-cpu/repack.cpp).
REPACK_X86_AVX2 = {"Q4_0", "Q4_K", "IQ4_NL", "MXFP4"}
REPACK_X86_AVX512 = {"Q2_K"}
REPACK_ARM_DOTPROD = {"Q4_0", "Q4_K", "Q5_K", "Q6_K", "IQ4_NL", "MXFP4", "Q8_0"}


# For name-grade estimates: the tensor type a preset is mostly made of, and the share of the
# layer weights in it (Q4_K_M keeps some attn_v and ffn_down matrices at Q6_K).
NAME_REPACK = {
    "Q4_K_M": ("Q4_K", 0.8),
    "Q4_K_S": ("Q4_K", 0.95),
    "Q4_K_L": ("Q4_K", 0.8),
    "Q4_K_XL": ("Q4_K", 0.75),
    "Q4_0": ("Q4_0", 1.0),
    "IQ4_NL": ("IQ4_NL", 1.0),
    "MXFP4": ("MXFP4", 0.9),
}


def repack_types(cpu_flags: set[str]) -> set[str]:
    types: set[str] = set()
    if "avx2" in cpu_flags:
        types |= REPACK_X86_AVX2
    if "avx512f" in cpu_flags or "avx512" in cpu_flags:
        types |= REPACK_X86_AVX512
    if "asimddp" in cpu_flags or "dotprod" in cpu_flags:
        types |= REPACK_ARM_DOTPROD
    return types


def _layer_of(name: str, n_layer: int) -> int:
    """The layer index a tensor belongs to: 0..n_layer-1, n_layer for the output, -1 for input."""
    m = _LAYER.match(name)
    if m:
        return int(m.group(1))
    if name.startswith(_INPUT):
        return -1
    return n_layer


def n_gpu_to_first_gpu_layer(n_gpu: int, n_layer: int) -> int:
    """llama.cpp offloads the output layer first, then repeating layers from the last."""
    return max(n_layer + 1 - n_gpu, 0)


# -- the estimate --------------------------------------------------------------------------------


def _ctx_cells(n_ctx: int) -> int:
    return math.ceil(n_ctx / CTX_PAD) * CTX_PAD


def kv_bytes_per_layer(
    shape: ModelShape, n_ctx: int, kv_type: str, n_ubatch: int, swa_full: bool
) -> list[int]:
    """Bytes of KV cache for each layer, as llama.cpp sizes its cache(s)."""
    if not shape.shape_known or shape.n_layer is None:
        return []
    per_value = KV_BYTES_PER_VALUE[kv_type]
    cells_full = _ctx_cells(n_ctx)
    cells_swa = cells_full
    if shape.sliding_window and not swa_full:
        cells_swa = math.ceil(min(cells_full, shape.sliding_window + n_ubatch) / CTX_PAD) * CTX_PAD
    out = []
    kl = shape.key_length or (shape.n_embd // shape.n_head if shape.n_embd and shape.n_head else 0)
    vl = 0 if shape.is_mla else (shape.value_length or kl)
    for il in range(shape.n_layer):
        heads = shape.n_head_kv[il] if il < len(shape.n_head_kv) else shape.n_head_kv[-1]
        if heads == 0:
            out.append(0)  # recurrent or attention-free layer
            continue
        cells = cells_swa if (shape.swa_layers and shape.swa_layers[il]) else cells_full
        out.append(int(cells * heads * (kl + vl) * per_value))
    return out


def _attention_cells_and_masks(
    shape: ModelShape, n_ctx: int, n_ubatch: int, flash_attn: bool, swa_full: bool
) -> tuple[int, int]:
    """The KV cells one attention reads, and the bytes of the attention mask(s) of a micro-batch
    (one per cache: a model mixing sliding-window and full layers has two)."""
    ub = min(_ctx_cells(n_ctx), n_ubatch)
    cells = _ctx_cells(n_ctx)
    swa_cells = cells
    if shape.sliding_window and not swa_full:
        swa_cells = math.ceil(min(cells, shape.sliding_window + n_ubatch) / CTX_PAD) * CTX_PAD
    all_swa = bool(shape.swa_layers) and all(shape.swa_layers)
    any_swa = bool(shape.swa_layers) and any(shape.swa_layers) and not all_swa
    n_kv = swa_cells if all_swa else cells
    mask_elem = 2 if flash_attn else 4
    return n_kv, (n_kv + (swa_cells if any_swa else 0)) * ub * mask_elem


def compute_bytes(
    shape: ModelShape,
    n_ctx: int,
    n_ubatch: int,
    flash_attn: bool,
    with_output: bool,
    with_layers: bool,
    swa_full: bool = False,
) -> int:
    """The largest stage of the worst-case graph on one device, in bytes.

    Fitted to the compute buffers llama.cpp reserves (its graph allocator reuses memory, so the
    buffer is the peak of one stage plus what stays alive through it): the output stage holds the
    logits of a whole micro-batch; a layer holds the attention mask(s) all along, plus the K·Q
    scores of every head (without flash attention) or the feed-forward activations.
    """
    if not shape.shape_known:
        return 0
    assert shape.n_embd and shape.n_vocab and shape.n_head
    ub = min(_ctx_cells(n_ctx), n_ubatch)
    f32 = 4
    embd = shape.n_embd * ub * f32
    stages: list[float] = [2 * embd]  # the input embeddings and the residual stream
    if with_output:
        stages.append(shape.n_vocab * ub * f32 + 3 * embd)
    if with_layers:
        n_kv, masks = _attention_cells_and_masks(shape, n_ctx, n_ubatch, flash_attn, swa_full)
        q_dim = shape.n_head * (shape.key_length or shape.n_embd // shape.n_head)
        if shape.expert_count and shape.n_ff_exp:
            ffn = 3 * shape.n_ff_exp * shape.expert_used + 2 * shape.expert_count + 4 * shape.n_embd
        else:
            ffn = 3 * (shape.n_ff or 4 * shape.n_embd) + 4 * shape.n_embd
        stages.append(masks + ffn * ub * f32)
        if not flash_attn:
            scores = shape.n_head * n_kv * ub * f32
            stages.append(masks + scores + (2 * q_dim + 4.5 * shape.n_embd) * ub * f32)
    return int(max(stages))


def estimate(
    shape: ModelShape,
    opts: FitOptions,
    devices: list[Device],
    cpu_flags: set[str] | None = None,
) -> FitResult:
    """How ``shape`` loads with ``opts`` on ``devices`` (the first is the CPU), and the verdict."""
    _check_options(shape, opts)
    gpus = [d for d in devices[1:] if d.kind == "gpu"]
    n_layer = shape.n_layer or 0
    assumptions = list(shape.assumptions)
    if opts.n_gpu_layers == "auto":
        n_gpu, max_ctx = plan_offload(shape, opts, devices, cpu_flags)
        if gpus:
            assumptions.append(
                f"GPU layers chosen to fit: {n_gpu} of {n_layer + 1} (including the output layer)"
            )
    else:
        n_gpu = int(opts.n_gpu_layers)
        n_gpu = n_layer + 1 if n_gpu < 0 else min(n_gpu, n_layer + 1)
        if not gpus:
            n_gpu = 0
        max_ctx = None
    result = _place(shape, opts, devices, n_gpu, cpu_flags, assumptions)
    result.max_ctx = max_ctx if n_gpu >= n_layer + 1 and gpus else None
    return result


def _check_options(shape: ModelShape, opts: FitOptions) -> None:
    if not isinstance(opts.n_ctx, int) or opts.n_ctx <= 0:
        raise FitError(f"the context length must be a positive number of tokens, not {opts.n_ctx}")
    if shape.n_ctx_train and opts.n_ctx > shape.n_ctx_train:
        raise FitError(
            f"the context length {opts.n_ctx:,} is beyond what this model was trained for "
            f"({shape.n_ctx_train:,} tokens)"
        )
    if opts.kv_type not in KV_BYTES_PER_VALUE:
        raise FitError(f"unknown KV cache type {opts.kv_type!r}; use f16, q8_0 or q4_0")
    if opts.kv_type != "f16" and opts.flash_attn == "off":
        raise FitError(
            f"a {opts.kv_type} KV cache needs flash attention (llama.cpp quantizes V only with it)"
        )
    if opts.n_ubatch <= 0 or opts.n_batch <= 0:
        raise FitError("batch sizes must be positive")


def _flash(opts: FitOptions) -> bool:
    return (
        opts.flash_attn != "off"
    )  # "auto" turns it on where the backend has it (CPU, CUDA, Metal)


def _place(
    shape: ModelShape,
    opts: FitOptions,
    devices: list[Device],
    n_gpu: int,
    cpu_flags: set[str] | None,
    assumptions: list[str],
) -> FitResult:
    cpu = devices[0]
    gpus = [d for d in devices[1:] if d.kind == "gpu"]
    gpu = gpus[0] if gpus else None
    n_layer = shape.n_layer or 0
    first_gpu = n_gpu_to_first_gpu_layer(n_gpu, n_layer) if gpu else n_layer + 1
    output_on_gpu = gpu is not None and n_gpu >= 1
    flash = _flash(opts)
    repackable = repack_types(cpu_flags or set())

    w_cpu = w_gpu = repack = 0
    largest_cpu_matrix = 0
    if shape.tensors is not None:
        tied = not any(t.name == "output.weight" for t in shape.tensors)
        for t in shape.tensors:
            layer = _layer_of(t.name, n_layer)
            on_gpu = gpu is not None and layer >= first_gpu
            if on_gpu:
                w_gpu += t.n_bytes
            else:
                w_cpu += t.n_bytes
                matrix = len(t.shape) >= 2 and t.name.endswith(".weight") and layer >= 0
                if matrix:
                    largest_cpu_matrix = max(largest_cpu_matrix, t.n_bytes)
                if matrix and t.type_name in repackable and t.shape[1] % 8 == 0:
                    repack += t.n_bytes
            if tied and output_on_gpu and t.name == "token_embd.weight":
                w_gpu += t.n_bytes  # the output layer gets its own copy of the tied embeddings
        if repack:
            assumptions.append(
                f"{repack / MiB:,.0f} MiB of quantized matrices repacked for this CPU (CPU_REPACK)"
            )
    else:
        # Name grade: spread the weights evenly over the layers, plus an output share.
        per_layer = shape.weights_bytes / (n_layer + 2) if n_layer else shape.weights_bytes
        gpu_layers = max(0, min(n_gpu, n_layer + 1)) if gpu else 0
        w_gpu = int(per_layer * gpu_layers)
        w_cpu = shape.weights_bytes - w_gpu
        largest_cpu_matrix = int(per_layer / 3) if n_layer else 0
        base, share = NAME_REPACK.get(shape.quant or "", ("", 0.0))
        if base in repackable and n_layer:
            cpu_layers = n_layer - max(0, gpu_layers - 1)
            repack = int(per_layer * cpu_layers * share)
            assumptions.append(
                f"about {share:.0%} of the CPU layers' weights ({base}) repacked for this CPU (CPU_REPACK)"
            )

    kv = kv_bytes_per_layer(shape, opts.n_ctx, opts.kv_type, opts.n_ubatch, opts.swa_full)
    kv_gpu = sum(b for il, b in enumerate(kv) if gpu is not None and il >= first_gpu)
    kv_cpu = sum(kv) - kv_gpu
    kv_known = shape.shape_known

    layers_on_cpu = first_gpu > 0 or gpu is None
    layers_on_gpu = gpu is not None and first_gpu < n_layer
    # A micro-batch of 32 tokens or more that meets CPU-held weights is multiplied on the GPU
    # (llama.cpp's op offload; Metal shares the memory and does not), so the CPU then runs no
    # layer of it.
    op_offload = gpu is not None and n_gpu >= 1 and opts.n_ubatch >= 32 and gpu.backend != "Metal"
    host_inputs_only = op_offload or (gpu is not None and n_gpu >= 1 and not layers_on_cpu)
    c_cpu = compute_bytes(
        shape,
        opts.n_ctx,
        opts.n_ubatch,
        flash,
        not output_on_gpu,
        layers_on_cpu and not host_inputs_only,
        opts.swa_full,
    )
    if host_inputs_only:
        # Graph inputs stay in host memory and are copied to the GPU: the attention masks too.
        _cells, masks = _attention_cells_and_masks(
            shape, opts.n_ctx, opts.n_ubatch, flash, opts.swa_full
        )
        c_cpu += masks
    c_gpu = 0
    if gpu is not None and n_gpu >= 1:
        c_gpu = compute_bytes(
            shape, opts.n_ctx, opts.n_ubatch, flash, True, layers_on_gpu, opts.swa_full
        )
        if layers_on_cpu and op_offload:
            # The CPU-held layers' weights are copied over one matrix at a time: room for one.
            c_gpu += largest_cpu_matrix
    output_buffer = (shape.n_vocab or 0) * 4
    c_cpu += output_buffer

    uses = [
        DeviceUse(
            cpu.name,
            "cpu",
            w_cpu + repack,
            kv_cpu,
            c_cpu,
            CPU_OVERHEAD,
            0,
            cpu.capacity_bytes,
            cpu.free_bytes,
            repack,
            repack if opts.use_mmap else 0,
        )
    ]
    if gpu is not None:
        over = GPU_OVERHEAD.get(gpu.backend, 256 * MiB) if n_gpu >= 1 else 0
        uses.append(
            DeviceUse(
                gpu.name, "gpu", w_gpu, kv_gpu, c_gpu, over, 0, gpu.capacity_bytes, gpu.free_bytes
            )
        )
        if gpu.backend in GPU_OVERHEAD and n_gpu >= 1:
            assumptions.append(f"{gpu.backend} runtime on the GPU: {over / MiB:.0f} MiB")
    for u in uses:
        u.total_bytes = u.weights_bytes + u.kv_cache_bytes + u.compute_bytes + u.overhead_bytes

    margins = [u.free_bytes - _margin(u) - u.resident_bytes for u in uses]
    fits = all(m >= 0 for m in margins)
    if not fits:
        verdict = "no_fit"
    elif gpu is None or n_gpu == 0:
        verdict = "cpu_only"
    elif n_gpu >= n_layer + 1:
        verdict = "gpu_full"
    else:
        verdict = "gpu_partial"
    if not shape.shape_known:
        assumptions.append(
            "the KV cache and compute buffers are not counted: the total is a lower bound"
        )
    total = sum(u.total_bytes for u in uses)
    result = FitResult(
        grade=shape.grade,
        assumptions=assumptions,
        n_ctx=opts.n_ctx,
        kv_type=opts.kv_type,
        gpu_layers=n_gpu,
        n_layers=shape.n_layer,
        verdict=verdict,
        total_bytes=total,
        devices=uses,
        load_options={
            "n_ctx": opts.n_ctx,
            "n_batch": opts.n_batch,
            "n_ubatch": opts.n_ubatch,
            "flash_attn": flash,
            "type_k": opts.kv_type,
            "type_v": opts.kv_type,
            "swa_full": opts.swa_full,
            "n_gpu_layers": n_gpu,
        },
        margin_bytes=min(margins),
        summary="",
        kv_known=kv_known,
    )
    result.summary = summarize(result, shape)
    return result


def _margin(u: DeviceUse) -> int:
    """Memory kept free: 5% of what is free (at least 512 MiB) for RAM, 3% (at least 256 MiB) on a GPU."""
    if u.kind == "cpu":
        return max(512 * MiB, int(u.free_bytes * 0.05))
    return max(256 * MiB, int(u.free_bytes * 0.03))


def plan_offload(
    shape: ModelShape, opts: FitOptions, devices: list[Device], cpu_flags: set[str] | None = None
) -> tuple[int, int | None]:
    """The most GPU layers that fit the GPU's free memory with a margin, and (when every layer
    fits) the largest context that still fits. Without a GPU: (0, None)."""
    gpus = [d for d in devices[1:] if d.kind == "gpu"]
    n_layer = shape.n_layer or 0
    if not gpus:
        return 0, None

    def gpu_fits(n_gpu: int, n_ctx: int) -> bool:
        o = FitOptions(**{**asdict(opts), "n_gpu_layers": n_gpu, "n_ctx": n_ctx})
        r = _place(shape, o, devices, n_gpu, cpu_flags, [])
        g = r.devices[1]
        return g.total_bytes <= g.free_bytes - _margin(g)

    best = 0
    lo, hi = 1, n_layer + 1
    while lo <= hi:  # GPU memory grows with the number of layers
        mid = (lo + hi) // 2
        if gpu_fits(mid, opts.n_ctx):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best < n_layer + 1:
        return best, None
    top = shape.n_ctx_train or opts.n_ctx
    lo, hi, max_ctx = opts.n_ctx, top, opts.n_ctx
    while lo <= hi:
        mid = (lo + hi) // 2 // CTX_PAD * CTX_PAD or CTX_PAD
        if gpu_fits(best, mid):
            max_ctx, lo = mid, mid + CTX_PAD
        else:
            hi = mid - CTX_PAD
    return best, max(max_ctx, opts.n_ctx)


def summarize(r: FitResult, shape: ModelShape) -> str:
    def gib(n: int) -> str:
        return f"{n / GiB:.1f} GiB"

    cpu = r.devices[0]
    if r.verdict == "no_fit":
        short = -r.margin_bytes
        return f"Does not fit: {gib(r.total_bytes)} needed, {gib(short)} more than is free (keeping a safety margin)."
    if r.verdict == "cpu_only":
        return f"Runs on the CPU: {gib(cpu.resident_bytes)} of RAM, {gib(cpu.free_bytes - cpu.resident_bytes)} left."
    gpu = r.devices[1]
    if r.verdict == "gpu_full":
        return f"Fits on the GPU: {gib(gpu.total_bytes)} of {gib(gpu.free_bytes)} free VRAM."
    return (
        f"Partly on the GPU: {r.gpu_layers} of {(r.n_layers or 0) + 1} layers ({gib(gpu.total_bytes)} of VRAM), "
        f"the rest in RAM ({gib(cpu.resident_bytes)})."
    )
