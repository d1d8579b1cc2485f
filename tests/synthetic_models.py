"""GGUF files with the shapes of real large models and no weights, for checking memory estimates.

The tensor table, tokenizer and hyper-parameters are complete, so llama.cpp accepts the file; the
tensor data is a hole in a sparse file, so an 8B or 30B model costs a few megabytes of disk. Loaded
with llama.cpp's ``no_alloc`` (its own memory-fit pass), llama.cpp computes its buffers without
reading or allocating the weights.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from tests import gguf_factory as F

F32_ID, F16_ID = 0, 1


@dataclass(frozen=True)
class Config:
    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int
    head_dim: int
    n_ff: int
    n_vocab: int
    n_ctx_train: int
    weight_type: str = "Q4_K"
    tied: bool = False
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    sliding_window: int = 0
    qk_norm: bool = False
    post_norms: bool = False


LLAMA3_8B = Config("llama", 32, 4096, 32, 8, 128, 14336, 128256, 131072)
QWEN3_30B_A3B = Config(
    "qwen3moe",
    48,
    2048,
    32,
    4,
    128,
    6144,
    151936,
    40960,
    n_expert=128,
    n_expert_used=8,
    n_ff_exp=768,
    qk_norm=True,
)
GEMMA3_27B = Config(
    "gemma3",
    62,
    5376,
    32,
    16,
    128,
    21504,
    262144,
    131072,
    tied=True,
    sliding_window=1024,
    qk_norm=True,
    post_norms=True,
)
MISTRAL_7B_Q8 = Config("llama", 32, 4096, 32, 8, 128, 14336, 32768, 32768, weight_type="Q8_0")


def _tensor_table(c: Config) -> list[tuple[str, tuple[int, ...], str]]:
    kv = c.n_head_kv * c.head_dim
    q = c.n_head * c.head_dim
    t: list[tuple[str, tuple[int, ...], str]] = [
        ("token_embd.weight", (c.n_embd, c.n_vocab), "Q6_K")
    ]
    t.append(("output_norm.weight", (c.n_embd,), "F32"))
    if not c.tied:
        t.append(("output.weight", (c.n_embd, c.n_vocab), "Q6_K"))
    w = c.weight_type
    for i in range(c.n_layer):
        b = f"blk.{i}."
        t += [
            (b + "attn_norm.weight", (c.n_embd,), "F32"),
            (b + "attn_q.weight", (c.n_embd, q), w),
            (b + "attn_k.weight", (c.n_embd, kv), w),
            (b + "attn_v.weight", (c.n_embd, kv), "Q6_K" if w == "Q4_K" else w),
            (b + "attn_output.weight", (q, c.n_embd), w),
            (b + "ffn_norm.weight", (c.n_embd,), "F32"),
        ]
        if c.qk_norm:
            t += [
                (b + "attn_q_norm.weight", (c.head_dim,), "F32"),
                (b + "attn_k_norm.weight", (c.head_dim,), "F32"),
            ]
        if c.post_norms:
            t += [
                (b + "post_attention_norm.weight", (c.n_embd,), "F32"),
                (b + "post_ffw_norm.weight", (c.n_embd,), "F32"),
            ]
        if c.n_expert:
            t += [
                (b + "ffn_gate_inp.weight", (c.n_embd, c.n_expert), "F32"),
                (b + "ffn_gate_exps.weight", (c.n_embd, c.n_ff_exp, c.n_expert), w),
                (b + "ffn_up_exps.weight", (c.n_embd, c.n_ff_exp, c.n_expert), w),
                (
                    b + "ffn_down_exps.weight",
                    (c.n_ff_exp, c.n_embd, c.n_expert),
                    "Q6_K" if w == "Q4_K" else w,
                ),
            ]
        else:
            t += [
                (b + "ffn_gate.weight", (c.n_embd, c.n_ff), w),
                (b + "ffn_up.weight", (c.n_embd, c.n_ff), w),
                (b + "ffn_down.weight", (c.n_ff, c.n_embd), "Q6_K" if w == "Q4_K" else w),
            ]
    return t


def _nbytes(shape: tuple[int, ...], type_name: str) -> int:
    block, size = GGML_QUANT_SIZES[GGMLQuantizationType[type_name]]
    n = 1
    for d in shape:
        n *= d
    return n // block * size


def _u32(key: str, v: int) -> bytes:
    return F.kv(key, F.U32, v)


def write_model(path: Path, c: Config) -> Path:
    a = c.arch
    kvs = [
        F.kv("general.architecture", F.STRING, a),
        F.kv("general.name", F.STRING, f"synthetic {a}"),
        F.kv("general.file_type", F.U32, 15),
        _u32(f"{a}.block_count", c.n_layer),
        _u32(f"{a}.context_length", c.n_ctx_train),
        _u32(f"{a}.embedding_length", c.n_embd),
        _u32(f"{a}.feed_forward_length", c.n_ff),
        _u32(f"{a}.attention.head_count", c.n_head),
        _u32(f"{a}.attention.head_count_kv", c.n_head_kv),
        _u32(f"{a}.attention.key_length", c.head_dim),
        _u32(f"{a}.attention.value_length", c.head_dim),
        _u32(f"{a}.rope.dimension_count", c.head_dim),
        F.kv(f"{a}.attention.layer_norm_rms_epsilon", F.F32, 1e-6),
        F.kv(f"{a}.rope.freq_base", F.F32, 10000.0),
    ]
    if c.n_expert:
        kvs += [
            _u32(f"{a}.expert_count", c.n_expert),
            _u32(f"{a}.expert_used_count", c.n_expert_used),
            _u32(f"{a}.expert_feed_forward_length", c.n_ff_exp),
        ]
    if c.sliding_window:
        kvs.append(_u32(f"{a}.attention.sliding_window", c.sliding_window))
    # A SentencePiece-style vocabulary: control tokens, the 256 byte tokens, then filler words.
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    tokens += [f"w{i}" for i in range(c.n_vocab - len(tokens))]
    types = [2, 3, 3] + [6] * 256 + [1] * (c.n_vocab - 259)
    kvs += [
        F.kv("tokenizer.ggml.model", F.STRING, "llama"),
        F.kv_array("tokenizer.ggml.tokens", F.STRING, tokens),
        F.s("tokenizer.ggml.scores")
        + struct.pack("<IIQ", F.ARRAY, F.F32, c.n_vocab)
        + b"\0" * (4 * c.n_vocab),
        F.s("tokenizer.ggml.token_type")
        + struct.pack("<IIQ", F.ARRAY, F.I32, c.n_vocab)
        + struct.pack(f"<{c.n_vocab}i", *types),
        _u32("tokenizer.ggml.bos_token_id", 1),
        _u32("tokenizer.ggml.eos_token_id", 2),
        _u32("tokenizer.ggml.unknown_token_id", 0),
    ]
    infos, offset = [], 0
    for name, shape, type_name in _tensor_table(c):
        infos.append(F.tensor(name, shape, int(GGMLQuantizationType[type_name]), offset))
        offset += (_nbytes(shape, type_name) + 31) // 32 * 32
    head = F.header(kvs, infos)
    head += b"\0" * ((-len(head)) % 32)
    with path.open("wb") as f:
        f.write(head)
        f.truncate(len(head) + offset)  # the weights: a hole, no disk used
    return path
