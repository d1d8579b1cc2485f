"""Shapes of common model families, for estimates made from a file name alone.

Before anything is downloaded Hearth knows only a name ("Meta-Llama-3.1-8B-Instruct-Q4_K_M"). The
KV cache and compute buffers depend on the layer count, key/value heads and vocabulary, which the
name does not carry; these are the published configurations of the families people download most.
Matching is by family and parameter count, and the estimate says which entry it used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    label: str
    pattern: str  # regex on the lower-case base name
    params_b: float  # billions, the size this row describes
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_vocab: int
    n_ff: int
    n_ctx_train: int
    sliding_window: int = 0
    swa_pattern: int = 0  # every n-th layer is global; the others slide
    expert_count: int = 0
    expert_used: int = 0


FAMILIES: list[Family] = [
    Family(
        "Llama 3 / 3.1 8B", r"llama-?3(\.\d)?", 8.0, 32, 4096, 32, 8, 128, 128256, 14336, 131072
    ),
    Family(
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
    ),
    Family(
        "Llama 3.1 405B", r"llama-?3(\.\d)?", 405.0, 126, 16384, 128, 8, 128, 128256, 53248, 131072
    ),
    Family("Llama 3.2 1B", r"llama-?3\.2", 1.24, 16, 2048, 32, 8, 64, 128256, 8192, 131072),
    Family("Llama 3.2 3B", r"llama-?3\.2", 3.21, 28, 3072, 24, 8, 128, 128256, 8192, 131072),
    Family("Llama 2 7B", r"llama-?2", 6.74, 32, 4096, 32, 32, 128, 32000, 11008, 4096),
    Family("Llama 2 13B", r"llama-?2", 13.0, 40, 5120, 40, 40, 128, 32000, 13824, 4096),
    Family(
        "Mistral 7B",
        r"mistral(?!-nemo|-small|-large)",
        7.24,
        32,
        4096,
        32,
        8,
        128,
        32768,
        14336,
        32768,
    ),
    Family("Mistral Nemo 12B", r"mistral-nemo", 12.2, 40, 5120, 32, 8, 128, 131072, 14336, 131072),
    Family("Mistral Small 24B", r"mistral-small", 23.6, 40, 5120, 32, 8, 128, 131072, 32768, 32768),
    Family(
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
        expert_count=8,
        expert_used=2,
    ),
    Family("Qwen2.5 0.5B", r"qwen2\.5", 0.49, 24, 896, 14, 2, 64, 151936, 4864, 32768),
    Family("Qwen2.5 1.5B", r"qwen2\.5", 1.54, 28, 1536, 12, 2, 128, 151936, 8960, 32768),
    Family("Qwen2.5 3B", r"qwen2\.5", 3.09, 36, 2048, 16, 2, 128, 151936, 11008, 32768),
    Family("Qwen2.5 7B", r"qwen2\.5", 7.62, 28, 3584, 28, 4, 128, 152064, 18944, 131072),
    Family("Qwen2.5 14B", r"qwen2\.5", 14.7, 48, 5120, 40, 8, 128, 152064, 13824, 131072),
    Family("Qwen2.5 32B", r"qwen2\.5", 32.8, 64, 5120, 40, 8, 128, 152064, 27648, 131072),
    Family("Qwen2.5 72B", r"qwen2\.5", 72.7, 80, 8192, 64, 8, 128, 152064, 29568, 131072),
    Family("Qwen3 0.6B", r"qwen3", 0.6, 28, 1024, 16, 8, 128, 151936, 3072, 40960),
    Family("Qwen3 4B", r"qwen3", 4.0, 36, 2560, 32, 8, 128, 151936, 9728, 40960),
    Family("Qwen3 8B", r"qwen3", 8.2, 36, 4096, 32, 8, 128, 151936, 12288, 40960),
    Family("Qwen3 14B", r"qwen3", 14.8, 40, 5120, 40, 8, 128, 151936, 17408, 40960),
    Family("Qwen3 32B", r"qwen3", 32.8, 64, 5120, 64, 8, 128, 151936, 25600, 40960),
    Family(
        "Qwen3 30B-A3B",
        r"qwen3",
        30.5,
        48,
        2048,
        32,
        4,
        128,
        151936,
        768,
        40960,
        expert_count=128,
        expert_used=8,
    ),
    Family("Gemma 2 9B", r"gemma-?2", 9.24, 42, 3584, 16, 8, 256, 256000, 14336, 8192, 4096, 2),
    Family("Gemma 2 27B", r"gemma-?2", 27.2, 46, 4608, 32, 16, 128, 256000, 36864, 8192, 4096, 2),
    Family("Gemma 3 1B", r"gemma-?3", 1.0, 26, 1152, 4, 1, 256, 262144, 6912, 32768, 512, 6),
    Family("Gemma 3 4B", r"gemma-?3", 3.88, 34, 2560, 8, 4, 256, 262144, 10240, 131072, 1024, 6),
    Family("Gemma 3 12B", r"gemma-?3", 11.8, 48, 3840, 16, 8, 256, 262144, 15360, 131072, 1024, 6),
    Family("Gemma 3 27B", r"gemma-?3", 27.0, 62, 5376, 32, 16, 128, 262144, 21504, 131072, 1024, 6),
    Family("Phi-3 mini", r"phi-?3", 3.82, 32, 3072, 32, 32, 96, 32064, 8192, 4096),
    Family("Phi-4 14B", r"phi-?4", 14.7, 40, 5120, 40, 10, 128, 100352, 17920, 16384),
    Family(
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
    ),
    Family(
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
    ),
    Family(
        "gpt-oss 20B", r"gpt-oss", 20.9, 24, 2880, 64, 8, 64, 201088, 2880, 131072, 128, 2, 32, 4
    ),
    Family(
        "gpt-oss 120B", r"gpt-oss", 117.0, 36, 2880, 64, 8, 64, 201088, 2880, 131072, 128, 2, 128, 4
    ),
    Family("SmolLM2 135M", r"smollm2", 0.135, 30, 576, 9, 3, 64, 49152, 1536, 8192),
    Family("SmolLM2 1.7B", r"smollm2", 1.71, 24, 2048, 32, 32, 64, 49152, 8192, 8192),
]


def find_family(base_name: str | None, parameters: int | None) -> Family | None:
    """The family row for a base name, the one nearest in size when sizes differ by at most 25%."""
    if not base_name:
        return None
    name = base_name.lower().replace("_", "-")
    rows = [f for f in FAMILIES if re.search(f.pattern, name)]
    if not rows:
        return None
    if parameters is None:
        return rows[0] if len(rows) == 1 else None
    best = min(rows, key=lambda f: abs(f.params_b * 1e9 - parameters))
    return best if abs(best.params_b * 1e9 - parameters) <= 0.25 * best.params_b * 1e9 else None
