"""Shapes of common model families, for estimates made from a file name alone.

Before anything is downloaded Hearth knows only a name ("Meta-Llama-3.1-8B-Instruct-Q4_K_M"). The
weights, KV cache and compute buffers depend on the layer count, widths, heads, experts and
vocabulary, which the name does not carry; these are the published configurations (each row cites
the ``config.json`` its numbers come from) of the families people download most from the Hub.
Matching is by family and stated size ("7B" is Qwen2.5's 7.62 B and Gemma's 8.54 B); from a shape
the parameters are counted tensor by tensor and each tensor priced at the type a quant preset gives
it (``gguf.quants.tensor_type_for``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from app.core.gguf.quants import MixContext, tensor_bytes, tensor_type_for

HF = "https://huggingface.co/"


@dataclass(frozen=True)
class Family:
    label: str
    pattern: str  # regex on the lower-case base name
    params_b: float  # billions, the total the model's card states (checked against the shape)
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_vocab: int
    n_ff: int  # the dense FFN's width; for a mixture of experts, one expert's
    n_ctx_train: int
    sliding_window: int = 0
    swa_pattern: int = 0  # every n-th layer is global; the others slide
    expert_count: int = 0
    expert_used: int = 0
    stated_b: float = 0.0  # the size names give it ("7B"); params_b when 0
    size_word: str = ""  # the word names give the size in ("granite-4.0-h-small")
    tied: bool = False  # token embeddings double as the output layer
    gguf_output: bool = False  # tied, yet llama.cpp's conversion carries an output tensor
    # (the checkpoint stores one); publishers.py names the files made otherwise
    gated: bool = True  # gate, up and down FFN matrices (False: up and down only)
    fused_qkv: bool = False  # one attn_qkv tensor in the GGUF (Phi)
    n_ff_shared: int = 0  # shared experts' total width
    dense_layers: int = 0  # leading layers with a dense FFN of n_ff_dense (DeepSeek)
    n_ff_dense: int = 0
    kv_lora: int = 0  # multi-head latent attention (DeepSeek): compressed KV width
    q_lora: int = 0  # MLA: compressed query width (0: one attn_q matrix)
    rope_dim: int = 0  # MLA: rotary part of each key head
    v_head_dim: int = 0  # MLA: value head size when it is not head_dim
    expert_type: str = ""  # experts stored at this type whatever the preset (gpt-oss: MXFP4)
    fused_up: bool = False  # gate and up in one ffn_up tensor of twice the width (GLM)
    nextn: int = 0  # multi-token-prediction layers the GGUF keeps after the others (GLM-4.5)
    nextn_vocab: bool = False  # each with its own embedding and output head
    # Gemma 3n: per-layer embeddings (a table of n_vocab_per_layer x n_layer * per_layer_dim and
    # its projections), AltUp's extra streams and LAuReL's low-rank blocks; the last
    # kv_shared_layers reuse earlier layers' KV cache. effective_b: its name's size ("E4B").
    per_layer_dim: int = 0
    n_vocab_per_layer: int = 0
    altup: int = 0
    laurel_rank: int = 0
    kv_shared_layers: int = 0
    effective_b: float = 0.0
    conv_layers: int = 0  # LFM2: short-convolution layers in place of attention (no KV cache)
    # Mamba-2 mixers in place of attention in the first ssm_layers layers (Granite 4.0 H): inner
    # width, heads, state size and groups as llama.cpp's ssm_in / ssm_out tensors take them.
    ssm_layers: int = 0
    ssm_inner: int = 0
    ssm_heads: int = 0
    ssm_state: int = 0
    ssm_groups: int = 1
    ssm_parallel: bool = False  # a Mamba-2 mixer beside attention in every layer (Falcon-H1)
    ssm_dt_rank: int = 0  # Mamba-1 mixers (Jamba) instead of Mamba-2
    # Jamba: attention in layers offset, offset + period…, Mamba elsewhere; experts likewise
    attn_period: int = 0
    attn_offset: int = 0
    moe_period: int = 0
    moe_offset: int = 0
    # Nemotron-H: one block per layer, "M" a Mamba-2 mixer, "*" attention, "-" an FFN, "E" a
    # mixture of experts (working in a moe_latent-wide space when set)
    layout: str = ""
    moe_latent: int = 0
    # Gated DeltaNet linear attention (Qwen3-Next, Qwen3.5) in every layer but each
    # linear_interval-th: key and value heads of lin_head_dim, a short convolution over q, k and
    # v; the full-attention layers' query projection carries an output gate (twice the width).
    linear_interval: int = 0
    lin_k_heads: int = 0
    lin_v_heads: int = 0
    lin_head_dim: int = 0
    # Gemma 4: the full-attention layers (every swa_pattern-th) have heads of global_head_dim and
    # global_kv_heads KV heads, their keys doubling as values (no attn_v) when k_eq_v; the
    # KV-shared layers have no k and v weights (kv_shared_bare) and, with double_wide, FFNs
    # twice as wide.
    global_head_dim: int = 0
    global_kv_heads: int = 0
    global_heads: int = 0  # query heads of the full-attention layers, when not n_head (Laguna)
    global_first: bool = False  # the full-attention layer leads each group of swa_pattern
    attn_gate: bool = False  # a gate as wide as the queries on the attention output (Trinity)
    k_eq_v: bool = False
    kv_shared_bare: bool = False
    double_wide: bool = False
    source: str = ""  # where the numbers come from

    @property
    def size_b(self) -> float:
        return self.stated_b or self.params_b

    @property
    def is_moe(self) -> bool:
        return self.expert_count > 0


def F(label: str, pattern: str, params_b: float, *shape: int, **kw: object) -> Family:
    """A row: label, name pattern, total parameters (billions), then layers, width, heads,
    KV heads, head size, vocabulary, FFN width and trained context."""
    return Family(label, pattern, params_b, *shape, **kw)  # type: ignore[arg-type]


Q15 = r"qwen-?1[.-]5(?!-?moe)"
L3, Q2, Q25, Q3 = (
    r"llama-?3(\.[01])?(?!\.[23])",
    r"qwen-?2(?![.-]?5|-?vl|-?audio)",
    r"qwen-?2\.5",  # Qwen2.5-VL's and Qwen2.5-Math's language models are Qwen2.5's
    r"qwen-?3(?![.-]?[56](?![\d.]*b)|-?vl|-?next|-?coder-?next|-?embedding)",
)
Q35 = r"qwen-?3[.-]?[56](?![\d.]*b)"  # Qwen3.5 and Qwen3.6 ("Qwen35-9B" too, not "Qwen3-53B")
Q3NEXT = r"qwen-?3-?(?:coder-?)?next"

# Settings rows of one family share (the rows below spell out what differs).
_LAGUNA = {
    "sliding_window": 512,
    "swa_pattern": 4,
    "global_first": True,
    "global_heads": 48,
    "expert_count": 256,
    "dense_layers": 1,
}
_TRINITY = {"swa_pattern": 4, "attn_gate": True}
_NEMOTRON_H_MAMBA = {"gated": False, "ssm_state": 128, "ssm_groups": 8}
_GEMMA4 = {"tied": True, "global_head_dim": 512}
_GEMMA4_E = {
    "sliding_window": 512,
    "per_layer_dim": 256,
    "n_vocab_per_layer": 262144,
    "kv_shared_bare": True,
}
_GEMMA4_WIDE = {"sliding_window": 1024, "swa_pattern": 6, "k_eq_v": True}
_GDN = {"linear_interval": 4, "lin_k_heads": 16, "lin_head_dim": 128}

# Each row: the model's config.json on the Hub (num_hidden_layers, hidden_size,
# num_attention_heads, num_key_value_heads, head_dim or hidden_size / heads, vocab_size,
# intermediate_size, max_position_embeddings; experts, tie_word_embeddings where they apply).
FAMILIES: list[Family] = [
    # Llama 2 and Code Llama
    F(
        "Llama 2 7B",
        r"llama-?2",
        6.74,
        32,
        4096,
        32,
        32,
        128,
        32000,
        11008,
        4096,
        stated_b=7,
        source=HF + "meta-llama/Llama-2-7b-hf/blob/main/config.json",
    ),
    F(
        "Llama 2 13B",
        r"llama-?2",
        13.0,
        40,
        5120,
        40,
        40,
        128,
        32000,
        13824,
        4096,
        source=HF + "meta-llama/Llama-2-13b-hf/blob/main/config.json",
    ),
    F(
        "Llama 2 70B",
        r"llama-?2",
        69.0,
        80,
        8192,
        64,
        8,
        128,
        32000,
        28672,
        4096,
        stated_b=70,
        source=HF + "meta-llama/Llama-2-70b-hf/blob/main/config.json",
    ),
    F(
        "Code Llama 7B",
        r"code-?llama",
        6.74,
        32,
        4096,
        32,
        32,
        128,
        32016,
        11008,
        16384,
        stated_b=7,
        source=HF + "codellama/CodeLlama-7b-hf/blob/main/config.json",
    ),
    F(
        "Code Llama 13B",
        r"code-?llama",
        13.0,
        40,
        5120,
        40,
        40,
        128,
        32016,
        13824,
        16384,
        source=HF + "codellama/CodeLlama-13b-hf/blob/main/config.json",
    ),
    F(
        "Code Llama 34B",
        r"code-?llama",
        33.7,
        48,
        8192,
        64,
        8,
        128,
        32000,
        22016,
        16384,
        stated_b=34,
        source=HF + "codellama/CodeLlama-34b-hf/blob/main/config.json",
    ),
    F(
        "TinyLlama 1.1B",
        r"tinyllama",
        1.1,
        22,
        2048,
        32,
        4,
        64,
        32000,
        5632,
        2048,
        source=HF + "TinyLlama/TinyLlama-1.1B-Chat-v1.0/blob/main/config.json",
    ),
    # Llama 3, 3.1, 3.2, 3.3
    F(
        "Llama 3 / 3.1 8B",
        r"llama-?3(\.\d)?",
        8.03,
        32,
        4096,
        32,
        8,
        128,
        128256,
        14336,
        131072,
        stated_b=8,
        source=HF + "meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json",
    ),
    F(
        "Llama 3 / 3.1 / 3.3 70B",
        r"llama-?3(\.\d)?",
        70.6,
        80,
        8192,
        64,
        8,
        128,
        128256,
        28672,
        131072,
        stated_b=70,
        source=HF + "meta-llama/Llama-3.3-70B-Instruct/blob/main/config.json",
    ),
    F(
        "Llama 3.1 405B",
        r"llama-?3(\.\d)?",
        405.9,
        126,
        16384,
        128,
        8,
        128,
        128256,
        53248,
        131072,
        stated_b=405,
        source=HF + "meta-llama/Llama-3.1-405B-Instruct/blob/main/config.json",
    ),
    # Llama 4: every layer's FFN is a mixture of experts with one shared expert (Scout), or every
    # second layer's (Maverick: interleave_moe_layer_step 2, the others dense at
    # intermediate_size_mlp; counted here as leading dense layers, the same tensors). Three
    # layers in four attend within chunks of 8,192 tokens, which llama.cpp caches as a window.
    # The card's totals (109B, 400B) include the vision encoder, which the text GGUF leaves out.
    F(
        "Llama 4 Scout 17B-16E",
        r"llama-?4-?scout",
        107.8,
        48,
        5120,
        40,
        8,
        128,
        202048,
        8192,
        10485760,
        sliding_window=8192,
        swa_pattern=4,
        stated_b=109,
        expert_count=16,
        expert_used=1,
        n_ff_shared=8192,
        source=HF + "meta-llama/Llama-4-Scout-17B-16E-Instruct/blob/main/config.json",
    ),
    F(
        "Llama 4 Maverick 17B-128E",
        r"llama-?4-?maverick",
        400.7,
        48,
        5120,
        40,
        8,
        128,
        202048,
        8192,
        1048576,
        sliding_window=8192,
        swa_pattern=4,
        stated_b=400,
        expert_count=128,
        expert_used=1,
        n_ff_shared=8192,
        dense_layers=24,
        n_ff_dense=16384,
        source=HF + "meta-llama/Llama-4-Maverick-17B-128E-Instruct/blob/main/config.json",
    ),
    F(
        "Llama 3.2 1B",
        r"llama-?3\.2",
        1.24,
        16,
        2048,
        32,
        8,
        64,
        128256,
        8192,
        131072,
        stated_b=1,
        tied=True,
        source=HF + "meta-llama/Llama-3.2-1B-Instruct/blob/main/config.json",
    ),
    F(
        "Llama 3.2 3B",
        r"llama-?3\.2",
        3.21,
        28,
        3072,
        24,
        8,
        128,
        128256,
        8192,
        131072,
        stated_b=3,
        tied=True,
        source=HF + "meta-llama/Llama-3.2-3B-Instruct/blob/main/config.json",
    ),
    F(
        "DeepSeek R1 distill (Llama 8B)",
        r"deepseek-r1-distill-llama",
        8.03,
        32,
        4096,
        32,
        8,
        128,
        128256,
        14336,
        131072,
        stated_b=8,
        source=HF + "deepseek-ai/DeepSeek-R1-Distill-Llama-8B/blob/main/config.json",
    ),
    F(
        "DeepSeek R1 distill (Llama 70B)",
        r"deepseek-r1-distill-llama",
        70.6,
        80,
        8192,
        64,
        8,
        128,
        128256,
        28672,
        131072,
        stated_b=70,
        source=HF + "deepseek-ai/DeepSeek-R1-Distill-Llama-70B/blob/main/config.json",
    ),
    F(
        "SmolLM2 135M",
        r"smollm-?2",
        0.135,
        30,
        576,
        9,
        3,
        64,
        49152,
        1536,
        8192,
        tied=True,
        source=HF + "HuggingFaceTB/SmolLM2-135M-Instruct/blob/main/config.json",
    ),
    F(
        "SmolLM2 360M",
        r"smollm-?2",
        0.362,
        32,
        960,
        15,
        5,
        64,
        49152,
        2560,
        8192,
        stated_b=0.36,
        tied=True,
        source=HF + "HuggingFaceTB/SmolLM2-360M-Instruct/blob/main/config.json",
    ),
    F(
        "SmolLM2 1.7B",
        r"smollm-?2",
        1.71,
        24,
        2048,
        32,
        32,
        64,
        49152,
        8192,
        8192,
        stated_b=1.7,
        tied=True,
        source=HF + "HuggingFaceTB/SmolLM2-1.7B-Instruct/blob/main/config.json",
    ),
    F(
        "SmolLM3 3B",
        r"smollm-?3",
        3.08,
        36,
        2048,
        16,
        4,
        128,
        128256,
        11008,
        65536,
        stated_b=3,
        tied=True,
        source=HF + "HuggingFaceTB/SmolLM3-3B/blob/main/config.json",
    ),
    # Mistral
    F(
        "Mistral 7B",
        r"mistral(?!-?nemo|-?small|-?large|-?medium)",
        7.25,
        32,
        4096,
        32,
        8,
        128,
        32768,
        14336,
        32768,
        stated_b=7,
        source=HF + "mistralai/Mistral-7B-Instruct-v0.3/blob/main/config.json",
    ),
    F(
        "Mistral Nemo 12B",
        r"(mistral-?)?nemo(?!tron)",
        12.2,
        40,
        5120,
        32,
        8,
        128,
        131072,
        14336,
        131072,
        stated_b=12,
        source=HF + "mistralai/Mistral-Nemo-Instruct-2407/blob/main/config.json",
    ),
    F(
        "Mistral Small 22B / Codestral 22B",
        r"mistral-?small|codestral",
        22.2,
        56,
        6144,
        48,
        8,
        128,
        32768,
        16384,
        131072,
        stated_b=22,
        size_word="2409",  # "Mistral-Small-Instruct-2409" has no size in its name
        source=HF + "mistralai/Mistral-Small-Instruct-2409/blob/main/config.json",
    ),
    F(
        "Mistral Small 3 24B / Devstral",
        r"mistral-?small|devstral|magistral-?small",
        23.6,
        40,
        5120,
        32,
        8,
        128,
        131072,
        32768,
        131072,
        stated_b=24,
        source=HF + "mistralai/Mistral-Small-24B-Instruct-2501/blob/main/config.json",
    ),
    F(
        "Mistral Large 2 123B",
        r"mistral-?large(?!-?3)",
        122.6,
        88,
        12288,
        96,
        8,
        128,
        32768,
        28672,
        131072,
        stated_b=123,
        source=HF + "mistralai/Mistral-Large-Instruct-2411/blob/main/config.json",
    ),
    F(
        "Mixtral 8x7B",
        r"mixtral",
        46.7,
        32,
        4096,
        32,
        8,
        128,
        32000,
        14336,
        32768,
        stated_b=56,
        expert_count=8,
        expert_used=2,
        source=HF + "mistralai/Mixtral-8x7B-Instruct-v0.1/blob/main/config.json",
    ),
    F(
        "Mixtral 8x22B",
        r"mixtral",
        140.6,
        56,
        6144,
        48,
        8,
        128,
        32768,
        16384,
        65536,
        stated_b=176,
        expert_count=8,
        expert_used=2,
        source=HF + "mistralai/Mixtral-8x22B-Instruct-v0.1/blob/main/config.json",
    ),
    # Qwen
    F(
        "Qwen1.5-MoE A2.7B",
        r"qwen-?1\.5-?moe",
        14.3,
        24,
        2048,
        16,
        16,
        128,
        151936,
        1408,
        8192,
        stated_b=14.3,
        expert_count=60,
        expert_used=4,
        n_ff_shared=5632,
        source=HF + "Qwen/Qwen1.5-MoE-A2.7B-Chat/blob/main/config.json",
    ),
    # Tied small Qwen models: llama.cpp's conversion writes a separate output tensor when the
    # checkpoint stores one. Qwen2 and Qwen2.5 checkpoints do not (bartowski's Qwen2.5-0.5B,
    # MaziyarPanahi's 1.5B and Qwen's own Qwen2-1.5B q4_0 have none); Qwen3's 0.6B and 1.7B do
    # (bartowski's 0.6B, MaziyarPanahi's 1.7B carry one) and its 4B does not (bartowski's bf16:
    # 8.05 GB = 4.02 B x 2 bytes). Publishers that made theirs otherwise: publishers.py.
    F(
        "Qwen2 0.5B",
        Q2,
        0.49,
        24,
        896,
        14,
        2,
        64,
        151936,
        4864,
        32768,
        stated_b=0.5,
        tied=True,
        source=HF + "Qwen/Qwen2-0.5B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2 1.5B",
        Q2,
        1.54,
        28,
        1536,
        12,
        2,
        128,
        151936,
        8960,
        32768,
        stated_b=1.5,
        tied=True,
        source=HF + "Qwen/Qwen2-1.5B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2 7B",
        Q2,
        7.62,
        28,
        3584,
        28,
        4,
        128,
        152064,
        18944,
        32768,
        stated_b=7,
        source=HF + "Qwen/Qwen2-7B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2 72B",
        Q2,
        72.7,
        80,
        8192,
        64,
        8,
        128,
        152064,
        29568,
        32768,
        stated_b=72,
        source=HF + "Qwen/Qwen2-72B-Instruct/blob/main/config.json",
    ),
    # Qwen1.5 (untied at 1.8B and up; Qwen1.5-32B and 110B use grouped-query attention)
    F(
        "Qwen1.5 0.5B",
        Q15,
        0.62,
        24,
        1024,
        16,
        16,
        64,
        151936,
        2816,
        32768,
        stated_b=0.5,
        source=HF + "Qwen/Qwen1.5-0.5B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen1.5 1.8B",
        Q15,
        1.84,
        24,
        2048,
        16,
        16,
        128,
        151936,
        5504,
        32768,
        stated_b=1.8,
        source=HF + "Qwen/Qwen1.5-1.8B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen1.5 4B",
        Q15,
        3.95,
        40,
        2560,
        20,
        20,
        128,
        151936,
        6912,
        32768,
        stated_b=4,
        source=HF + "Qwen/Qwen1.5-4B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen1.5 7B",
        Q15,
        7.72,
        32,
        4096,
        32,
        32,
        128,
        151936,
        11008,
        32768,
        stated_b=7,
        source=HF + "Qwen/Qwen1.5-7B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen1.5 14B",
        Q15,
        14.2,
        40,
        5120,
        40,
        40,
        128,
        152064,
        13696,
        32768,
        stated_b=14,
        source=HF + "Qwen/Qwen1.5-14B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen1.5 32B",
        Q15,
        32.5,
        64,
        5120,
        40,
        8,
        128,
        152064,
        27392,
        32768,
        stated_b=32,
        source=HF + "Qwen/Qwen1.5-32B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen1.5 72B",
        Q15,
        72.3,
        80,
        8192,
        64,
        64,
        128,
        152064,
        24576,
        32768,
        stated_b=72,
        source=HF + "Qwen/Qwen1.5-72B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen1.5 110B",
        Q15,
        111.2,
        80,
        8192,
        64,
        8,
        128,
        152064,
        49152,
        32768,
        stated_b=110,
        source=HF + "Qwen/Qwen1.5-110B-Chat/blob/main/config.json",
    ),
    F(
        "Qwen2.5 0.5B",
        Q25,
        0.49,
        24,
        896,
        14,
        2,
        64,
        151936,
        4864,
        32768,
        stated_b=0.5,
        tied=True,
        source=HF + "Qwen/Qwen2.5-0.5B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2.5 1.5B",
        Q25,
        1.54,
        28,
        1536,
        12,
        2,
        128,
        151936,
        8960,
        32768,
        stated_b=1.5,
        tied=True,
        source=HF + "Qwen/Qwen2.5-1.5B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2.5 3B",
        Q25,
        3.09,
        36,
        2048,
        16,
        2,
        128,
        151936,
        11008,
        32768,
        stated_b=3,
        tied=True,
        source=HF + "Qwen/Qwen2.5-3B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2.5 7B",
        Q25,
        7.62,
        28,
        3584,
        28,
        4,
        128,
        152064,
        18944,
        131072,
        stated_b=7,
        source=HF + "Qwen/Qwen2.5-7B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2.5 14B",
        Q25,
        14.8,
        48,
        5120,
        40,
        8,
        128,
        152064,
        13824,
        131072,
        stated_b=14,
        source=HF + "Qwen/Qwen2.5-14B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2.5 32B",
        Q25,
        32.8,
        64,
        5120,
        40,
        8,
        128,
        152064,
        27648,
        131072,
        stated_b=32,
        source=HF + "Qwen/Qwen2.5-32B-Instruct/blob/main/config.json",
    ),
    F(
        "Qwen2.5 72B",
        Q25,
        72.7,
        80,
        8192,
        64,
        8,
        128,
        152064,
        29568,
        131072,
        stated_b=72,
        source=HF + "Qwen/Qwen2.5-72B-Instruct/blob/main/config.json",
    ),
    F(
        "DeepSeek R1 distill (Qwen 1.5B)",
        r"deepseek-r1-distill-qwen",
        1.78,
        28,
        1536,
        12,
        2,
        128,
        151936,
        8960,
        131072,
        stated_b=1.5,
        source=HF + "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B/blob/main/config.json",
    ),
    F(
        "DeepSeek R1 distill (Qwen 7B)",
        r"deepseek-r1-distill-qwen",
        7.62,
        28,
        3584,
        28,
        4,
        128,
        152064,
        18944,
        131072,
        stated_b=7,
        source=HF + "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B/blob/main/config.json",
    ),
    F(
        "DeepSeek R1 distill (Qwen 14B)",
        r"deepseek-r1-distill-qwen",
        14.8,
        48,
        5120,
        40,
        8,
        128,
        152064,
        13824,
        131072,
        stated_b=14,
        source=HF + "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B/blob/main/config.json",
    ),
    F(
        "DeepSeek R1 distill (Qwen 32B)",
        r"deepseek-r1-distill-qwen",
        32.8,
        64,
        5120,
        40,
        8,
        128,
        152064,
        27648,
        131072,
        stated_b=32,
        source=HF + "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B/blob/main/config.json",
    ),
    F(
        "Qwen3 0.6B",
        Q3,
        0.6,
        28,
        1024,
        16,
        8,
        128,
        151936,
        3072,
        40960,
        tied=True,
        gguf_output=True,
        source=HF + "Qwen/Qwen3-0.6B/blob/main/config.json",
    ),
    F(
        "Qwen3 1.7B",
        Q3,
        1.7,
        28,
        2048,
        16,
        8,
        128,
        151936,
        6144,
        40960,
        tied=True,
        gguf_output=True,
        source=HF + "Qwen/Qwen3-1.7B/blob/main/config.json",
    ),
    F(
        "Qwen3 4B",
        Q3,
        4.0,
        36,
        2560,
        32,
        8,
        128,
        151936,
        9728,
        40960,
        tied=True,
        source=HF + "Qwen/Qwen3-4B/blob/main/config.json",
    ),
    F(
        "Qwen3 8B",
        Q3,
        8.2,
        36,
        4096,
        32,
        8,
        128,
        151936,
        12288,
        40960,
        stated_b=8,
        source=HF + "Qwen/Qwen3-8B/blob/main/config.json",
    ),
    F(
        "Qwen3 14B",
        Q3,
        14.8,
        40,
        5120,
        40,
        8,
        128,
        151936,
        17408,
        40960,
        stated_b=14,
        source=HF + "Qwen/Qwen3-14B/blob/main/config.json",
    ),
    F(
        "Qwen3 32B",
        Q3,
        32.8,
        64,
        5120,
        64,
        8,
        128,
        151936,
        25600,
        40960,
        stated_b=32,
        source=HF + "Qwen/Qwen3-32B/blob/main/config.json",
    ),
    F(
        "Qwen3 30B-A3B",
        Q3,
        30.5,
        48,
        2048,
        32,
        4,
        128,
        151936,
        768,
        40960,
        stated_b=30,
        expert_count=128,
        expert_used=8,
        source=HF + "Qwen/Qwen3-30B-A3B/blob/main/config.json",
    ),
    F(
        "Qwen3 235B-A22B",
        Q3,
        235.1,
        94,
        4096,
        64,
        4,
        128,
        151936,
        1536,
        40960,
        stated_b=235,
        expert_count=128,
        expert_used=8,
        source=HF + "Qwen/Qwen3-235B-A22B/blob/main/config.json",
    ),
    F(
        "Qwen3 Coder 480B-A35B",
        Q3,
        480.2,
        62,
        6144,
        96,
        8,
        128,
        151936,
        2560,
        262144,
        stated_b=480,
        expert_count=160,
        expert_used=8,
        source=HF + "Qwen/Qwen3-Coder-480B-A35B-Instruct/blob/main/config.json",
    ),
    # Gemma
    F(
        "Gemma 2B",
        r"(?<!med)gemma(?!-?[234])",
        2.51,
        18,
        2048,
        8,
        1,
        256,
        256000,
        16384,
        8192,
        stated_b=2,
        tied=True,
        source=HF + "google/gemma-2b/blob/main/config.json",
    ),
    F(
        "Gemma 7B",
        r"(?<!med)gemma(?!-?[234])",
        8.54,
        28,
        3072,
        16,
        16,
        256,
        256000,
        24576,
        8192,
        stated_b=7,
        tied=True,
        source=HF + "google/gemma-7b/blob/main/config.json",
    ),
    F(
        "Gemma 2 2B",
        r"gemma-?2(?!\d)",
        2.61,
        26,
        2304,
        8,
        4,
        256,
        256000,
        9216,
        8192,
        4096,
        2,
        stated_b=2,
        tied=True,
        source=HF + "google/gemma-2-2b-it/blob/main/config.json",
    ),
    F(
        "Gemma 2 9B",
        r"gemma-?2(?!\d)",
        9.24,
        42,
        3584,
        16,
        8,
        256,
        256000,
        14336,
        8192,
        4096,
        2,
        stated_b=9,
        tied=True,
        source=HF + "google/gemma-2-9b-it/blob/main/config.json",
    ),
    F(
        "Gemma 2 27B",
        r"gemma-?2(?!\d)",
        27.2,
        46,
        4608,
        32,
        16,
        128,
        256000,
        36864,
        8192,
        4096,
        2,
        stated_b=27,
        tied=True,
        source=HF + "google/gemma-2-27b-it/blob/main/config.json",
    ),
    F(
        "Gemma 3 270M",
        r"gemma-?3(?!n)|medgemma",
        0.268,
        18,
        640,
        4,
        1,
        256,
        262144,
        2048,
        32768,
        512,
        6,
        stated_b=0.27,
        tied=True,
        source=HF + "google/gemma-3-270m-it/blob/main/config.json",
    ),
    F(
        "Gemma 3 1B",
        r"gemma-?3(?!n)|medgemma",
        1.0,
        26,
        1152,
        4,
        1,
        256,
        262144,
        6912,
        32768,
        512,
        6,
        tied=True,
        source=HF + "google/gemma-3-1b-it/blob/main/config.json",
    ),
    F(
        "Gemma 3 4B",
        r"gemma-?3(?!n)|medgemma",
        3.88,
        34,
        2560,
        8,
        4,
        256,
        262208,
        10240,
        131072,
        1024,
        6,
        stated_b=4,
        tied=True,
        source=HF + "google/gemma-3-4b-it/blob/main/config.json",
    ),
    F(
        "Gemma 3 12B",
        r"gemma-?3(?!n)|medgemma",
        11.8,
        48,
        3840,
        16,
        8,
        256,
        262208,
        15360,
        131072,
        1024,
        6,
        stated_b=12,
        tied=True,
        source=HF + "google/gemma-3-12b-it/blob/main/config.json",
    ),
    F(
        "Gemma 3 27B",
        r"gemma-?3(?!n)|medgemma",
        27.0,
        62,
        5376,
        32,
        16,
        128,
        262208,
        21504,
        131072,
        1024,
        6,
        stated_b=27,
        tied=True,
        source=HF + "google/gemma-3-27b-it/blob/main/config.json",
    ),
    # Phi
    F(
        "Phi-2",
        r"phi-?2(?!\d)",
        2.78,
        32,
        2560,
        32,
        32,
        80,
        51200,
        10240,
        2048,
        stated_b=2.7,
        gated=False,
        fused_qkv=True,
        source=HF + "microsoft/phi-2/blob/main/config.json",
    ),
    F(
        "Phi-3 / 3.5 mini",
        r"phi-?3(\.[15])?-?mini",
        3.82,
        32,
        3072,
        32,
        32,
        96,
        32064,
        8192,
        131072,
        stated_b=3.8,
        fused_qkv=True,
        source=HF + "microsoft/Phi-3.5-mini-instruct/blob/main/config.json",
    ),
    F(
        "Phi-3.5-MoE 16x3.8B",
        r"phi-?3\.5-?moe",
        41.9,
        32,
        4096,
        32,
        8,
        128,
        32064,
        6400,
        131072,
        expert_count=16,
        expert_used=2,
        source=HF + "microsoft/Phi-3.5-MoE-instruct/blob/main/config.json",
    ),
    F(
        "Phi-3 medium",
        r"phi-?3-?medium",
        14.0,
        40,
        5120,
        40,
        10,
        128,
        32064,
        17920,
        131072,
        fused_qkv=True,
        source=HF + "microsoft/Phi-3-medium-4k-instruct/blob/main/config.json",
    ),
    F(
        "Phi-4 14B",
        r"phi-?4(?!-?mini)",
        14.7,
        40,
        5120,
        40,
        10,
        128,
        100352,
        17920,
        16384,
        stated_b=14,
        fused_qkv=True,
        source=HF + "microsoft/phi-4/blob/main/config.json",
    ),
    F(
        "Phi-4 mini",
        r"phi-?4-?mini",
        3.84,
        32,
        3072,
        24,
        8,
        128,
        200064,
        8192,
        131072,
        stated_b=3.8,
        tied=True,
        fused_qkv=True,
        source=HF + "microsoft/Phi-4-mini-instruct/blob/main/config.json",
    ),
    # Others
    F(
        # StableLM 3B 4E1T and its fine-tunes (Zephyr 3B, Stable Code 3B); StableLM 2 is another
        # shape (1.6B, 12B).
        "StableLM 3B",
        r"stable-?(lm|code)(?!-?2)",
        2.8,
        32,
        2560,
        32,
        32,
        80,
        50304,
        6912,
        4096,
        stated_b=3,
        source=HF + "stabilityai/stablelm-3b-4e1t/blob/main/config.json",
    ),
    F(
        "StableLM 2 1.6B",
        r"stable-?lm-?2",
        1.64,
        24,
        2048,
        32,
        32,
        64,
        100352,
        5632,
        4096,
        stated_b=1.6,
        source=HF + "stabilityai/stablelm-2-1_6b-chat/blob/main/config.json",
    ),
    # DeepSeek LLM (2023): Llama's layout with a 102,400-token vocabulary.
    F(
        "DeepSeek LLM 7B",
        r"deepseek-?llm",
        6.91,
        30,
        4096,
        32,
        32,
        128,
        102400,
        11008,
        4096,
        stated_b=7,
        source=HF + "deepseek-ai/deepseek-llm-7b-chat/blob/main/config.json",
    ),
    F(
        "DeepSeek LLM 67B",
        r"deepseek-?llm",
        67.4,
        95,
        8192,
        64,
        8,
        128,
        102400,
        22016,
        4096,
        stated_b=67,
        source=HF + "deepseek-ai/deepseek-llm-67b-chat/blob/main/config.json",
    ),
    # OLMoE 1B-7B: 64 experts (8 used) in every layer; "1B-7B" names the active size first.
    F(
        "OLMoE 1B-7B",
        r"olmoe",
        6.92,
        16,
        2048,
        16,
        16,
        128,
        50304,
        1024,
        4096,
        stated_b=7,
        expert_count=64,
        expert_used=8,
        source=HF + "allenai/OLMoE-1B-7B-0924-Instruct/blob/main/config.json",
    ),
    F(
        "Yi 6B",
        r"(^|-)yi(-1\.5)?$",
        6.06,
        32,
        4096,
        32,
        4,
        128,
        64000,
        11008,
        4096,
        stated_b=6,
        source=HF + "01-ai/Yi-6B-Chat/blob/main/config.json",
    ),
    F(
        "Yi 34B",
        r"(^|-)yi(-1\.5)?$",
        34.4,
        60,
        7168,
        56,
        8,
        128,
        64000,
        20480,
        4096,
        stated_b=34,
        source=HF + "01-ai/Yi-34B-Chat/blob/main/config.json",
    ),
    F(
        "Command R 35B",
        r"command-?r(?!-?plus|7b)",
        35.0,
        40,
        8192,
        64,
        64,
        128,
        256000,
        22528,
        131072,
        tied=True,
        source=HF + "CohereForAI/c4ai-command-r-v01/blob/main/config.json",
    ),
    F(
        "DeepSeek-V2-Lite / Coder-V2-Lite",
        r"deepseek-(coder-)?v2(\.5)?-?lite",
        15.7,
        27,
        2048,
        16,
        16,
        128,
        102400,
        1408,
        163840,
        stated_b=16,
        expert_count=64,
        expert_used=6,
        n_ff_shared=2816,
        dense_layers=1,
        n_ff_dense=10944,
        kv_lora=512,
        rope_dim=64,
        source=HF + "deepseek-ai/DeepSeek-V2-Lite-Chat/blob/main/config.json",
    ),
    # Moonlight 16B-A3B (DeepSeek-V3's layout at DeepSeek-V2-Lite's size), the language model of
    # Kimi-VL-A3B (whose vision tower is the mmproj file).
    F(
        "Moonlight / Kimi-VL 16B-A3B",
        r"moonlight-?16b|kimi-?vl",
        15.96,
        27,
        2048,
        16,
        16,
        128,
        163840,
        1408,
        131072,
        stated_b=16,
        expert_count=64,
        expert_used=6,
        n_ff_shared=2816,
        dense_layers=1,
        n_ff_dense=11264,
        kv_lora=512,
        rope_dim=64,
        source=HF + "moonshotai/Kimi-VL-A3B-Thinking-2506/blob/main/config.json",
    ),
    F(
        # The Hub's 685 B counts the multi-token-prediction layer, which GGUFs leave out.
        "DeepSeek-V3 / R1 671B",
        r"deepseek-(v3(\.1)?|r1)(?![.\d]|-?distill|-?lite)",
        671.0,
        61,
        7168,
        128,
        128,
        128,
        129280,
        2048,
        163840,
        stated_b=671,
        expert_count=256,
        expert_used=8,
        n_ff_shared=2048,
        dense_layers=3,
        n_ff_dense=18432,
        kv_lora=512,
        q_lora=1536,
        rope_dim=64,
        source=HF + "deepseek-ai/DeepSeek-V3/blob/main/config.json",
    ),
    F(
        # DeepSeek-V3's architecture with 64 heads, 384 experts and one dense layer.
        "Kimi K2 1T",
        r"kimi-?k2",
        1026.4,
        61,
        7168,
        64,
        64,
        128,
        163840,
        2048,
        131072,
        stated_b=1000,
        expert_count=384,
        expert_used=8,
        n_ff_shared=2048,
        dense_layers=1,
        n_ff_dense=18432,
        kv_lora=512,
        q_lora=1536,
        rope_dim=64,
        source=HF + "moonshotai/Kimi-K2-Instruct/blob/main/config.json",
    ),
    F(
        "gpt-oss 20B",
        r"gpt-?oss",
        20.9,
        24,
        2880,
        64,
        8,
        64,
        201088,
        2880,
        131072,
        128,
        2,
        stated_b=20,
        expert_count=32,
        expert_used=4,
        expert_type="MXFP4",
        source=HF + "openai/gpt-oss-20b/blob/main/config.json",
    ),
    F(
        "gpt-oss 120B",
        r"gpt-?oss",
        116.8,
        36,
        2880,
        64,
        8,
        64,
        201088,
        2880,
        131072,
        128,
        2,
        stated_b=120,
        expert_count=128,
        expert_used=4,
        expert_type="MXFP4",
        source=HF + "openai/gpt-oss-120b/blob/main/config.json",
    ),
]

# Families added from their published configs; each row's count is checked against the model's
# published total (the shape test), and the table test prices real files of each.
FAL3, GRANITE3, ILM2, OLMO2 = (
    r"falcon-?3(?!-?mamba)",
    r"granite-?3",
    r"internlm-?2",
    r"olmo-?2(?!\d)",
)
EXAONE, DSC, AYA23, AYAX = (
    r"exaone-?(3[.-]5|deep)",
    r"deepseek-?coder(?!-?v2)",
    r"aya-?23",
    r"aya-?expanse",
)
ERNIE, HUNYUAN = r"ernie-?4[.-]5", r"hunyuan"
LFM2 = r"lfm-?2(?![.-]?5|-?vl)"
LFM25 = r"lfm-?2[.-]5(?!-?vl|-?audio)"
GEMMA4 = r"(?<!med)gemma-?4(?![\d.]*b)"
NEMOTRON3 = r"nemotron-?(3(\.5)?-?(nano|super|lightning)|nano-?3)"
FALCONH1 = r"falcon-?h1"
MINISTRAL3, EXAONE4 = r"ministral-?3", r"exaone-?4"
GRANITE4, GRANITE4H = r"granite-?4[.-]0(?!-?h)", r"granite-?4[.-]0-?h"
FALCON, STARCODER2 = r"falcon(?!-?3|-?mamba|-?h1|-?e)", r"starcoder-?2"
GLM4 = r"glm-?(4|z1)(?![.-]?[5-9](?![\d.]*b)|[.-]?1?v)"
FAMILIES += [
    F(
        "Falcon3 1B",
        FAL3,
        1.67,
        18,
        2048,
        8,
        4,
        256,
        131072,
        8192,
        8192,
        stated_b=1,
        source=HF + "tiiuae/Falcon3-1B-Instruct/blob/main/config.json",
    ),
    F(
        "Falcon3 3B",
        FAL3,
        3.23,
        22,
        3072,
        12,
        4,
        256,
        131072,
        9216,
        32768,
        stated_b=3,
        source=HF + "tiiuae/Falcon3-3B-Instruct/blob/main/config.json",
    ),
    F(
        "Falcon3 7B",
        FAL3,
        7.46,
        28,
        3072,
        12,
        4,
        256,
        131072,
        23040,
        32768,
        stated_b=7,
        source=HF + "tiiuae/Falcon3-7B-Instruct/blob/main/config.json",
    ),
    F(
        "Falcon3 10B",
        FAL3,
        10.31,
        40,
        3072,
        12,
        4,
        256,
        131072,
        23040,
        32768,
        stated_b=10,
        source=HF + "tiiuae/Falcon3-10B-Instruct/blob/main/config.json",
    ),
    F(
        "Granite 3 2B",
        GRANITE3,
        2.53,
        40,
        2048,
        32,
        8,
        64,
        49155,
        8192,
        131072,
        stated_b=2,
        tied=True,
        source=HF + "ibm-granite/granite-3.1-2b-instruct/blob/main/config.json",
    ),
    F(
        "Granite 3 8B",
        GRANITE3,
        8.17,
        40,
        4096,
        32,
        8,
        128,
        49155,
        12800,
        131072,
        stated_b=8,
        tied=True,
        source=HF + "ibm-granite/granite-3.1-8b-instruct/blob/main/config.json",
    ),
    F(
        "Granite 3 1B-A400M",
        GRANITE3,
        1.33,
        24,
        1024,
        16,
        8,
        64,
        49155,
        512,
        131072,
        stated_b=1,
        expert_count=32,
        expert_used=8,
        tied=True,
        source=HF + "ibm-granite/granite-3.1-1b-a400m-instruct/blob/main/config.json",
    ),
    F(
        "Granite 3 3B-A800M",
        GRANITE3,
        3.30,
        32,
        1536,
        24,
        8,
        64,
        49155,
        512,
        131072,
        stated_b=3,
        expert_count=40,
        expert_used=8,
        tied=True,
        source=HF + "ibm-granite/granite-3.1-3b-a800m-instruct/blob/main/config.json",
    ),
    F(
        "InternLM2 1.8B",
        ILM2,
        1.89,
        24,
        2048,
        16,
        8,
        128,
        92544,
        8192,
        32768,
        stated_b=1.8,
        source=HF + "internlm/internlm2_5-1_8b-chat/blob/main/config.json",
    ),
    F(
        "InternLM2 7B",
        ILM2,
        7.74,
        32,
        4096,
        32,
        8,
        128,
        92544,
        14336,
        32768,
        stated_b=7,
        source=HF + "internlm/internlm2_5-7b-chat/blob/main/config.json",
    ),
    F(
        "InternLM2 20B",
        ILM2,
        19.86,
        48,
        6144,
        48,
        8,
        128,
        92544,
        16384,
        32768,
        stated_b=20,
        source=HF + "internlm/internlm2_5-20b-chat/blob/main/config.json",
    ),
    F(
        "OLMo 2 1B",
        OLMO2,
        1.485,
        16,
        2048,
        16,
        16,
        128,
        100352,
        8192,
        4096,
        stated_b=1,
        source=HF + "allenai/OLMo-2-0425-1B/blob/main/config.json",
    ),
    F(
        "OLMo 2 7B",
        OLMO2,
        7.30,
        32,
        4096,
        32,
        32,
        128,
        100352,
        11008,
        4096,
        stated_b=7,
        source=HF + "allenai/OLMo-2-1124-7B/blob/main/config.json",
    ),
    F(
        "OLMo 2 13B",
        OLMO2,
        13.72,
        40,
        5120,
        40,
        40,
        128,
        100352,
        13824,
        4096,
        stated_b=13,
        source=HF + "allenai/OLMo-2-1124-13B/blob/main/config.json",
    ),
    F(
        "OLMo 2 32B",
        OLMO2,
        32.23,
        64,
        5120,
        40,
        8,
        128,
        100352,
        27648,
        4096,
        stated_b=32,
        source=HF + "allenai/OLMo-2-0325-32B/blob/main/config.json",
    ),
    # EXAONE 3.5 2.4B ties its embeddings, but LG's own files carry an output tensor (the
    # checkpoint stores one); Llamafied conversions do not.
    F(
        "EXAONE 3.5 2.4B",
        EXAONE,
        2.41,
        30,
        2560,
        32,
        8,
        80,
        102400,
        7168,
        32768,
        stated_b=2.4,
        tied=True,
        gguf_output=True,
        source=HF + "LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct/blob/main/config.json",
    ),
    F(
        "EXAONE 3.5 7.8B",
        EXAONE,
        7.82,
        32,
        4096,
        32,
        8,
        128,
        102400,
        14336,
        32768,
        stated_b=7.8,
        source=HF + "LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct/blob/main/config.json",
    ),
    F(
        "EXAONE 3.5 32B",
        EXAONE,
        32.0,
        64,
        5120,
        40,
        8,
        128,
        102400,
        27392,
        32768,
        source=HF + "LGAI-EXAONE/EXAONE-3.5-32B-Instruct/blob/main/config.json",
    ),
    F(
        "SOLAR 10.7B",
        r"(^|-)solar(?!-?pro)",
        10.73,
        48,
        4096,
        32,
        8,
        128,
        32000,
        14336,
        4096,
        stated_b=10.7,
        source=HF + "upstage/SOLAR-10.7B-Instruct-v1.0/blob/main/config.json",
    ),
    F(
        "DeepSeek Coder 1.3B",
        DSC,
        1.35,
        24,
        2048,
        16,
        16,
        128,
        32256,
        5504,
        16384,
        stated_b=1.3,
        source=HF + "deepseek-ai/deepseek-coder-1.3b-instruct/blob/main/config.json",
    ),
    F(
        "DeepSeek Coder 6.7B",
        DSC,
        6.74,
        32,
        4096,
        32,
        32,
        128,
        32256,
        11008,
        16384,
        stated_b=6.7,
        source=HF + "deepseek-ai/deepseek-coder-6.7b-instruct/blob/main/config.json",
    ),
    F(
        "DeepSeek Coder 33B",
        DSC,
        33.34,
        62,
        7168,
        56,
        8,
        128,
        32256,
        19200,
        16384,
        stated_b=33,
        source=HF + "deepseek-ai/deepseek-coder-33b-instruct/blob/main/config.json",
    ),
    F(
        "Ministral 8B",
        r"ministral(?!-?3)",
        8.02,
        36,
        4096,
        32,
        8,
        128,
        131072,
        12288,
        32768,
        stated_b=8,
        source=HF + "mistralai/Ministral-8B-Instruct-2410/blob/main/config.json",
    ),
    F(
        "Mistral-NeMo-Minitron 8B",
        r"minitron",
        8.41,
        40,
        4096,
        32,
        8,
        128,
        131072,
        11520,
        8192,
        stated_b=8,
        source=HF + "nvidia/Mistral-NeMo-Minitron-8B-Instruct/blob/main/config.json",
    ),
    F(
        "Nemotron Mini 4B",
        r"nemotron-?mini",
        4.19,
        32,
        3072,
        24,
        8,
        128,
        256000,
        9216,
        4096,
        stated_b=4,
        gated=False,
        source=HF + "nvidia/Nemotron-Mini-4B-Instruct/blob/main/config.json",
    ),
    F(
        "Llama 3.1 Nemotron Nano 4B",
        r"nemotron-?nano",
        4.51,
        32,
        3072,
        32,
        8,
        128,
        128256,
        9216,
        131072,
        stated_b=4,
        source=HF + "nvidia/Llama-3.1-Nemotron-Nano-4B-v1.1/blob/main/config.json",
    ),
    F(
        "Aya 23 8B",
        AYA23,
        8.03,
        32,
        4096,
        32,
        8,
        128,
        256000,
        14336,
        8192,
        stated_b=8,
        tied=True,
        source=HF + "CohereForAI/aya-23-8B/blob/main/config.json",
    ),
    F(
        "Aya Expanse 32B",
        AYAX,
        32.3,
        40,
        8192,
        64,
        8,
        128,
        256000,
        24576,
        8192,
        stated_b=32,
        tied=True,
        source=HF + "CohereForAI/aya-expanse-32b/blob/main/config.json",
    ),
    F(
        "Command R+ 104B",
        r"command-?r-?(plus|\+)",
        103.8,
        64,
        12288,
        96,
        8,
        128,
        256000,
        33792,
        131072,
        stated_b=104,
        tied=True,
        source=HF + "CohereForAI/c4ai-command-r-plus-08-2024/blob/main/config.json",
    ),
    F(
        "Command A 111B",
        r"command-?a(?![a-z])",
        111.06,
        64,
        12288,
        96,
        8,
        128,
        256000,
        36864,
        131072,
        stated_b=111,
        tied=True,
        sliding_window=4096,
        swa_pattern=4,
        source=HF + "CohereForAI/c4ai-command-a-03-2025/blob/main/config.json",
    ),
    # Falcon 7B (2023): one fused QKV tensor, multi-query attention and a plain two-matrix GELU
    # FFN; 4544 is no multiple of 256, so its K-quants fall back to legacy types. (Falcon 40B and
    # 180B are priced by size: llama.cpp gives Falcon's FFN and attention output rules of their
    # own, which the preset tables here do not follow.)
    # Granite 4.0: dense models (granite's architecture) and H models whose layers are Mamba-2
    # mixers but for four attention layers; the H models' FFN is dense or a mixture with one
    # shared expert. Tied embeddings, a 100,352-token vocabulary.
    # Ministral 3 (2512): the text model of a vision model (the Pixtral tower is the mmproj file).
    F(
        "Ministral 3 3B",
        MINISTRAL3,
        3.43,
        26,
        3072,
        32,
        8,
        128,
        131072,
        9216,
        262144,
        stated_b=3,
        tied=True,
        source=HF + "mistralai/Ministral-3-3B-Instruct-2512/blob/main/config.json",
    ),
    F(
        "Ministral 3 8B",
        MINISTRAL3,
        8.49,
        34,
        4096,
        32,
        8,
        128,
        131072,
        14336,
        262144,
        stated_b=8,
        source=HF + "mistralai/Ministral-3-8B-Instruct-2512/blob/main/config.json",
    ),
    F(
        "Ministral 3 14B",
        MINISTRAL3,
        13.51,
        40,
        5120,
        32,
        8,
        128,
        131072,
        16384,
        262144,
        stated_b=14,
        source=HF + "mistralai/Ministral-3-14B-Instruct-2512/blob/main/config.json",
    ),
    # EXAONE 4.0: 1.2B ties its embeddings (and its files carry no output tensor); 32B slides a
    # 4,096-token window in three layers of four.
    F(
        "EXAONE 4.0 1.2B",
        EXAONE4,
        1.28,
        30,
        2048,
        32,
        8,
        64,
        102400,
        4096,
        65536,
        stated_b=1.2,
        tied=True,
        source=HF + "LGAI-EXAONE/EXAONE-4.0-1.2B/blob/main/config.json",
    ),
    F(
        "EXAONE 4.0 32B",
        EXAONE4,
        32.0,
        64,
        5120,
        40,
        8,
        128,
        102400,
        27392,
        131072,
        sliding_window=4096,
        swa_pattern=4,
        source=HF + "LGAI-EXAONE/EXAONE-4.0-32B/blob/main/config.json",
    ),
    # Apriel 1.5 / 1.6 15B: Pixtral 12B's language model deepened from 40 to 48 layers.
    F(
        "Apriel 15B",
        r"apriel-?1[.-][56]",
        14.43,
        48,
        5120,
        32,
        8,
        128,
        131072,
        14336,
        131072,
        stated_b=15,
        source=HF + "ServiceNow-AI/Apriel-1.5-15b-Thinker/blob/main/config.json",
    ),
    F(
        "Granite 4.0 350M",
        GRANITE4,
        0.35,
        28,
        1024,
        16,
        4,
        64,
        100352,
        2048,
        131072,
        tied=True,
        source=HF + "ibm-granite/granite-4.0-350m/blob/main/config.json",
    ),
    F(
        "Granite 4.0 1B",
        GRANITE4,
        1.63,
        40,
        2048,
        16,
        4,
        128,
        100352,
        4096,
        131072,
        stated_b=1,
        tied=True,
        source=HF + "ibm-granite/granite-4.0-1b/blob/main/config.json",
    ),
    F(
        "Granite 4.0 Micro 3B",
        GRANITE4,
        3.40,
        40,
        2560,
        40,
        8,
        64,
        100352,
        8192,
        131072,
        stated_b=3,
        tied=True,
        size_word="micro",
        source=HF + "ibm-granite/granite-4.0-micro/blob/main/config.json",
    ),
    # Granite 4.1: dense; 3b has Granite 4.0 Micro's shape; 8b has an output layer of its own
    # (its BF16 file is 17.6 GB).
    F(
        "Granite 4.1 3B",
        r"granite-?4[.-]1",
        3.4,
        40,
        2560,
        40,
        8,
        64,
        100352,
        8192,
        131072,
        stated_b=3,
        tied=True,
        source=HF + "ibm-granite/granite-4.1-3b/blob/main/config.json",
    ),
    F(
        "Granite 4.1 8B",
        r"granite-?4[.-]1",
        8.79,
        40,
        4096,
        32,
        8,
        128,
        100352,
        12800,
        131072,
        stated_b=8,
        source=HF + "ibm-granite/granite-4.1-8b/blob/main/config.json",
    ),
    F(
        "Granite 4.1 30B",
        r"granite-?4[.-]1",
        28.87,
        64,
        4096,
        32,
        8,
        128,
        100352,
        32768,
        131072,
        stated_b=30,
        tied=True,
        source=HF + "ibm-granite/granite-4.1-30b/blob/main/config.json",
    ),
    F(
        "Granite 4.0 H 350M",
        GRANITE4H,
        0.34,
        32,
        768,
        12,
        4,
        64,
        100352,
        2048,
        131072,
        stated_b=0.35,
        tied=True,
        ssm_layers=28,
        ssm_inner=1536,
        ssm_heads=48,
        ssm_state=128,
        source=HF + "ibm-granite/granite-4.0-h-350m/blob/main/config.json",
    ),
    F(
        "Granite 4.0 H 1B",
        GRANITE4H,
        1.46,
        40,
        1536,
        12,
        4,
        128,
        100352,
        4096,
        131072,
        stated_b=1,
        tied=True,
        ssm_layers=36,
        ssm_inner=3072,
        ssm_heads=48,
        ssm_state=128,
        source=HF + "ibm-granite/granite-4.0-h-1b/blob/main/config.json",
    ),
    F(
        "Granite 4.0 H Micro 3B",
        GRANITE4H,
        3.19,
        40,
        2048,
        32,
        8,
        64,
        100352,
        8192,
        131072,
        stated_b=3,
        tied=True,
        ssm_layers=36,
        ssm_inner=4096,
        ssm_heads=64,
        ssm_state=128,
        size_word="micro",
        source=HF + "ibm-granite/granite-4.0-h-micro/blob/main/config.json",
    ),
    F(
        "Granite 4.0 H Tiny 7B-A1B",
        GRANITE4H,
        6.94,
        40,
        1536,
        12,
        4,
        128,
        100352,
        512,
        131072,
        stated_b=7,
        tied=True,
        expert_count=64,
        expert_used=6,
        n_ff_shared=1024,
        ssm_layers=36,
        ssm_inner=3072,
        ssm_heads=48,
        ssm_state=128,
        size_word="tiny",
        source=HF + "ibm-granite/granite-4.0-h-tiny/blob/main/config.json",
    ),
    F(
        "Granite 4.0 H Small 32B-A9B",
        GRANITE4H,
        32.19,
        40,
        4096,
        32,
        8,
        128,
        100352,
        768,
        131072,
        stated_b=32,
        tied=True,
        expert_count=72,
        expert_used=10,
        n_ff_shared=1536,
        ssm_layers=36,
        ssm_inner=8192,
        ssm_heads=128,
        ssm_state=128,
        size_word="small",
        source=HF + "ibm-granite/granite-4.0-h-small/blob/main/config.json",
    ),
    # Nemotron-H (Nemotron Nano 9B / 12B v2): one block per layer, a Mamba-2 mixer, attention or
    # a two-matrix squared-ReLU FFN; 4480 is no multiple of 256, so the 9B falls back to legacy
    # types in K-quants.
    F(
        "Nemotron Nano 9B v2",
        r"nemotron-?nano",
        8.89,
        56,
        4480,
        40,
        8,
        128,
        131072,
        15680,
        131072,
        stated_b=9,
        gated=False,
        layout="M-M-M-MM-M-M-M*-M-M-M*-M-M-M-M*-M-M-M-M*-M-MM-M-M-M-M-M-",
        ssm_inner=10240,
        ssm_heads=128,
        ssm_state=128,
        ssm_groups=8,
        source=HF + "nvidia/NVIDIA-Nemotron-Nano-9B-v2/blob/main/config.json",
    ),
    F(
        "Nemotron Nano 12B v2",
        r"nemotron-?nano",
        12.31,
        62,
        5120,
        40,
        8,
        128,
        131072,
        20480,
        131072,
        stated_b=12,
        gated=False,
        layout="M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M*-M-M-M-M-",
        ssm_inner=10240,
        ssm_heads=128,
        ssm_state=128,
        ssm_groups=8,
        source=HF + "nvidia/NVIDIA-Nemotron-Nano-12B-v2/blob/main/config.json",
    ),
    # Ling 2.0 and Ring 2.0 (inclusionAI's bailingmoe2): fused q/k/v, a dense first layer, 256
    # experts with a shared one; the Hub's files leave out the prediction layer.
    F(
        "Ling / Ring mini 2.0 16B-A1.4B",
        r"(ling|ring)-?mini-?2[.-]0",
        16.26,
        20,
        2048,
        16,
        4,
        128,
        157184,
        512,
        32768,
        stated_b=16,
        fused_qkv=True,
        expert_count=256,
        expert_used=8,
        n_ff_shared=512,
        dense_layers=1,
        n_ff_dense=5120,
        source=HF + "inclusionAI/Ling-mini-2.0/blob/main/config.json",
    ),
    F(
        "Ling / Ring flash 2.0 100B-A6B",
        r"(ling|ring)-?flash-?2[.-]0",
        102.89,
        32,
        4096,
        32,
        4,
        128,
        157184,
        1024,
        32768,
        stated_b=100,
        fused_qkv=True,
        expert_count=256,
        expert_used=8,
        n_ff_shared=1024,
        dense_layers=1,
        n_ff_dense=9216,
        source=HF + "inclusionAI/Ling-flash-2.0/blob/main/config.json",
    ),
    # Laguna (poolside): full attention in the first layer of every four (48 heads), a 512-token
    # window in the others (64 or 72 heads); a dense first layer, then 256 experts and a shared
    # one.
    F(
        "Laguna XS 33B-A3B",
        r"laguna-?xs",
        33.44,
        40,
        2048,
        64,
        8,
        128,
        100352,
        512,
        131072,
        stated_b=33,
        expert_used=8,
        n_ff_shared=512,
        n_ff_dense=8192,
        **_LAGUNA,
        source=HF + "poolside/Laguna-XS-2.1/blob/main/config.json",
    ),
    F(
        "Laguna S 118B-A8B",
        r"laguna-?s(?![a-z])",
        117.5,
        48,
        3072,
        72,
        8,
        128,
        100352,
        1024,
        131072,
        stated_b=118,
        expert_used=10,
        n_ff_shared=1024,
        n_ff_dense=12288,
        **_LAGUNA,
        source=HF + "poolside/Laguna-S-2.1/blob/main/config.json",
    ),
    # Trinity (Arcee's afmoe): three sliding-window layers to one full; a gate as wide as the
    # queries on the attention output; leading dense layers, then experts and a shared one.
    F(
        "Trinity Nano 6B-A1B",
        r"trinity-?nano",
        6.1,
        56,
        1024,
        8,
        2,
        128,
        200192,
        256,
        131072,
        stated_b=6,
        sliding_window=2048,
        expert_count=128,
        expert_used=8,
        n_ff_shared=256,
        dense_layers=2,
        n_ff_dense=3072,
        **_TRINITY,
        source=HF + "arcee-ai/Trinity-Nano/blob/main/config.json",
    ),
    F(
        "Trinity Mini 26B-A3B",
        r"trinity-?mini",
        26.1,
        32,
        2048,
        32,
        4,
        128,
        200192,
        1024,
        131072,
        stated_b=26,
        sliding_window=2048,
        expert_count=128,
        expert_used=8,
        n_ff_shared=1024,
        dense_layers=2,
        n_ff_dense=6144,
        **_TRINITY,
        source=HF + "arcee-ai/Trinity-Mini/blob/main/config.json",
    ),
    F(
        "Trinity Large 400B-A13B",
        r"trinity-?large",
        398.6,
        60,
        3072,
        48,
        8,
        128,
        200192,
        3072,
        131072,
        stated_b=400,
        sliding_window=4096,
        expert_count=256,
        expert_used=4,
        n_ff_shared=3072,
        dense_layers=6,
        n_ff_dense=12288,
        **_TRINITY,
        source=HF + "arcee-ai/Trinity-Large/blob/main/config.json",
    ),
    # Nemotron 3: Nemotron-H with mixtures of experts ("E": up and down projections, squared
    # ReLU, a shared expert beside them); 2688 is no multiple of 256, so 30B-A3B falls back to
    # legacy types in K-quants. Super's experts work in a 1,024-wide latent space. The Hub's
    # files leave out the prediction layer.
    F(
        "Nemotron 3 Nano 30B-A3B",
        NEMOTRON3,
        31.58,
        52,
        2688,
        32,
        2,
        128,
        131072,
        1856,
        262144,
        stated_b=30,
        expert_count=128,
        expert_used=6,
        n_ff_shared=3712,
        size_word="omni",  # Nemotron 3 Nano Omni comes in this size only
        layout="MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME",
        ssm_inner=4096,
        ssm_heads=64,
        **_NEMOTRON_H_MAMBA,
        source=HF + "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16/blob/main/config.json",
    ),
    F(
        "Nemotron 3 Nano 4B",
        NEMOTRON3,
        3.97,
        42,
        3136,
        40,
        8,
        128,
        131072,
        12544,
        262144,
        stated_b=4,
        layout="M-M-M-MM-M-M*-M-M*-M-M-M*-M-M-MM*-MMM-M-M-",
        ssm_inner=7680,
        ssm_heads=96,
        **_NEMOTRON_H_MAMBA,
        source=HF + "nvidia/NVIDIA-Nemotron-3-Nano-4B-BF16/blob/main/config.json",
    ),
    F(
        "Nemotron 3 Super 120B-A12B",
        NEMOTRON3,
        120.67,
        88,
        4096,
        32,
        2,
        128,
        131072,
        2688,
        262144,
        stated_b=120,
        expert_count=512,
        expert_used=22,
        n_ff_shared=5376,
        moe_latent=1024,
        layout="MEMEMEM*EMEMEMEM*EMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEMEM*EMEMEMEM*EMEMEMEME",
        ssm_inner=8192,
        ssm_heads=128,
        **_NEMOTRON_H_MAMBA,
        source=HF + "nvidia/NVIDIA-Nemotron-3-Super-120B-A12B-BF16/blob/main/config.json",
    ),
    # Falcon-H1: a Mamba-2 mixer beside attention and the FFN in every layer.
    F(
        "Falcon-H1 0.5B",
        FALCONH1,
        0.521,
        36,
        1024,
        8,
        2,
        64,
        32784,
        2048,
        16384,
        stated_b=0.5,
        ssm_parallel=True,
        ssm_inner=1536,
        ssm_heads=24,
        ssm_state=128,
        source=HF + "tiiuae/Falcon-H1-0.5B-Instruct/blob/main/config.json",
    ),
    F(
        "Falcon-H1 1.5B",
        FALCONH1,
        1.555,
        24,
        2048,
        8,
        2,
        128,
        65537,
        4608,
        131072,
        stated_b=1.5,
        ssm_parallel=True,
        ssm_inner=3072,
        ssm_heads=48,
        ssm_state=256,
        source=HF + "tiiuae/Falcon-H1-1.5B-Instruct/blob/main/config.json",
    ),
    F(
        "Falcon-H1 3B",
        FALCONH1,
        3.149,
        32,
        2560,
        10,
        2,
        128,
        65536,
        6144,
        131072,
        stated_b=3,
        ssm_parallel=True,
        ssm_inner=4096,
        ssm_heads=32,
        ssm_state=256,
        source=HF + "tiiuae/Falcon-H1-3B-Instruct/blob/main/config.json",
    ),
    F(
        "Falcon-H1 7B",
        FALCONH1,
        7.586,
        44,
        3072,
        12,
        2,
        128,
        130049,
        12288,
        262144,
        stated_b=7,
        ssm_parallel=True,
        ssm_inner=3072,
        ssm_heads=24,
        ssm_state=256,
        source=HF + "tiiuae/Falcon-H1-7B-Instruct/blob/main/config.json",
    ),
    F(
        "Falcon-H1 34B",
        FALCONH1,
        33.64,
        72,
        5120,
        20,
        4,
        128,
        261120,
        21504,
        262144,
        stated_b=34,
        ssm_parallel=True,
        ssm_inner=4096,
        ssm_heads=32,
        ssm_state=256,
        ssm_groups=2,
        source=HF + "tiiuae/Falcon-H1-34B-Instruct/blob/main/config.json",
    ),
    # Jamba 1.5 / 1.6 / 1.7 Mini: Mamba-1 mixers but for attention in one layer of eight, and 16
    # experts (2 used) in every other layer.
    F(
        "Jamba Mini 52B-A12B",
        r"jamba(?!-?reasoning)",
        51.57,
        32,
        4096,
        32,
        8,
        128,
        65536,
        14336,
        262144,
        stated_b=52,
        expert_count=16,
        expert_used=2,
        n_ff_dense=14336,
        moe_period=2,
        moe_offset=1,
        attn_period=8,
        attn_offset=4,
        ssm_inner=8192,
        ssm_state=16,
        ssm_dt_rank=256,
        source=HF + "ai21labs/AI21-Jamba-1.5-Mini/blob/main/config.json",
    ),
    F(
        "Falcon 7B",
        FALCON,
        7.22,
        32,
        4544,
        71,
        1,
        64,
        65024,
        18176,
        2048,
        stated_b=7,
        fused_qkv=True,
        gated=False,
        source=HF + "tiiuae/falcon-7b-instruct/blob/main/config.json",
    ),
    F(
        "StarCoder2 3B",
        STARCODER2,
        3.03,
        30,
        3072,
        24,
        2,
        128,
        49152,
        12288,
        16384,
        stated_b=3,
        gated=False,
        tied=True,
        source=HF + "bigcode/starcoder2-3b/blob/main/config.json",
    ),
    F(
        "StarCoder2 7B",
        STARCODER2,
        7.17,
        32,
        4608,
        36,
        4,
        128,
        49152,
        18432,
        16384,
        stated_b=7,
        gated=False,
        tied=True,
        source=HF + "bigcode/starcoder2-7b/blob/main/config.json",
    ),
    F(
        "Yi 1.5 9B",
        r"(^|-)yi(-1\.5)?$",
        8.83,
        48,
        4096,
        32,
        4,
        128,
        64000,
        11008,
        4096,
        stated_b=9,
        source=HF + "01-ai/Yi-1.5-9B-Chat/blob/main/config.json",
    ),
    # GLM-4 (ChatGLM's glm-4-9b-chat: one fused QKV tensor) and GLM-4-0414 (separate q, k, v):
    # gate and up projections in one ffn_up tensor. 13696 is no multiple of 256: its ffn_down
    # falls back to a legacy type in K-quants.
    F(
        "GLM-4 9B",
        GLM4,
        9.40,
        40,
        4096,
        32,
        2,
        128,
        151552,
        13696,
        131072,
        stated_b=9,
        fused_qkv=True,
        fused_up=True,
        source=HF + "THUDM/glm-4-9b-chat/blob/main/config.json",
    ),
    F(
        "GLM-4 32B",
        GLM4,
        32.57,
        61,
        6144,
        48,
        2,
        128,
        151552,
        23040,
        32768,
        stated_b=32,
        fused_up=True,
        source=HF + "THUDM/GLM-4-32B-0414/blob/main/config.json",
    ),
    # GLM-4.5 and 4.6: llama.cpp keeps the multi-token-prediction layer (with an embedding and
    # head of its own in 4.5 and 4.5-Air), so the GGUF holds 110.5 B and 358.3 B, not the 106 B
    # and 355 B of the names.
    F(
        "GLM-4.5-Air 106B-A12B",
        r"glm-?4[.-]5-?air",
        110.47,
        46,
        4096,
        96,
        8,
        128,
        151552,
        1408,
        131072,
        stated_b=106,
        expert_count=128,
        expert_used=8,
        n_ff_shared=1408,
        dense_layers=1,
        n_ff_dense=10944,
        nextn=1,
        nextn_vocab=True,
        source=HF + "zai-org/GLM-4.5-Air/blob/main/config.json",
    ),
    F(
        "GLM-4.5 355B-A32B",
        r"glm-?4[.-]5(?!-?air|v)",
        358.34,
        92,
        5120,
        96,
        8,
        128,
        151552,
        1536,
        131072,
        stated_b=355,
        expert_count=160,
        expert_used=8,
        n_ff_shared=1536,
        dense_layers=3,
        n_ff_dense=12288,
        nextn=1,
        nextn_vocab=True,
        source=HF + "zai-org/GLM-4.5/blob/main/config.json",
    ),
    F(
        "GLM-4.6 / 4.7 355B-A32B",
        r"glm-?4[.-][67](?!v|-?flash)",
        356.79,
        92,
        5120,
        96,
        8,
        128,
        151552,
        1536,
        202752,
        stated_b=355,
        expert_count=160,
        expert_used=8,
        n_ff_shared=1536,
        dense_layers=3,
        n_ff_dense=12288,
        nextn=1,
        source=HF + "zai-org/GLM-4.6/blob/main/config.json",
    ),
    # GLM-4.7-Flash: DeepSeek-V2's latent attention (llama.cpp converts it as deepseek2) with
    # 192-wide key heads and 256-wide value heads; the Hub's files leave out its prediction layer.
    F(
        "GLM-4.7-Flash 30B-A3B",
        r"glm-?4[.-]7-?flash",
        29.94,
        47,
        2048,
        20,
        20,
        192,
        154880,
        1536,
        202752,
        stated_b=30,
        expert_count=64,
        expert_used=4,
        n_ff_shared=1536,
        dense_layers=1,
        n_ff_dense=10240,
        kv_lora=512,
        q_lora=768,
        rope_dim=64,
        v_head_dim=256,
        source=HF + "zai-org/GLM-4.7-Flash/blob/main/config.json",
    ),
    # Gemma 3n's text model (the vision and audio towers go to the mmproj file): "E2B" and "E4B"
    # are effective sizes; the GGUF holds 4.46 B and 6.87 B, 2.0 B and 2.3 B of them the
    # per-layer embedding table.
    F(
        "Gemma 3n E2B",
        r"gemma-?3n",
        4.456,
        30,
        2048,
        8,
        2,
        256,
        262400,
        8192,
        32768,
        sliding_window=512,
        swa_pattern=5,
        tied=True,
        per_layer_dim=256,
        n_vocab_per_layer=262144,
        altup=4,
        laurel_rank=64,
        kv_shared_layers=10,
        effective_b=2,
        source=HF + "google/gemma-3n-E2B-it/blob/main/config.json",
    ),
    F(
        "Gemma 3n E4B",
        r"gemma-?3n",
        6.867,
        35,
        2048,
        8,
        2,
        256,
        262400,
        16384,
        32768,
        sliding_window=512,
        swa_pattern=5,
        tied=True,
        per_layer_dim=256,
        n_vocab_per_layer=262144,
        altup=4,
        laurel_rank=64,
        kv_shared_layers=15,
        effective_b=4,
        source=HF + "google/gemma-3n-E4B-it/blob/main/config.json",
    ),
    # Gemma 4: five sliding-window layers to one full-attention layer (four to one in E2B), whose
    # heads are 512 wide; in 12B, 26B-A4B and 31B their keys double as values. E2B and E4B have
    # Gemma 3n's per-layer embeddings (without AltUp and LAuReL) and KV-shared last layers, which
    # hold no k and v weights; E2B's shared layers have FFNs twice as wide. 26B-A4B runs a dense
    # FFN beside its 128 experts in every layer. The totals leave out the vision and audio
    # encoders (the mmproj file): E2B's "5.1B" is 4.63 B here, E4B's "8B" 7.46 B.
    F(
        "Gemma 4 E2B",
        GEMMA4,
        4.63,
        35,
        1536,
        8,
        1,
        256,
        262144,
        6144,
        131072,
        swa_pattern=5,
        kv_shared_layers=20,
        double_wide=True,
        stated_b=5.1,
        effective_b=2,
        **_GEMMA4,
        **_GEMMA4_E,
        source=HF + "google/gemma-4-E2B-it/blob/main/config.json",
    ),
    F(
        "Gemma 4 E4B",
        GEMMA4,
        7.46,
        42,
        2560,
        8,
        2,
        256,
        262144,
        10240,
        131072,
        swa_pattern=6,
        kv_shared_layers=18,
        stated_b=8,
        effective_b=4,
        **_GEMMA4,
        **_GEMMA4_E,
        source=HF + "google/gemma-4-E4B-it/blob/main/config.json",
    ),
    F(
        "Gemma 4 12B",
        GEMMA4,
        11.91,
        48,
        3840,
        16,
        8,
        256,
        262144,
        15360,
        262144,
        global_kv_heads=1,
        stated_b=12,
        **_GEMMA4,
        **_GEMMA4_WIDE,
        source=HF + "google/gemma-4-12B-it/blob/main/config.json",
    ),
    F(
        "Gemma 4 26B-A4B",
        GEMMA4,
        25.23,
        30,
        2816,
        16,
        8,
        256,
        262144,
        704,
        262144,
        global_kv_heads=2,
        expert_count=128,
        expert_used=8,
        n_ff_shared=2112,
        stated_b=26,
        **_GEMMA4,
        **_GEMMA4_WIDE,
        source=HF + "google/gemma-4-26B-A4B-it/blob/main/config.json",
    ),
    F(
        "Gemma 4 31B",
        GEMMA4,
        30.70,
        60,
        5376,
        32,
        16,
        256,
        262144,
        21504,
        262144,
        global_kv_heads=4,
        stated_b=31,
        **_GEMMA4,
        **_GEMMA4_WIDE,
        source=HF + "google/gemma-4-31B-it/blob/main/config.json",
    ),
    # Qwen3.5 and Qwen3.6: Gated DeltaNet linear attention in three layers of four, gated full
    # attention in the fourth (heads of 256); the small sizes tie their embeddings. Counts are the
    # text model's (the vision tower is the mmproj file) without the multi-token-prediction layer,
    # which the Hub's files leave out unless their name says MTP. Qwen3.6 27B and 35B-A3B have
    # Qwen3.5's shapes; Qwen3-Next (and Qwen3-Coder-Next) is the 80B-A3B they grew from.
    F(
        "Qwen3.5 0.8B",
        Q35,
        0.752,
        24,
        1024,
        8,
        2,
        256,
        248320,
        3584,
        262144,
        lin_v_heads=16,
        tied=True,
        stated_b=0.8,
        **_GDN,
        source=HF + "Qwen/Qwen3.5-0.8B/blob/main/config.json",
    ),
    F(
        "Qwen3.5 2B",
        Q35,
        1.882,
        24,
        2048,
        8,
        2,
        256,
        248320,
        6144,
        262144,
        lin_v_heads=16,
        tied=True,
        stated_b=2,
        **_GDN,
        source=HF + "Qwen/Qwen3.5-2B/blob/main/config.json",
    ),
    F(
        "Qwen3.5 4B",
        Q35,
        4.206,
        32,
        2560,
        16,
        4,
        256,
        248320,
        9216,
        262144,
        lin_v_heads=32,
        tied=True,
        stated_b=4,
        **_GDN,
        source=HF + "Qwen/Qwen3.5-4B/blob/main/config.json",
    ),
    F(
        "Qwen3.5 9B",
        Q35,
        8.954,
        32,
        4096,
        16,
        4,
        256,
        248320,
        12288,
        262144,
        lin_v_heads=32,
        stated_b=9,
        **_GDN,
        source=HF + "Qwen/Qwen3.5-9B/blob/main/config.json",
    ),
    F(
        "Qwen3.5 / 3.6 27B",
        Q35,
        26.9,
        64,
        5120,
        24,
        4,
        256,
        248320,
        17408,
        262144,
        lin_v_heads=48,
        stated_b=27,
        **_GDN,
        source=HF + "Qwen/Qwen3.6-27B/blob/main/config.json",
    ),
    F(
        "Qwen3.5 / 3.6 35B-A3B",
        Q35,
        34.66,
        40,
        2048,
        16,
        2,
        256,
        248320,
        512,
        262144,
        lin_v_heads=32,
        expert_count=256,
        expert_used=8,
        n_ff_shared=512,
        stated_b=35,
        **_GDN,
        source=HF + "Qwen/Qwen3.6-35B-A3B/blob/main/config.json",
    ),
    F(
        "Qwen3.5 122B-A10B",
        Q35,
        122.1,
        48,
        3072,
        32,
        2,
        256,
        248320,
        1024,
        262144,
        lin_v_heads=64,
        expert_count=256,
        expert_used=8,
        n_ff_shared=1024,
        stated_b=122,
        **_GDN,
        source=HF + "Qwen/Qwen3.5-122B-A10B/blob/main/config.json",
    ),
    F(
        "Qwen3.5 397B-A17B",
        Q35,
        396.3,
        60,
        4096,
        32,
        2,
        256,
        248320,
        1024,
        262144,
        lin_v_heads=64,
        expert_count=512,
        expert_used=10,
        n_ff_shared=1024,
        stated_b=397,
        **_GDN,
        source=HF + "Qwen/Qwen3.5-397B-A17B/blob/main/config.json",
    ),
    F(
        "Qwen3-Next 80B-A3B",
        Q3NEXT,
        79.67,
        48,
        2048,
        16,
        2,
        256,
        151936,
        512,
        262144,
        lin_v_heads=32,
        expert_count=512,
        expert_used=10,
        n_ff_shared=512,
        stated_b=80,
        **_GDN,
        source=HF + "Qwen/Qwen3-Next-80B-A3B-Instruct/blob/main/config.json",
    ),
    # LFM2: short-convolution layers and a few attention layers; the FFN width is the config's
    # intermediate_size x 2/3 rounded up to 256 (block_auto_adjust_ff_dim).
    F(
        "LFM2 350M",
        LFM2,
        0.354,
        16,
        1024,
        16,
        8,
        64,
        65536,
        4608,
        128000,
        stated_b=0.35,
        tied=True,
        conv_layers=10,
        source=HF + "LiquidAI/LFM2-350M/blob/main/config.json",
    ),
    F(
        "LFM2 700M",
        LFM2,
        0.742,
        16,
        1536,
        24,
        8,
        64,
        65536,
        6912,
        128000,
        stated_b=0.7,
        tied=True,
        conv_layers=10,
        source=HF + "LiquidAI/LFM2-700M/blob/main/config.json",
    ),
    F(
        "LFM2 1.2B",
        LFM2,
        1.170,
        16,
        2048,
        32,
        8,
        64,
        65536,
        8192,
        128000,
        stated_b=1.2,
        tied=True,
        conv_layers=10,
        source=HF + "LiquidAI/LFM2-1.2B/blob/main/config.json",
    ),
    F(
        "LFM2 2.6B",
        LFM2,
        2.569,
        30,
        2048,
        32,
        8,
        64,
        65536,
        10752,
        128000,
        stated_b=2.6,
        tied=True,
        conv_layers=22,
        source=HF + "LiquidAI/LFM2-2.6B/blob/main/config.json",
    ),
    F(
        "LFM2 8B-A1B",
        LFM2,
        8.34,
        24,
        2048,
        32,
        8,
        64,
        65536,
        1792,
        128000,
        stated_b=8,
        tied=True,
        conv_layers=18,
        expert_count=32,
        expert_used=4,
        dense_layers=2,
        n_ff_dense=7168,
        source=HF + "LiquidAI/LFM2-8B-A1B/blob/main/config.json",
    ),
    # LFM2.5: 350M and 1.2B have LFM2's shapes (below); 2.6B and 8B-A1B LFM2's with a
    # 128,000-token vocabulary; 230M is new: 8 convolution and 6 attention layers.
    F(
        "LFM2.5 230M",
        LFM25,
        0.2297,
        14,
        1024,
        16,
        8,
        64,
        65536,
        2560,
        32768,
        stated_b=0.23,
        tied=True,
        conv_layers=8,
        source=HF + "LiquidAI/LFM2.5-230M/blob/main/config.json",
    ),
    # MiniCPM5: plain Llama shapes with a 130,560-token vocabulary, not tied.
    F(
        "MiniCPM5 1B",
        r"minicpm-?5",
        1.081,
        24,
        1536,
        16,
        2,
        128,
        130560,
        4608,
        131072,
        stated_b=1,
        source=HF + "openbmb/MiniCPM5-1B/blob/main/config.json",
    ),
    F(
        "MiniCPM5 2B",
        r"minicpm-?5",
        2.517,
        42,
        2048,
        16,
        2,
        128,
        130560,
        6144,
        131072,
        stated_b=2,
        source=HF + "openbmb/MiniCPM5-2B/blob/main/config.json",
    ),
    F(
        "Seed-OSS 36B",
        r"seed-?oss",
        36.15,
        64,
        5120,
        80,
        8,
        128,
        155136,
        27648,
        524288,
        stated_b=36,
        source=HF + "ByteDance-Seed/Seed-OSS-36B-Instruct/blob/main/config.json",
    ),
    F(
        "ERNIE 4.5 0.3B",
        ERNIE,
        0.36,
        18,
        1024,
        16,
        2,
        128,
        103424,
        3072,
        131072,
        stated_b=0.3,
        tied=True,
        source=HF + "baidu/ERNIE-4.5-0.3B-PT/blob/main/config.json",
    ),
    F(
        "ERNIE 4.5 21B-A3B",
        ERNIE,
        21.83,
        28,
        2560,
        20,
        4,
        128,
        103424,
        1536,
        131072,
        stated_b=21,
        expert_count=64,
        expert_used=6,
        n_ff_shared=3072,
        dense_layers=1,
        n_ff_dense=12288,
        tied=True,
        source=HF + "baidu/ERNIE-4.5-21B-A3B-PT/blob/main/config.json",
    ),
    F(
        "ERNIE 4.5 300B-A47B",
        ERNIE,
        299.5,
        54,
        8192,
        64,
        8,
        128,
        103424,
        3584,
        131072,
        stated_b=300,
        expert_count=64,
        expert_used=8,
        dense_layers=3,
        n_ff_dense=28672,
        source=HF + "baidu/ERNIE-4.5-300B-A47B-PT/blob/main/config.json",
    ),
    F(
        "Hunyuan 1.8B",
        HUNYUAN,
        1.79,
        32,
        2048,
        16,
        4,
        128,
        120818,
        6144,
        32768,
        stated_b=1.8,
        tied=True,
        source=HF + "tencent/Hunyuan-1.8B-Instruct/blob/main/config.json",
    ),
    F(
        "Hunyuan 7B",
        HUNYUAN,
        7.50,
        32,
        4096,
        32,
        8,
        128,
        128167,
        14336,
        32768,
        stated_b=7,
        tied=True,
        source=HF + "tencent/Hunyuan-7B-Instruct/blob/main/config.json",
    ),
    F(
        "Hunyuan A13B",
        HUNYUAN,
        80.39,
        32,
        4096,
        32,
        8,
        128,
        128167,
        3072,
        32768,
        stated_b=80,
        expert_count=64,
        expert_used=8,
        n_ff_shared=3072,
        tied=True,
        source=HF + "tencent/Hunyuan-A13B-Instruct/blob/main/config.json",
    ),
    F(
        "MiniMax-M2 230B-A10B",
        r"minimax-?m2",
        228.7,
        62,
        3072,
        48,
        8,
        128,
        200064,
        1536,
        196608,
        stated_b=230,
        expert_count=256,
        expert_used=8,
        source=HF + "MiniMaxAI/MiniMax-M2/blob/main/config.json",
    ),
]


def _alike(label: str, like: str, pattern: str, source: str, **changes: object) -> Family:
    """A row with another row's shape (a vision model's language model), changed as given."""
    base = next(f for f in FAMILIES if f.label == like)
    return replace(base, label=label, pattern=pattern, source=HF + source, **changes)  # type: ignore[arg-type]


# Vision models whose language model is a known family's (the vision tower is a separate mmproj
# file). Qwen2-VL "2B" is Qwen2-1.5B's, "7B" Qwen2-7B's. SmolVLM "256M", "500M" and "2.2B" are
# SmolLM2 135M's, 360M's and 1.7B's with a vocabulary of 49,280 and an output layer of their own
# (not tied: ggml-org's 500M Q8_0 is 437 MB).
# Qwen3-Embedding's checkpoints are the bare Qwen3 model: no output layer in any size, even 8B
# (whose Qwen3 ties nothing); vocabularies as their configs give them.
_EMBEDDING = {"tied": True, "gguf_output": False}
_SMOLVLM = {"n_vocab": 49280, "tied": False}
FAMILIES += [
    _alike(
        "Qwen2-VL 2B",
        "Qwen2 1.5B",
        r"qwen-?2-?vl",
        "Qwen/Qwen2-VL-2B-Instruct/blob/main/config.json",
        stated_b=2,
    ),
    _alike(
        "Qwen2-VL 7B", "Qwen2 7B", r"qwen-?2-?vl", "Qwen/Qwen2-VL-7B-Instruct/blob/main/config.json"
    ),
    # Qwen3-VL's language models are Qwen3's (the vision tower and DeepStack mergers are the
    # mmproj file): "2B" is Qwen3 1.7B's shape, the others the Qwen3 size they are named.
    *(
        _alike(
            f"Qwen3-VL {size}",
            like,
            r"qwen-?3-?vl",
            f"Qwen/Qwen3-VL-{size}-Instruct/blob/main/config.json",
            **extra,
        )
        for size, like, extra in [
            ("2B", "Qwen3 1.7B", {"stated_b": 2, "gguf_output": False}),  # no output tensor
            ("4B", "Qwen3 4B", {}),
            ("8B", "Qwen3 8B", {}),
            ("32B", "Qwen3 32B", {}),
            ("30B-A3B", "Qwen3 30B-A3B", {}),
            ("235B-A22B", "Qwen3 235B-A22B", {}),
        ]
    ),
    # LFM2-VL's language models are LFM2's: "1.6B" is LFM2 1.2B's, "450M" LFM2 350M's (the
    # SigLIP2 tower is the mmproj file).
    _alike(
        "LFM2-VL 450M",
        "LFM2 350M",
        r"lfm-?2-?vl",
        "LiquidAI/LFM2-VL-450M/blob/main/config.json",
        stated_b=0.45,
    ),
    _alike(
        "LFM2-VL 1.6B",
        "LFM2 1.2B",
        r"lfm-?2-?vl",
        "LiquidAI/LFM2-VL-1.6B/blob/main/config.json",
        stated_b=1.6,
    ),
    # Cohere's models of one shape: Aya 23 35B is Command R's; Aya Expanse 8B is Aya 23 8B's,
    # and so is Command R7B, sliding a 4,096-token window in three layers of four ("7B" without
    # its 1.05 B of tied embeddings: llama.cpp counts 8.03 B).
    _alike(
        "Aya 23 35B",
        "Command R 35B",
        AYA23,
        "CohereForAI/aya-23-35B/blob/main/config.json",
        n_ctx_train=8192,
    ),
    _alike("Aya Expanse 8B", "Aya 23 8B", AYAX, "CohereForAI/aya-expanse-8b/blob/main/config.json"),
    _alike(
        "Command R7B",
        "Aya 23 8B",
        r"command-?r-?7b",
        "CohereForAI/c4ai-command-r7b-12-2024/blob/main/config.json",
        stated_b=7,
        n_ctx_train=131072,
        sliding_window=4096,
        swa_pattern=4,
    ),
    _alike(
        "Qwen3-Embedding 0.6B",
        "Qwen3 0.6B",
        r"qwen-?3-?embedding",
        "Qwen/Qwen3-Embedding-0.6B/blob/main/config.json",
        params_b=0.596,
        n_vocab=151669,
        **_EMBEDDING,
    ),
    _alike(
        "Qwen3-Embedding 4B",
        "Qwen3 4B",
        r"qwen-?3-?embedding",
        "Qwen/Qwen3-Embedding-4B/blob/main/config.json",
        params_b=4.02,
        n_vocab=151665,
        **_EMBEDDING,
    ),
    _alike(
        "Qwen3-Embedding 8B",
        "Qwen3 8B",
        r"qwen-?3-?embedding",
        "Qwen/Qwen3-Embedding-8B/blob/main/config.json",
        params_b=7.57,
        n_vocab=151665,
        **_EMBEDDING,
    ),
    _alike(
        "SmolVLM 256M",
        "SmolLM2 135M",
        r"smolvlm",
        "HuggingFaceTB/SmolVLM-256M-Instruct/blob/main/config.json",
        params_b=0.163,
        stated_b=0.256,
        **_SMOLVLM,
    ),
    _alike(
        "SmolVLM 500M",
        "SmolLM2 360M",
        r"smolvlm",
        "HuggingFaceTB/SmolVLM-500M-Instruct/blob/main/config.json",
        params_b=0.409,
        stated_b=0.5,
        **_SMOLVLM,
    ),
    _alike(
        "SmolVLM 2.2B",
        "SmolLM2 1.7B",
        r"smolvlm",
        "HuggingFaceTB/SmolVLM2-2.2B-Instruct/blob/main/config.json",
        params_b=1.81,
        stated_b=2.2,
        n_ctx_train=16384,
        **_SMOLVLM,
    ),
    # LFM2.5: 350M and 1.2B are LFM2's shapes, 2.6B and 8B-A1B LFM2's with a 128,000-token
    # vocabulary. LFM2.5-VL's language models: "450M" is LFM2.5 350M's, "1.6B" 1.2B's, "3B"
    # 2.6B's.
    _alike("LFM2.5 350M", "LFM2 350M", LFM25, "LiquidAI/LFM2.5-350M/blob/main/config.json"),
    _alike(
        "LFM2.5 1.2B", "LFM2 1.2B", LFM25, "LiquidAI/LFM2.5-1.2B-Instruct/blob/main/config.json"
    ),
    _alike(
        "LFM2.5 2.6B",
        "LFM2 2.6B",
        LFM25,
        "LiquidAI/LFM2.5-2.6B/blob/main/config.json",
        params_b=2.697,
        n_vocab=128000,
    ),
    _alike(
        "LFM2.5 8B-A1B",
        "LFM2 8B-A1B",
        LFM25,
        "LiquidAI/LFM2.5-8B-A1B/blob/main/config.json",
        params_b=8.468,
        n_vocab=128000,
    ),
    *(
        _alike(
            f"LFM2.5-VL {size}",
            like,
            r"lfm-?2[.-]5-?vl",
            f"LiquidAI/LFM2.5-VL-{size}/blob/main/config.json",
            stated_b=stated,
            **extra,
        )
        for size, like, stated, extra in [
            ("450M", "LFM2 350M", 0.45, {}),
            ("1.6B", "LFM2 1.2B", 1.6, {}),
            ("3B", "LFM2 2.6B", 3, {"params_b": 2.697, "n_vocab": 128000}),
        ]
    ),
    _alike(
        "LFM2.5-Audio 1.5B",
        "LFM2 1.2B",
        r"lfm-?2[.-]5-?audio",
        "LiquidAI/LFM2.5-Audio-1.5B/blob/main/config.json",
        stated_b=1.5,
    ),
    _alike(
        "LFM2-VL 3B",
        "LFM2 2.6B",
        r"lfm-?2-?vl",
        "LiquidAI/LFM2-VL-3B/blob/main/config.json",
        stated_b=3,
    ),
    # GLM-4.5V and 4.6V's language model is GLM-4.5-Air's (without its prediction layer);
    # GLM-4.1V-9B's and GLM-4.6V-Flash's GLM-4-0414's 9B shape, q, k and v apart.
    _alike(
        "GLM-4.5V / 4.6V 106B-A12B",
        "GLM-4.5-Air 106B-A12B",
        r"glm-?4[.-][56]-?v(?!-?flash)",
        "zai-org/GLM-4.6V/blob/main/config.json",
        params_b=106.9,
        nextn=0,
        nextn_vocab=False,
    ),
    _alike(
        "GLM-4.1V / 4.6V-Flash 9B",
        "GLM-4 9B",
        r"glm-?4[.-](1v|6v-?flash)",
        "zai-org/GLM-4.6V-Flash/blob/main/config.json",
        fused_qkv=False,
    ),
    # Jan's models: Jan-v1 (4B, and its 2509 update) is Qwen3 4B's shape, Jan-v1-edge Qwen3
    # 1.7B's with the embeddings tied; their names give no size.
    _alike(
        "Jan-v1 4B", "Qwen3 4B", r"jan-?v1(?!-?edge)", "janhq/Jan-v1-2509/blob/main/config.json"
    ),
    _alike(
        "Jan-v1-edge 1.7B",
        "Qwen3 1.7B",
        r"jan-?v1-?edge",
        "janhq/Jan-v1-edge/blob/main/config.json",
        gguf_output=False,  # Jan's files keep the tie (janhq/Jan-v1-edge-gguf: Q8_0 1.83 GB)
    ),
    _alike(
        "LFM2-Audio 1.5B",
        "LFM2 1.2B",
        r"lfm-?2-?audio",
        "LiquidAI/LFM2-Audio-1.5B/blob/main/config.json",
        stated_b=1.5,
    ),
    # InternVL2.5's Qwen2.5-based sizes: "1B" is Qwen2.5 0.5B's, "4B" 3B's, "38B" 32B's, "78B"
    # 72B's, with InternVL's 151,674-token vocabulary and an output layer of their own.
    *(
        _alike(
            f"InternVL2.5 {size}",
            like,
            r"internvl-?2[._-]?5",
            f"OpenGVLab/InternVL2_5-{size}/blob/main/config.json",
            stated_b=stated,
            n_vocab=151674,
            tied=False,
            **extra,
        )
        for size, like, stated, extra in [
            ("1B", "Qwen2.5 0.5B", 1, {"params_b": 0.630}),
            ("4B", "Qwen2.5 3B", 4, {"params_b": 3.40}),
            ("38B", "Qwen2.5 32B", 38, {}),
            ("78B", "Qwen2.5 72B", 78, {}),
        ]
    ),
    # MiniCPM-V 2.6's language model is Qwen2 7B's; 4.6's Qwen3.5 0.8B's with a 248,094-token
    # vocabulary.
    _alike(
        "MiniCPM-V 2.6",
        "Qwen2 7B",
        r"minicpm-?v-?2[._-]?6",
        "openbmb/MiniCPM-V-2_6/blob/main/config.json",
        stated_b=8,
    ),
    _alike(
        "MiniCPM-V 4.6",
        "Qwen3.5 0.8B",
        r"minicpm-?v-?4[._-]?6",
        "openbmb/MiniCPM-V-4.6/blob/main/config.json",
        n_vocab=248094,
        stated_b=1.3,
    ),
    # InternVL3's language models are Qwen2.5's with a 151,674-token vocabulary and an output
    # layer of their own; InternVL3.5's are Qwen3's, untied. Each is named for its size with the
    # vision tower ("1B" is Qwen2.5 0.5B's, "38B" Qwen2.5 32B's).
    *(
        _alike(
            f"InternVL3 {size}",
            like,
            r"internvl-?3(?![._-]?5)",
            f"OpenGVLab/InternVL3-{size}/blob/main/config.json",
            stated_b=stated,
            n_vocab=151674,
            tied=False,
            **extra,
        )
        for size, like, stated, extra in [
            ("1B", "Qwen2.5 0.5B", 1, {"params_b": 0.630}),
            ("2B", "Qwen2.5 1.5B", 2, {"params_b": 1.776}),
            ("8B", "Qwen2.5 7B", 8, {}),
            ("14B", "Qwen2.5 14B", 14, {}),
            ("38B", "Qwen2.5 32B", 38, {}),
            ("78B", "Qwen2.5 72B", 78, {}),
        ]
    ),
    *(
        _alike(
            f"InternVL3.5 {size}",
            like,
            r"internvl-?3[._-]?5",
            f"OpenGVLab/InternVL3_5-{size}/blob/main/config.json",
            stated_b=stated,
            tied=False,
            **extra,
        )
        for size, like, stated, extra in [  # the small ones untie Qwen3's embeddings
            ("1B", "Qwen3 0.6B", 1, {"params_b": 0.752}),
            ("2B", "Qwen3 1.7B", 2, {"params_b": 2.032}),
            ("4B", "Qwen3 4B", 4, {"params_b": 4.411}),
            ("8B", "Qwen3 8B", 8, {}),
            ("14B", "Qwen3 14B", 14, {}),
            ("38B", "Qwen3 32B", 38, {}),
            ("30B-A3B", "Qwen3 30B-A3B", 30, {}),
        ]
    ),
]


@dataclass(frozen=True)
class Group:
    """Tensors of one role in one layer: ``count`` matrices of ``rows`` x ``cols`` (cols is the
    dimension a quant's blocks run along, ggml's ne[0])."""

    role: str
    layer: int  # -1 outside the repeating layers
    rows: int
    cols: int
    count: int = 1  # experts

    @property
    def n_elements(self) -> int:
        return self.rows * self.cols * self.count


def has_attention(f: Family, il: int) -> bool:
    """Whether layer ``il`` has attention (and so a KV cache) rather than a recurrent or
    convolution mixer."""
    if f.layout:
        return f.layout[il] == "*"
    if f.attn_period:
        return il % f.attn_period == f.attn_offset
    if f.linear_interval and il < f.n_layer:
        return (il + 1) % f.linear_interval == 0
    return not (il < f.ssm_layers or il < f.conv_layers)


def is_global(f: Family, il: int) -> bool:
    """Whether layer ``il`` attends to the whole context when the others slide a window."""
    if not f.swa_pattern:
        return False
    return il % f.swa_pattern == (0 if f.global_first else f.swa_pattern - 1)


def _kv_shared(f: Family, il: int) -> bool:
    return il >= f.n_layer - f.kv_shared_layers


def _has_ssm(f: Family, il: int) -> bool:
    if f.layout:
        return f.layout[il] == "M"
    return f.ssm_parallel or il < f.ssm_layers or (bool(f.attn_period) and not has_attention(f, il))


def _ssm_groups(f: Family, il: int) -> tuple[list[Group], int]:
    """A Mamba mixer's matrices, and its F32 vectors' elements (conv, A, D, dt, norms)."""
    d, di, n = f.n_embd, f.ssm_inner, f.ssm_state
    if f.ssm_dt_rank:  # Mamba-1: in, x, dt and out projections
        r = f.ssm_dt_rank
        groups = [Group("other", il, 2 * di, d), Group("other", il, r + 2 * n, di)]
        groups += [Group("other", il, di, r), Group("other", il, d, di)]
        return groups, 5 * di + n * di + 2 * di + r + 2 * n
    gn, h = 2 * f.ssm_groups * n, f.ssm_heads
    return [Group("other", il, 2 * di + gn + h, d), Group("other", il, d, di)], (
        5 * (di + gn) + 3 * h + di
    )


def _mixer_groups(f: Family, il: int) -> tuple[list[Group], int]:
    """Layer ``il``'s token mixer (attention of some kind, a convolution, linear attention; a
    Mamba mixer is ``_ssm_groups``'s), and its vectors' elements beyond the two norms."""
    d, hd = f.n_embd, f.head_dim
    out: list[Group] = []
    vectors = 0
    if f.kv_lora:  # DeepSeek's multi-head latent attention
        qk = f.head_dim + f.rope_dim
        if f.q_lora:  # attn_q_a, then attn_q_b
            out += [Group("other", il, f.q_lora, d)]
            out += [Group("other", il, f.n_head * qk, f.q_lora)]
            vectors += f.q_lora
        else:
            out += [Group("attn_q", il, f.n_head * qk, d)]
        hv = f.v_head_dim or hd
        out += [
            Group("other", il, f.kv_lora + f.rope_dim, d),
            Group("other", il, f.n_head * (f.head_dim + hv), f.kv_lora),
            Group("attn_output", il, d, f.n_head * hv),
        ]
        return out, vectors + f.kv_lora
    if il < f.conv_layers:  # LFM2's short convolution: in and out projections
        return [Group("other", il, 3 * d, d), Group("other", il, d, d)], 3 * d
    if f.linear_interval and not has_attention(f, il):
        # Gated DeltaNet: q, k and v in one matrix (quantized as llama.cpp quantizes attn_v),
        # the output gate, the per-head decay (alpha) and write strength (beta), out
        kd, vd = f.lin_k_heads * f.lin_head_dim, f.lin_v_heads * f.lin_head_dim
        out += [Group("attn_v", il, 2 * kd + vd, d), Group("other", il, vd, d)]
        out += [Group("other", il, f.lin_v_heads, d), Group("other", il, f.lin_v_heads, d)]
        out += [Group("other", il, d, vd)]
        return out, 4 * (2 * kd + vd) + 2 * f.lin_v_heads + f.lin_head_dim  # conv, dt, A, norm
    if il < f.n_layer and not has_attention(f, il):
        return out, vectors  # a Mamba mixer alone, or an FFN-only block
    if f.fused_qkv:
        q, kv = f.n_head * hd, f.n_head_kv * hd
        return [Group("attn_qkv", il, q + 2 * kv, d), Group("attn_output", il, d, q)], vectors
    full = bool(f.global_head_dim or f.global_heads) and is_global(f, il)
    h = (f.global_head_dim or hd) if full else hd
    heads = (f.global_heads or f.n_head) if full else f.n_head
    q_il = heads * h
    kv_il = ((f.global_kv_heads or f.n_head_kv) if full else f.n_head_kv) * h
    out.append(Group("attn_q", il, 2 * q_il if f.linear_interval else q_il, d))  # + gate
    if f.attn_gate:
        out.append(Group("other", il, q_il, d))
    if not (f.kv_shared_bare and _kv_shared(f, il)):
        out.append(Group("attn_k", il, kv_il, d))
        if not (full and f.k_eq_v):
            out.append(Group("attn_v", il, kv_il, d))
    out.append(Group("attn_output", il, d, q_il))
    return out, (2 * hd if f.linear_interval else 0)  # q and k norms


def _ffn_groups(f: Family, il: int) -> tuple[list[Group], int]:
    """Layer ``il``'s feed-forward part (dense, a mixture of experts, or none), and its vectors'
    elements (the router)."""
    d = f.n_embd
    block = f.layout[il] if il < len(f.layout) else ""
    if block and block not in "-E":
        return [], 0  # Nemotron-H: a mixer block has no FFN
    out: list[Group] = []
    if (
        f.is_moe
        and il >= f.dense_layers
        and (not f.moe_period or il % f.moe_period == f.moe_offset)
        and block != "-"
    ):
        e, ff = f.expert_count, f.n_ff
        m = f.moe_latent or d  # Nemotron 3 Super's experts work in a narrower latent space
        if f.moe_latent:
            out += [Group("other", il, m, d), Group("other", il, d, m)]
        if f.gated:
            out.append(Group("ffn_gate", il, ff, m, e))
        out += [Group("ffn_up", il, ff, m, e), Group("ffn_down", il, m, ff, e)]
        if f.n_ff_shared:
            s = f.n_ff_shared
            if f.gated:
                out.append(Group("ffn_gate", il, s, d))
            out += [Group("ffn_up", il, s, d), Group("ffn_down", il, d, s)]
        return out, d * e
    ff = f.n_ff_dense if f.is_moe else f.n_ff
    if f.double_wide and _kv_shared(f, il):
        ff *= 2
    if f.fused_up:
        out += [Group("ffn_up", il, 2 * ff, d)]
    elif f.gated:
        out += [Group("ffn_gate", il, ff, d), Group("ffn_up", il, ff, d)]
    else:
        out += [Group("ffn_up", il, ff, d)]
    out += [Group("ffn_down", il, d, ff)]
    return out, 0


def tensor_groups(f: Family) -> list[Group]:
    """Every weight matrix of the family's GGUF, in file order; 1-D tensors (norms, biases, the
    router) as role ``vector``."""
    d = f.n_embd
    out: list[Group] = [Group("token_embd", -1, f.n_vocab, d)]
    if f.per_layer_dim:
        ple = f.n_layer * f.per_layer_dim
        out += [Group("per_layer_token_embd", -1, f.n_vocab_per_layer, ple)]
        out += [Group("unquantized", -1, ple, d)]  # llama.cpp keeps per_layer_model_proj as is
        out += [Group("other", -1, d, d) for _ in range(2 * (f.altup - 1))]
    for il in range(f.n_layer + f.nextn):
        vectors = 2 * d + (3 * d if f.swa_pattern else 0)  # norms (Gemma 2/3 have four)
        mixer, elements = _mixer_groups(f, il)
        out += mixer
        vectors += elements
        if il < f.n_layer and _has_ssm(f, il):
            mixer, elements = _ssm_groups(f, il)
            out += mixer
            vectors += elements
        ffn, elements = _ffn_groups(f, il)
        out += ffn
        vectors += elements
        if f.per_layer_dim:  # per-layer input gate and projection, LAuReL, AltUp's router
            p, r = f.per_layer_dim, f.laurel_rank
            out += [Group("other", il, p, d), Group("other", il, d, p)]
            if r:
                out += [Group("other", il, r, d), Group("other", il, d, r)]
            vectors += f.altup * d + 6 * d if f.altup else d
        if il >= f.n_layer:  # a prediction layer's projection of [embedding, hidden state]
            out.append(Group("other", il, d, 2 * d))
            if f.nextn_vocab:
                out += [Group("other", il, f.n_vocab, d), Group("other", il, f.n_vocab, d)]
        out.append(Group("vector", il, 1, vectors))
    out.append(Group("vector", -1, 1, d))
    if not f.tied or f.gguf_output:
        out.append(Group("output", -1, f.n_vocab, d))
    return out


def parameter_count(f: Family) -> int:
    """The model's parameters (a copy of tied embeddings not counted twice)."""
    dup = f.tied and f.gguf_output
    return sum(g.n_elements for g in tensor_groups(f) if not (dup and g.role == "output"))


def active_parameter_count(f: Family) -> int:
    """Parameters used per token (a mixture of experts uses ``expert_used`` of its experts)."""
    total = 0
    for g in tensor_groups(f):
        n = g.n_elements
        if g.count > 1:
            n = n * f.expert_used // g.count
        total += n
    return total


def weights_bytes(f: Family, preset: str, variant: str = "", presets_2023: bool = False) -> int:
    """Bytes of the family's tensors in ``preset`` (a llama.cpp preset name, ``Q4_K_M``), each
    tensor at the type llama.cpp gives it. ``variant``, a type name, is the type token embeddings
    and output are kept at (``Q8_0`` in bartowski's ``_L`` files, ``F16`` in ``-f16`` ones).
    ``presets_2023``: as llama.cpp's 2023 presets gave them, when each expert of a mixture was a
    tensor of its own that the preset's rules left at its base type."""
    groups = tensor_groups(f)
    ctx = MixContext(
        n_layer=f.n_layer,
        gqa=f.n_head // max(f.n_head_kv, 1),
        n_expert=f.expert_count,
        tied=f.tied and not f.gguf_output,
        is_70b=f.n_layer == 80 and not f.is_moe,
        presets_2023=presets_2023,
        ple_2025=bool(f.altup),  # Gemma 3n's files, all made in 2025
    )
    totals: dict[str, int] = {}
    for g in groups:
        totals[g.role] = totals.get(g.role, 0) + 1
    seen: dict[str, int] = {}
    total = 0
    for g in groups:
        if g.role == "vector":
            total += g.n_elements * 4
            continue
        if g.role == "unquantized":  # kept at the checkpoint's 16-bit type
            total += g.n_elements * (4 if preset == "F32" else 2)
            continue
        index = seen.get(g.role, 0)
        seen[g.role] = index + 1
        place = g.layer if (f.is_moe and g.role == "ffn_down") else index
        if f.expert_type and g.count > 1 and preset not in ("F32",):
            t = f.expert_type
        elif preset == "MXFP4" and g.count > 1:  # MXFP4_MOE: the experts MXFP4, the rest Q8_0
            t = "MXFP4"
        elif variant and g.role in ("token_embd", "output"):
            t = variant
        elif presets_2023 and g.count > 1:
            t = tensor_type_for(preset, "other", place, 1, g.cols, ctx)
        else:
            # llama.cpp counts ffn_down against every layer, FFN or not (Nemotron-H's blocks)
            count = f.n_layer if f.layout and g.role == "ffn_down" else totals[g.role]
            t = tensor_type_for(preset, g.role, place, count, g.cols, ctx)
        total += tensor_bytes(t, g.n_elements)
    return total


def like_sized(parameters: int, moe: bool, count: int = 8) -> list[Family]:
    """The known shapes nearest a size (each shape once; mixtures of experts for a mixture),
    to price a model of a family Hearth does not know. Shapes no other model shares are left out:
    experts kept at a fixed type (gpt-oss), per-layer embeddings (Gemma 3n), convolution layers
    (LFM2), prediction layers (GLM-4.5), linear attention (Qwen3.5), Nemotron-H's blocks,
    Gemma 4's wide full-attention heads."""
    seen: set[tuple[int, ...]] = set()
    rows = []
    for f in FAMILIES:
        key = (f.n_layer, f.n_embd, f.n_vocab, f.n_ff, f.expert_count, f.tied)
        unusual = (
            f.expert_type
            or f.per_layer_dim
            or f.conv_layers
            or f.nextn
            or f.linear_interval
            or f.layout
            or f.global_head_dim
        )
        if f.is_moe != moe or unusual or key in seen:
            continue
        seen.add(key)
        rows.append(f)
    rows.sort(key=lambda f: abs(math.log(f.size_b * 1e9 / parameters)))
    return rows[:count]


def merged_experts(base_name: str | None, experts: int, expert_b: float) -> Family | None:
    """The shape of a merge of ``experts`` copies of a dense model ("GritLM-8x7B", mergekit's
    "Calme-4x7B-MoE"): the model's attention and embeddings once, its FFN once per expert, two
    used per token. The dense model is the named family's row of that size, else the known
    mixture whose experts are that size (Mixtral's, for "7B"), else the dense shape nearest."""
    size = expert_b * 1e9
    named = [
        f
        for f in family_rows(base_name)
        if not f.is_moe and abs(f.size_b - expert_b) <= 0.12 * expert_b
    ]
    if named:
        base = named[0]
    else:
        mixes = [  # mixtures of plain experts (Mixtral's), named by their count and size
            f
            for f in FAMILIES
            if f.is_moe
            and not (f.n_ff_shared or f.dense_layers)
            and abs(f.size_b / f.expert_count - expert_b) < 0.05 * expert_b
        ]
        if mixes:
            mix = mixes[0]
            return replace(
                mix,
                label=f"{mix.label} with {experts} experts",
                expert_count=experts,
                stated_b=experts * expert_b,
                params_b=0.0,
            )
        near = like_sized(int(size), moe=False, count=1)
        if not near:
            return None
        base = near[0]
    return replace(
        base,
        label=f"{base.label} with {experts} experts",
        expert_count=experts,
        expert_used=2,
        stated_b=experts * expert_b,
        params_b=0.0,
    )


def _norm(name: str) -> str:
    # "mistralai_Magistral-Small": a quantizer's "org_" prefix names the maker, not the model.
    name = re.sub(r"^[A-Za-z0-9-]+_(?=[A-Za-z])", "", name) if "_" in name else name
    return name.lower().replace("_", "-").replace(" ", "-")


# Fine-tunes whose names do not say their base model: the Hub community's abbreviations
# ("L3-8B-Stheno" is a Llama 3 8B, "MythoMax-L2-13B" a Llama 2 13B, "MN-12B-Mag-Mell" a Mistral
# Nemo) and well-known fine-tunes of one base model, each as its model card states it:
# Zephyr, OpenChat 3.5, Starling, Neural Chat, Kunoichi, Silicon Maid, Toppy and WizardLM-2 7B
# are Mistral 7B's; Vicuna 1.5, Orca 2, WizardLM 1.x, MythoMax, Chronos-Hermes, Tiefighter and
# Psyfighter Llama 2's; QwQ, OpenThinker and Sky-T1 Qwen2.5's; Jan-nano and Jan-v1 Qwen3's;
# Rocinante Mistral Nemo's; Cydonia Mistral Small's; Fimbulvetr SOLAR's. Each maps to a name
# the family table reads; the size still picks the row, and a size the base does not come in
# is not placed.
LINEAGE: list[tuple[str, str]] = [
    (r"(?:^|-)l(3(?:\.[0-3])?)(?:-|$)", r"llama-\1"),
    (r"(?:^|-)l2(?:-|$)", "llama-2"),
    (r"(?:^|-)mn(?:-|$)|rocinante|unslop-?nemo|nemomix", "mistral-nemo"),
    (r"cydonia", "mistral-small"),
    (r"zephyr|starling-?lm|openchat-?3\.5|neural-?chat", "mistral"),
    (r"wizardlm-?2", "mistral mixtral"),  # WizardLM-2 7B and 8x22B
    (r"(?:^|-)(?:vicuna|orca-?2|mythomax|wizardlm|xwin-?lm|tulu-?2)(?:-|$)", "llama-2"),
    (r"(?:^|-)(?:qwq|openthinker\d?|sky-?t1)(?:-|$)", "qwen-2.5"),
    (r"(?:^|-)jan-?(?:nano|v1)", "qwen-3"),  # Jan-nano and Jan-v1 4B: Qwen3 4B's
    (r"kunoichi|silicon-?maid|toppy-?m", "mistral"),
    (r"chronos-?hermes|tiefighter|psyfighter", "llama-2"),
    (r"fimbulvetr", "solar"),
    (r"yi-?coder", "yi"),  # Yi-Coder 9B: Yi 1.5 9B's shape
    # Lines that come in several bases, the size picking the row: Magnum v4 (Gemma 2 9B and 27B,
    # Mistral Nemo, Mistral Small 22B, Qwen2.5 72B, Mistral Large 2), Nous Capybara (Mistral 7B,
    # Yi 34B), Hermes 4 (Qwen3 14B, Llama 3.1 70B and 405B).
    (r"(?:^|-)magnum", "gemma-2 mistral-nemo mistral-small qwen-2.5 mistral-large"),
    (r"capybara", "mistral-yi"),
    (r"hermes-?4(?!\.)", "qwen-3 llama-3.1"),
]


def _lineage(name: str) -> str | None:
    for pattern, base in LINEAGE:
        m = re.search(pattern, name)
        if m:
            return m.expand(base)
    return None


def lineage_of(base_name: str | None) -> str | None:
    """The base model a fine-tune's name implies when it does not name one ("llama-3" for
    "L3-8B-Stheno"); None when the name names its family itself or nothing is known."""
    if not base_name:
        return None
    name = _norm(base_name)
    if any(re.search(f.pattern, name) for f in FAMILIES):
        return None
    return _lineage(name)


def lookup_name(base_name: str | None, finetune: str | None) -> str | None:
    """The part of a name to look a family up by: the base name, or the fine-tune part when the
    base is a fine-tune line's and that part names a family ("zephyr-7b-gemma" is a Gemma)."""
    if lineage_of(base_name) and finetune:
        named = _norm(finetune)
        if any(re.search(f.pattern, named) for f in FAMILIES):
            return finetune
    return base_name


def family_rows(base_name: str | None) -> list[Family]:
    """Every row whose pattern the base name matches (or its lineage's, for a fine-tune whose
    name does not say its base model)."""
    if not base_name:
        return []
    name = _norm(base_name)
    rows = [f for f in FAMILIES if re.search(f.pattern, name)]
    if rows:
        return rows
    lineage = _lineage(name)
    return [f for f in FAMILIES if re.search(f.pattern, lineage)] if lineage else []


def find_family(
    base_name: str | None,
    parameters: int | None,
    active: int | None = None,
    effective: float | None = None,
) -> Family | None:
    """The family row for a base name and a stated size: the one whose stated size, real count
    or (for a mixture of experts) active count is nearest, within 25%. With no size, the only row
    of its family, or the row of the ``effective`` size a name states ("E4B", in billions); None
    when that is ambiguous or nothing fits. A size further off than rounding
    ("Qwen3-Coder-REAP-25B-A3B", a pruned 30B-A3B) is another model."""
    rows = family_rows(base_name)
    if not rows:
        return None
    if parameters is None and active is None:
        name = _norm(base_name or "")
        worded = [f for f in rows if f.size_word and re.search(rf"(^|-){f.size_word}(-|$)", name)]
        if len(worded) == 1:  # "granite-4.0-h-small"
            return worded[0]
        if effective is not None:  # "gemma-3n-E4B": only a family that gives it places it
            return next((f for f in rows if f.effective_b == effective), None)
        return rows[0] if len(rows) == 1 else None

    def error(f: Family) -> float:
        errs = []
        if parameters is not None:
            errs += [abs(b * 1e9 - parameters) / (b * 1e9) for b in (f.size_b, f.params_b)]
            if active is not None and f.is_moe:  # "30B-A3B": the total decides
                return min(errs)
        if active is not None and f.is_moe:
            a = active_parameter_count(f)
            errs.append(abs(a - active) / a)
        return min(errs) if errs else 1.0

    best = min(rows, key=error)
    return best if error(best) <= 0.12 else None
