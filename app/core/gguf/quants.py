"""The one quantization table of the app: ggml tensor types and llama.cpp file-type presets.

Tensor types (block size, bytes per block) come from ``gguf`` (ggml's own constants). Presets
carry their typical bits per weight over a whole model file (mixes such as Q4_K_M keep some
tensors at higher precision): computed from the file sizes llama.cpp's quantize tool lists for
Llama-3-8B (8.03 B parameters), or the figure it states, and a one-line note on quality.
"""

from __future__ import annotations

from dataclasses import dataclass

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType, LlamaFileType


@dataclass(frozen=True)
class TensorType:
    name: str
    id: int
    block_size: int  # values per block
    block_bytes: int  # bytes per block

    @property
    def bits_per_weight(self) -> float:
        return self.block_bytes * 8 / self.block_size


TENSOR_TYPES: dict[str, TensorType] = {
    t.name: TensorType(t.name, int(t), *GGML_QUANT_SIZES[t])
    for t in GGMLQuantizationType
    if t in GGML_QUANT_SIZES
}
TENSOR_TYPES_BY_ID: dict[int, TensorType] = {t.id: t for t in TENSOR_TYPES.values()}


@dataclass(frozen=True)
class Preset:
    name: str  # as llama.cpp's quantize tool and file names spell it, e.g. "Q4_K_M"
    file_type: int | None  # general.file_type in a GGUF header (LlamaFileType)
    bits_per_weight: float  # typical, over a whole model file
    quality: str


def _bpw_from_llama3_8b(gib: float) -> float:
    return round(gib * (1 << 30) * 8 / 8.03e9, 2)


_FT = LlamaFileType
PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "F32",
            int(_FT.ALL_F32),
            32.0,
            "full 32-bit precision; twice the size of F16 for no gain",
        ),
        Preset(
            "F16", int(_FT.MOSTLY_F16), 16.0, "the original weights in 16 bits; reference quality"
        ),
        Preset(
            "BF16",
            int(_FT.MOSTLY_BF16),
            16.0,
            "the original weights in bfloat16; reference quality",
        ),
        Preset(
            "Q8_0",
            int(_FT.MOSTLY_Q8_0),
            _bpw_from_llama3_8b(7.96),
            "practically lossless; half the size of F16",
        ),
        Preset(
            "Q6_K",
            int(_FT.MOSTLY_Q6_K),
            _bpw_from_llama3_8b(6.14),
            "near-lossless; a good choice when memory allows",
        ),
        Preset(
            "Q5_K_M",
            int(_FT.MOSTLY_Q5_K_M),
            _bpw_from_llama3_8b(5.33),
            "very good quality, little loss",
        ),
        Preset(
            "Q5_K_S",
            int(_FT.MOSTLY_Q5_K_S),
            _bpw_from_llama3_8b(5.21),
            "very good quality, slightly smaller than Q5_K_M",
        ),
        Preset(
            "Q5_1",
            int(_FT.MOSTLY_Q5_1),
            _bpw_from_llama3_8b(5.65),
            "legacy 5-bit; Q5_K_M is better at a smaller size",
        ),
        Preset(
            "Q5_0",
            int(_FT.MOSTLY_Q5_0),
            _bpw_from_llama3_8b(5.21),
            "legacy 5-bit; Q5_K_S is better at the same size",
        ),
        Preset(
            "Q4_K_M",
            int(_FT.MOSTLY_Q4_K_M),
            _bpw_from_llama3_8b(4.58),
            "the usual default: good quality for its size",
        ),
        Preset(
            "Q4_K_S",
            int(_FT.MOSTLY_Q4_K_S),
            _bpw_from_llama3_8b(4.37),
            "a little smaller than Q4_K_M, a little more loss",
        ),
        Preset(
            "Q4_1",
            int(_FT.MOSTLY_Q4_1),
            _bpw_from_llama3_8b(4.78),
            "legacy 4-bit; Q4_K_M is better at a smaller size",
        ),
        Preset(
            "Q4_0",
            int(_FT.MOSTLY_Q4_0),
            _bpw_from_llama3_8b(4.34),
            "legacy 4-bit; fast on ARM CPUs, more loss than Q4_K_M",
        ),
        Preset(
            "IQ4_XS",
            int(_FT.MOSTLY_IQ4_XS),
            4.25,
            "close to Q4_K_M quality and smaller; slower on some CPUs",
        ),
        Preset(
            "IQ4_NL",
            int(_FT.MOSTLY_IQ4_NL),
            4.50,
            "non-linear 4-bit; like IQ4_XS with simpler blocks",
        ),
        Preset(
            "Q3_K_L",
            int(_FT.MOSTLY_Q3_K_L),
            _bpw_from_llama3_8b(4.03),
            "noticeable loss; for when 4-bit does not fit",
        ),
        Preset(
            "Q3_K_M",
            int(_FT.MOSTLY_Q3_K_M),
            _bpw_from_llama3_8b(3.74),
            "noticeable loss; for when 4-bit does not fit",
        ),
        Preset(
            "Q3_K_S",
            int(_FT.MOSTLY_Q3_K_S),
            _bpw_from_llama3_8b(3.41),
            "clear loss; prefer IQ3_M at this size",
        ),
        Preset("IQ3_M", int(_FT.MOSTLY_IQ3_M), 3.66, "better than Q3_K_S at a similar size"),
        Preset("IQ3_S", int(_FT.MOSTLY_IQ3_S), 3.44, "3-bit with an importance matrix; clear loss"),
        Preset(
            "IQ3_XS", int(_FT.MOSTLY_IQ3_XS), 3.30, "3-bit with an importance matrix; clear loss"
        ),
        Preset(
            "IQ3_XXS",
            int(_FT.MOSTLY_IQ3_XXS),
            3.06,
            "the smallest 3-bit; for large models that must fit",
        ),
        Preset(
            "Q2_K",
            int(_FT.MOSTLY_Q2_K),
            _bpw_from_llama3_8b(2.96),
            "heavy loss; a last resort, mostly for 70B and up",
        ),
        Preset(
            "Q2_K_S",
            int(_FT.MOSTLY_Q2_K_S),
            _bpw_from_llama3_8b(2.96),
            "heavy loss; a last resort, mostly for 70B and up",
        ),
        Preset("IQ2_M", int(_FT.MOSTLY_IQ2_M), 2.70, "very small; usable only for large models"),
        Preset("IQ2_S", int(_FT.MOSTLY_IQ2_S), 2.50, "very small; usable only for large models"),
        Preset("IQ2_XS", int(_FT.MOSTLY_IQ2_XS), 2.31, "very small; usable only for large models"),
        Preset(
            "IQ2_XXS",
            int(_FT.MOSTLY_IQ2_XXS),
            2.06,
            "extreme; only the largest models stay coherent",
        ),
        Preset(
            "IQ1_M", int(_FT.MOSTLY_IQ1_M), 1.75, "extreme; only the largest models stay coherent"
        ),
        Preset(
            "IQ1_S", int(_FT.MOSTLY_IQ1_S), 1.56, "extreme; only the largest models stay coherent"
        ),
        Preset(
            "TQ2_0",
            int(_FT.MOSTLY_TQ2_0),
            2.06,
            "ternary; only for models trained ternary (BitNet)",
        ),
        Preset(
            "TQ1_0",
            int(_FT.MOSTLY_TQ1_0),
            1.69,
            "ternary; only for models trained ternary (BitNet)",
        ),
        Preset(
            "MXFP4",
            int(_FT.MOSTLY_MXFP4_MOE),
            4.25,
            "4-bit floating point, as gpt-oss ships its experts",
        ),
    ]
}
PRESETS_BY_FILE_TYPE: dict[int, Preset] = {
    p.file_type: p for p in PRESETS.values() if p.file_type is not None
}

# Names on the Hub that mean a preset (or the closest one) for estimates made from a file name.
ALIASES = {
    "FP16": "F16",
    "FP32": "F32",
    "Q3_K": "Q3_K_M",
    "Q4_K": "Q4_K_M",
    "Q5_K": "Q5_K_M",
    "MXFP4_MOE": "MXFP4",
    "Q4": "Q4_K_M",  # Microsoft's own Phi-3 files ("-q4.gguf"), Q4_K_M by their card
    "Q4_0_4_4": "Q4_0",
    "Q4_0_4_8": "Q4_0",
    "Q4_0_8_8": "Q4_0",
    # bartowski's _L variants keep embeddings and output at Q8_0; Unsloth's dynamic _XL mixes
    # raise some layers: both are a little larger than the preset they build on.
    "Q3_K_XL": "Q3_K_L",
    "Q2_K_L": "Q2_K",
    "Q4_K_L": "Q4_K_M",
    "Q4_K_XL": "Q4_K_M",
    "Q5_K_L": "Q5_K_M",
    "Q5_K_XL": "Q5_K_M",
    "Q6_K_L": "Q6_K",
    "Q8_0_L": "Q8_0",
    "Q6_K_XL": "Q6_K",
    "Q8_K_XL": "Q8_0",
    "Q2_K_XL": "Q2_K",
    "Q2_K_XS": "Q2_K_S",  # Unsloth's early DeepSeek-R1 files: smaller than Q2_K
    "IQ2_XXS_L": "IQ2_XXS",
}


def preset_for(quant: str | None) -> Preset | None:
    """The preset a quant name means (``Q4_K_M``, ``q4_k_m``, ``Q4_K_XL`` -> Q4_K_M's), if any."""
    if not quant:
        return None
    q = quant.upper()
    return PRESETS.get(q) or PRESETS.get(ALIASES.get(q, ""))


def preset_name_for_file_type(file_type: int | None) -> str | None:
    p = PRESETS_BY_FILE_TYPE.get(file_type) if file_type is not None else None
    return p.name if p else None


def bits_per_weight(tensor_bytes: int | None, parameters: int | None) -> float | None:
    """A model's bits per weight, the one rule everywhere (library, Hub, command line): the bytes
    of its tensor data x 8 / its parameter count, to two decimals.

    The header (metadata, vocabulary, chat template, tensor table) holds no weights: a small
    model's file size alone overstates the figure (SmolLM2-135M Q4_1: 5.85 from the file size,
    5.74 from its tensors). None when either count is unknown."""
    if not tensor_bytes or not parameters or tensor_bytes <= 0 or parameters <= 0:
        return None
    return round(tensor_bytes * 8 / parameters, 2)


# -- which tensors a preset gives which type (llama.cpp's src/llama-quant.cpp) ---------------------

# The type most tensors of a preset get (llama_ftype_get_default_type).
PRESET_BASE_TYPE = {
    "F32": "F32",
    "F16": "F16",
    "BF16": "BF16",
    "Q8_0": "Q8_0",
    "Q6_K": "Q6_K",
    "Q5_K_M": "Q5_K",
    "Q5_K_S": "Q5_K",
    "Q5_1": "Q5_1",
    "Q5_0": "Q5_0",
    "Q4_K_M": "Q4_K",
    "Q4_K_S": "Q4_K",
    "Q4_1": "Q4_1",
    "Q4_0": "Q4_0",
    "IQ4_XS": "IQ4_XS",
    "IQ4_NL": "IQ4_NL",
    "Q3_K_L": "Q3_K",
    "Q3_K_M": "Q3_K",
    "Q3_K_S": "Q3_K",
    "IQ3_M": "IQ3_S",
    "IQ3_S": "IQ3_S",
    "IQ3_XS": "IQ3_S",
    "IQ3_XXS": "IQ3_XXS",
    "Q2_K": "Q2_K",
    "Q2_K_S": "Q2_K",
    "IQ2_M": "IQ2_S",
    "IQ2_S": "IQ2_XS",
    "IQ2_XS": "IQ2_XS",
    "IQ2_XXS": "IQ2_XXS",
    "IQ1_M": "IQ1_M",
    "IQ1_S": "IQ1_S",
    "TQ2_0": "TQ2_0",
    "TQ1_0": "TQ1_0",
    "MXFP4": "MXFP4",
}
_IQ_LOW = {"IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ1_S", "IQ1_M"}
# A type whose block does not divide a tensor's rows falls back to one with 32-value blocks.
_FALLBACK = {
    "IQ1_S": "IQ4_NL",
    "IQ1_M": "IQ4_NL",
    "IQ2_XXS": "IQ4_NL",
    "IQ2_XS": "IQ4_NL",
    "IQ2_S": "IQ4_NL",
    "IQ3_XXS": "IQ4_NL",
    "IQ3_S": "IQ4_NL",
    "IQ4_XS": "IQ4_NL",
    "Q2_K": "Q4_0",
    "Q3_K": "Q4_0",
    "TQ1_0": "Q4_0",
    "TQ2_0": "Q4_0",
    "Q4_K": "Q5_0",
    "Q5_K": "Q5_1",
    "Q6_K": "Q8_0",
}


@dataclass(frozen=True)
class MixContext:
    """What llama.cpp's choice of tensor types looks at besides the tensor itself."""

    n_layer: int
    gqa: int  # query heads per key/value head
    n_expert: int = 0
    tied: bool = False  # one tensor for token embeddings and output
    is_70b: bool = False  # llama.cpp's LLM_TYPE_70B: attn_v one step up
    imatrix: bool = True  # I-quants are made with an importance matrix
    presets_2023: bool = False  # llama.cpp's 2023 presets (TheBloke's files)
    # llama.cpp before 2026 quantized per_layer_token_embd (Gemma 3n) as an untied token
    # embedding; since, it is a token embedding like any other: at the output's type when tied
    ple_2025: bool = False


def _more_bits(i: int, n: int) -> bool:
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensor_type_for(
    preset: str, role: str, index: int, count: int, n_cols: int, ctx: MixContext
) -> str:
    """The ggml type ``preset`` gives a 2-D tensor of ``role`` (``token_embd``, ``output``,
    ``attn_q``, ``attn_k``, ``attn_v``, ``attn_qkv``, ``attn_output``, ``ffn_gate``, ``ffn_up``,
    ``ffn_down``, ``other``); ``index`` of ``count`` is its place among the tensors of that role
    (the layer, for experts), as llama.cpp's llama_tensor_get_type_impl counts them."""
    base = PRESET_BASE_TYPE[preset]
    if base in ("F32", "F16", "BF16"):
        return base
    t = base
    if ctx.presets_2023 and preset == "Q2_K" and role in _Q2_K_2023:
        return _fit_rows("Q3_K", n_cols)
    embd = role == "token_embd" or (role == "per_layer_token_embd" and not ctx.ple_2025)
    if role == "output" or (ctx.tied and embd):
        if preset == "MXFP4" or n_cols % TENSOR_TYPES[base].block_size:
            t = "Q8_0"
        elif preset in _IQ_LOW or preset == "IQ3_XXS":
            t = "Q5_K"
        elif base != "Q8_0":
            t = "Q6_K"
    elif preset == "MXFP4":
        t = "Q8_0"
    elif role in ("token_embd", "per_layer_token_embd"):
        if preset in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            t = "Q2_K"
        elif preset in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            t = "IQ3_S"
        elif preset in ("TQ1_0", "TQ2_0"):
            t = "Q4_K"
    elif preset in _IQ_LOW:
        t = _iq_low(preset, role, index, count, ctx, t)
    elif role == "attn_v":
        t = _attn_v(preset, index, ctx, t)
    elif role == "attn_k":
        if ctx.n_expert == 8:
            t = "Q8_0"
        elif preset == "IQ3_XS":
            t = "IQ3_XXS"
        elif preset == "IQ3_XXS":
            t = "IQ2_S"
    elif role == "attn_q":
        t = {"IQ3_XS": "IQ3_XXS", "IQ3_XXS": "IQ2_S"}.get(preset, t)
    elif role == "ffn_down":
        t = _ffn_down(preset, index, count, ctx, t)
    elif role == "attn_output":
        if ctx.n_expert == 8:
            if preset in _ATTN_OUT_MOE8:
                t = "Q5_K"
        else:
            t = {
                "Q2_K": "Q3_K",
                "IQ3_XXS": "IQ3_S",
                "Q3_K_M": "Q4_K",
                "Q3_K_L": "Q5_K",
                "IQ3_M": "Q4_K",
            }.get(preset, t)
    elif role == "attn_qkv":
        t = {
            "Q3_K_M": "Q4_K",
            "Q3_K_L": "Q4_K",
            "IQ3_M": "Q4_K",
            "Q4_K_M": "Q5_K",
            "Q5_K_M": "Q6_K",
        }.get(preset, t)
    elif role in ("ffn_gate", "ffn_up"):
        if preset == "IQ3_XS" and count // 8 <= index < 7 * count // 8:
            t = "IQ3_XXS"
    return _fit_rows(t, n_cols)


# The FFN and attn_v/attn_output tensors 2023's Q2_K gave Q3_K (Q2_K became smaller in 2024).
_Q2_K_2023 = ("ffn_gate", "ffn_up", "ffn_down", "attn_v", "attn_output")

_ATTN_OUT_MOE8 = {
    "Q2_K",
    "IQ3_XS",
    "IQ3_XXS",
    "Q3_K_S",
    "Q3_K_M",
    "IQ4_NL",
    "Q4_K_S",
    "Q4_K_M",
    "IQ3_S",
    "IQ3_M",
    "IQ4_XS",
}


def _iq_low(preset: str, role: str, index: int, count: int, ctx: MixContext, t: str) -> str:
    s_or_m = preset in ("IQ2_S", "IQ2_M")
    if role == "attn_v":
        if ctx.gqa >= 4 or ctx.n_expert >= 4:
            return "Q4_K"
        return "IQ3_S" if s_or_m else "Q2_K"
    if role == "attn_k" and ctx.n_expert == 8:
        return "Q4_K"
    if role == "ffn_down" and index < count // 8:
        return "IQ3_S" if s_or_m else "Q2_K"
    if role == "attn_output":
        if ctx.n_expert == 8:
            return "Q5_K"
        if preset in ("IQ1_S", "IQ1_M"):
            return "IQ2_XXS"
        if s_or_m:
            return "IQ3_S"
    return t


def _attn_v(preset: str, i: int, ctx: MixContext, t: str) -> str:
    if preset == "Q2_K":
        t = "Q4_K" if ctx.gqa >= 4 else "Q3_K"
    elif preset == "Q2_K_S" and ctx.gqa >= 4:
        t = "Q4_K"
    elif preset == "IQ3_XXS":
        t = "Q4_K" if ctx.gqa >= 4 else "IQ3_XXS" if ctx.imatrix else "IQ3_S"
    elif (preset in ("IQ3_XS", "IQ3_S") and ctx.gqa >= 4) or preset == "IQ3_M":
        t = "Q4_K"
    elif preset == "Q3_K_M":
        t = "Q5_K" if i < 2 else "Q4_K"
    elif preset == "Q3_K_L" or (preset in ("IQ4_NL", "IQ4_XS") and ctx.gqa >= 4):
        t = "Q5_K"
    elif preset in ("Q4_K_M", "Q5_K_M") and _more_bits(i, ctx.n_layer):
        t = "Q6_K"
    elif preset == "Q4_K_S" and i < 4:
        t = "Q5_K"
    if ctx.is_70b and t in ("Q3_K", "Q4_K"):
        t = "Q5_K"
    if ctx.n_expert == 8:
        t = "Q8_0"
    return t


def _ffn_down(preset: str, i: int, n: int, ctx: MixContext, t: str) -> str:
    if preset == "Q2_K":
        return "Q3_K"
    if preset == "Q2_K_S":
        return "Q4_K" if i < n // 8 else t
    if preset == "IQ3_XXS" and not ctx.imatrix:
        return "Q4_K" if i < n // 8 else "Q3_K"
    if preset == "Q3_K_M":
        return "Q5_K" if i < n // 16 else "Q4_K"
    if preset == "IQ3_M":
        return "Q4_K" if i < n // 8 or (ctx.n_expert == 8 and _more_bits(i, n)) else t
    if preset == "Q3_K_L":
        return "Q5_K"
    if preset == "Q4_K_M":
        return "Q6_K" if _more_bits(i, n) else t
    if preset in ("IQ4_NL", "IQ4_XS"):
        return "Q5_K" if i < n // 8 and not ctx.imatrix else t
    if preset == "Q5_K_M":
        return "Q6_K" if _more_bits(i, n) else t
    if preset == "Q4_K_S":
        return "Q5_K" if i < n // 8 else t
    return t


def _fit_rows(t: str, n_cols: int) -> str:
    tt = TENSOR_TYPES[t]
    if n_cols % tt.block_size == 0:
        return t
    fb = _FALLBACK.get(t, t)
    return fb if n_cols % TENSOR_TYPES[fb].block_size == 0 else "F16"


def tensor_bytes(type_name: str, n_elements: int) -> int:
    tt = TENSOR_TYPES[type_name]
    return n_elements * tt.block_bytes // tt.block_size
