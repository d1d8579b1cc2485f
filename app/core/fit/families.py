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
    expert_type: str = ""  # experts stored at this type whatever the preset (gpt-oss: MXFP4)
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
    r"qwen-?2(?![.-]?5|-?vl|-?audio|-?math)",
    (r"qwen-?2\.5(?!-?math)"),  # Qwen2.5-VL's language model is Qwen2.5's
    r"qwen-?3(?![.-]?[56]|-?vl|-?next|-?coder-?next)",
)

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


def _alike(label: str, like: str, pattern: str, source: str, **changes: object) -> Family:
    """A row with another row's shape (a vision model's language model), changed as given."""
    base = next(f for f in FAMILIES if f.label == like)
    return replace(base, label=label, pattern=pattern, source=HF + source, **changes)  # type: ignore[arg-type]


# Vision models whose language model is a known family's (the vision tower is a separate mmproj
# file). Qwen2-VL "2B" is Qwen2-1.5B's, "7B" Qwen2-7B's. SmolVLM "256M", "500M" and "2.2B" are
# SmolLM2 135M's, 360M's and 1.7B's with a vocabulary of 49,280 and an output layer of their own
# (not tied: ggml-org's 500M Q8_0 is 437 MB).
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


def tensor_groups(f: Family) -> list[Group]:
    """Every weight matrix of the family's GGUF, in file order; 1-D tensors (norms, biases, the
    router) as role ``vector``."""
    d, hd = f.n_embd, f.head_dim
    q, kv = f.n_head * hd, f.n_head_kv * hd
    out: list[Group] = [Group("token_embd", -1, f.n_vocab, d)]
    for il in range(f.n_layer):
        vectors = 2 * d + (3 * d if f.swa_pattern else 0)  # norms (Gemma 2/3 have four)
        if f.kv_lora:  # DeepSeek's multi-head latent attention
            qk = f.head_dim + f.rope_dim
            if f.q_lora:  # attn_q_a, then attn_q_b
                out += [Group("other", il, f.q_lora, d)]
                out += [Group("other", il, f.n_head * qk, f.q_lora)]
                vectors += f.q_lora
            else:
                out += [Group("attn_q", il, f.n_head * qk, d)]
            out += [
                Group("other", il, f.kv_lora + f.rope_dim, d),
                Group("other", il, f.n_head * (f.head_dim + hd), f.kv_lora),
                Group("attn_output", il, d, f.n_head * hd),
            ]
            vectors += f.kv_lora
        elif f.fused_qkv:
            out += [Group("attn_qkv", il, q + 2 * kv, d), Group("attn_output", il, d, q)]
        else:
            out += [
                Group("attn_q", il, q, d),
                Group("attn_k", il, kv, d),
                Group("attn_v", il, kv, d),
                Group("attn_output", il, d, q),
            ]
        if f.is_moe and il >= f.dense_layers:
            e, ff = f.expert_count, f.n_ff
            out += [
                Group("ffn_gate", il, ff, d, e),
                Group("ffn_up", il, ff, d, e),
                Group("ffn_down", il, d, ff, e),
            ]
            vectors += d * e
            if f.n_ff_shared:
                s = f.n_ff_shared
                out += [Group("ffn_gate", il, s, d), Group("ffn_up", il, s, d)]
                out += [Group("ffn_down", il, d, s)]
        else:
            ff = f.n_ff_dense if f.is_moe else f.n_ff
            if f.gated:
                out += [Group("ffn_gate", il, ff, d), Group("ffn_up", il, ff, d)]
            else:
                out += [Group("ffn_up", il, ff, d)]
            out += [Group("ffn_down", il, d, ff)]
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
        index = seen.get(g.role, 0)
        seen[g.role] = index + 1
        place = g.layer if (f.is_moe and g.role == "ffn_down") else index
        if f.expert_type and g.count > 1 and preset not in ("F32",):
            t = f.expert_type
        elif variant and g.role in ("token_embd", "output"):
            t = variant
        elif presets_2023 and g.count > 1:
            t = tensor_type_for(preset, "other", place, 1, g.cols, ctx)
        else:
            t = tensor_type_for(preset, g.role, place, totals[g.role], g.cols, ctx)
        total += tensor_bytes(t, g.n_elements)
    return total


def like_sized(parameters: int, moe: bool, count: int = 10) -> list[Family]:
    """The known shapes nearest a size (each shape once; mixtures of experts for a mixture),
    to price a model of a family Hearth does not know. Families whose experts keep a fixed type
    (gpt-oss) are left out: no other model is made that way."""
    seen: set[tuple[int, ...]] = set()
    rows = []
    for f in FAMILIES:
        key = (f.n_layer, f.n_embd, f.n_vocab, f.n_ff, f.expert_count, f.tied)
        if f.is_moe != moe or f.expert_type or key in seen:
            continue
        seen.add(key)
        rows.append(f)
    rows.sort(key=lambda f: abs(math.log(f.size_b * 1e9 / parameters)))
    return rows[:count]


def _norm(name: str) -> str:
    # "mistralai_Magistral-Small": a quantizer's "org_" prefix names the maker, not the model.
    name = re.sub(r"^[A-Za-z0-9-]+_(?=[A-Za-z])", "", name) if "_" in name else name
    return name.lower().replace("_", "-").replace(" ", "-")


# Fine-tunes whose names do not say their base model: the Hub community's abbreviations
# ("L3-8B-Stheno" is a Llama 3 8B, "MythoMax-L2-13B" a Llama 2 13B, "MN-12B-Mag-Mell" a Mistral
# Nemo) and well-known fine-tunes of one base model, each as its model card states it (Zephyr,
# OpenChat 3.5, Starling, Neural Chat and WizardLM-2 7B are Mistral 7B's; Vicuna 1.5, Orca 2,
# WizardLM 1.x and MythoMax are Llama 2's; QwQ, OpenThinker and Sky-T1 are Qwen2.5's; Rocinante
# is Mistral Nemo's, Cydonia Mistral Small's). Each maps to a name the
# family table reads; the size still picks the row, and a size the base does not come in is not
# placed.
LINEAGE: list[tuple[str, str]] = [
    (r"(?:^|-)l(3(?:\.[0-3])?)(?:-|$)", r"llama-\1"),
    (r"(?:^|-)l2(?:-|$)", "llama-2"),
    (r"(?:^|-)mn(?:-|$)|rocinante|unslop-?nemo|nemomix", "mistral-nemo"),
    (r"cydonia", "mistral-small"),
    (r"zephyr|starling-?lm|openchat-?3\.5|neural-?chat", "mistral"),
    (r"wizardlm-?2", "mistral mixtral"),  # WizardLM-2 7B and 8x22B
    (r"(?:^|-)(?:vicuna|orca-?2|mythomax|wizardlm|xwin-?lm|tulu-?2)(?:-|$)", "llama-2"),
    (r"(?:^|-)(?:qwq|openthinker\d?|sky-?t1)(?:-|$)", "qwen-2.5"),
]


def lineage_of(base_name: str | None) -> str | None:
    """The base model a fine-tune's name implies when it does not name one ("llama-3" for
    "L3-8B-Stheno"); None when the name names its family itself or nothing is known."""
    if not base_name:
        return None
    name = _norm(base_name)
    if any(re.search(f.pattern, name) for f in FAMILIES):
        return None
    for pattern, base in LINEAGE:
        m = re.search(pattern, name)
        if m:
            return m.expand(base)
    return None


def family_rows(base_name: str | None) -> list[Family]:
    """Every row whose pattern the base name matches (or its lineage's, for a fine-tune whose
    name does not say its base model)."""
    if not base_name:
        return []
    name = _norm(base_name)
    rows = [f for f in FAMILIES if re.search(f.pattern, name)]
    if rows:
        return rows
    lineage = lineage_of(base_name)
    return [f for f in FAMILIES if re.search(f.pattern, lineage)] if lineage else []


def find_family(
    base_name: str | None, parameters: int | None, active: int | None = None
) -> Family | None:
    """The family row for a base name and a stated size: the one whose stated size, real count
    or (for a mixture of experts) active count is nearest, within 25%. With no size, the only row
    of its family; None when that is ambiguous or nothing fits. A size further off than rounding
    ("Qwen3-Coder-REAP-25B-A3B", a pruned 30B-A3B) is another model."""
    rows = family_rows(base_name)
    if not rows:
        return None
    if parameters is None and active is None:
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
