"""The buffers llama.cpp allocates besides the weights, as llama.cpp 0.3.36 sizes them.

* repacking: quantized matrices of the types this CPU has faster kernels for are repacked into
  an extra buffer (``CPU_REPACK``).
* KV cache: per layer ``cells x (key + value width) x bytes of the cache type``; the context is
  padded to 256; sliding-window layers keep ``min(context, window + ubatch)`` cells (padded); MLA
  models cache only the compressed K.
* compute buffers: the largest of the graph's stages for a full micro-batch: the output (logits
  for every token of the micro-batch), attention (the K·Q scores per head without flash
  attention, the mask, the head projections) and the feed-forward block (experts used per token
  for MoE).
"""

from __future__ import annotations

import math

from app.core.fit.shape import ModelShape

MiB = 1 << 20
GiB = 1 << 30
CTX_PAD = 256
KV_BYTES_PER_VALUE = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}

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


def output_bytes(shape: ModelShape, n_seq: int = 1) -> int:
    """llama.cpp's output buffer: room for one row of logits (f32) per sequence."""
    return (shape.n_vocab or 0) * 4 * max(1, n_seq)


def attention_cells_and_masks(
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
    kv_quantized: bool = False,
) -> int:
    """The largest stage of the worst-case graph on one device, in bytes.

    Fitted to the compute buffers llama.cpp reserves (its graph allocator reuses memory, so the
    buffer is the peak of one stage plus what stays alive through it): the output stage holds the
    logits of a whole micro-batch; a layer holds the attention mask(s) all along, plus the K·Q
    scores of every head (without flash attention) or the feed-forward activations.

    With a quantized KV cache (``kv_quantized``) llama.cpp rotates Q, K and V by Hadamard
    matrices before caching them; the extra temporaries change how its allocator packs the
    stages, so the peak lands one row of embeddings (``n_embd x ubatch`` floats) above or below
    the f16 cache's, depending on the context length (Llama-3-8B with flash attention: +1 row
    at 8k and 32k, none at 4k; Mistral-7B: none at 4k, -1 at 32k). The estimate takes the
    middle: half a row less in a layer, half a row more at the output.
    """
    if not shape.shape_known:
        return 0
    assert shape.n_embd and shape.n_vocab and shape.n_head
    ub = min(_ctx_cells(n_ctx), n_ubatch)
    f32 = 4
    embd = shape.n_embd * ub * f32
    stages: list[float] = [2 * embd]  # the input embeddings and the residual stream
    if with_output:
        # The logits of the micro-batch, the final norm's input and its output: with an f16
        # cache llama.cpp reserves exactly this for SmolLM2, Gemma 3 270M, Llama-3-8B,
        # Gemma-3-27B and Qwen3 (a third row overestimated a 4k Llama-3-8B's buffer by 3%).
        stages.append(shape.n_vocab * ub * f32 + (2.5 if kv_quantized else 2) * embd)
    if with_layers:
        n_kv, masks = attention_cells_and_masks(shape, n_ctx, n_ubatch, flash_attn, swa_full)
        q_dim = shape.n_head * (shape.key_length or shape.n_embd // shape.n_head)
        if shape.expert_count and shape.n_ff_exp:
            ffn: float = 3 * shape.n_ff_exp * shape.expert_used + 2 * shape.expert_count
        else:
            ffn = 3 * (shape.n_ff or 4 * shape.n_embd)
        ffn += (3.5 if kv_quantized else 4) * shape.n_embd
        stages.append(masks + ffn * ub * f32)
        if not flash_attn:
            scores = shape.n_head * n_kv * ub * f32
            stages.append(masks + scores + (2 * q_dim + 4.5 * shape.n_embd) * ub * f32)
    return int(max(stages))
