"""Making a quant: the presets llama.cpp's quantizer offers, what a source may become, the output's
name and size, and the free-space check before anything is written."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.core.gguf.quants import preset_for

# llama.cpp's quantize presets (tools/quantize/quantize.cpp) and their llama_ftype values.
FILE_TYPES: dict[str, int] = {
    "Q1_0": 40,
    "Q2_0": 41,
    "Q4_0": 2,
    "Q4_1": 3,
    "MXFP4_MOE": 38,
    "Q5_0": 8,
    "Q5_1": 9,
    "IQ2_XXS": 19,
    "IQ2_XS": 20,
    "IQ2_S": 28,
    "IQ2_M": 29,
    "IQ1_S": 24,
    "IQ1_M": 31,
    "TQ1_0": 36,
    "TQ2_0": 37,
    "Q2_K": 10,
    "Q2_K_S": 21,
    "IQ3_XXS": 23,
    "IQ3_S": 26,
    "IQ3_M": 27,
    "IQ3_XS": 22,
    "Q3_K_S": 11,
    "Q3_K_M": 12,
    "Q3_K_L": 13,
    "IQ4_NL": 25,
    "IQ4_XS": 30,
    "Q4_K_S": 14,
    "Q4_K_M": 15,
    "Q5_K_S": 16,
    "Q5_K_M": 17,
    "Q6_K": 18,
    "Q8_0": 7,
    "F16": 1,
    "BF16": 32,
    "F32": 0,
}
ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "FP16": "F16", "FP32": "F32"}
# Very low-bit types that llama.cpp refuses to make without an importance matrix ("the result
# will be garbage"); Hearth does not compute one.
NEEDS_IMATRIX = frozenset(
    {"IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ2_M", "IQ3_XXS", "Q2_K_S"}
)
# Sources quantized without loss worth mentioning; Q8_0 is re-quantized without asking (it is
# practically lossless, and llama.cpp's tool accepts it with --allow-requantize).
FULL_PRECISION = frozenset({"F32", "F16", "BF16"})
NEAR_LOSSLESS = frozenset({"Q8_0"})
# Bits per weight of presets the quant table does not know, for the size estimate.
_BPW_FALLBACK = {"Q1_0": 1.2, "Q2_0": 2.4, "TQ1_0": 1.8, "TQ2_0": 2.2, "MXFP4_MOE": 4.5}
REQUANTIZE_WARNING = (
    "requantizing an already quantized file compounds the loss: the result is worse than the same "
    "quant made from the original F16/BF16 weights"
)


class QuantizeError(ValueError):
    """A quantization that cannot or must not be done (the message says why and what to do)."""


def canonical_type(name: str) -> str:
    t = name.strip().upper().replace("-", "_")
    t = ALIASES.get(t, t)
    if t not in FILE_TYPES:
        raise QuantizeError(
            f"Unknown quant type {name!r}; llama.cpp's quantizer offers: " + ", ".join(FILE_TYPES)
        )
    return t


@dataclass(frozen=True)
class QuantizePlan:
    source: Path
    out: Path
    type: str
    file_type: int
    requantize: bool  # the source's tensors are quantized (llama.cpp's allow_requantize)
    source_type: str | None
    estimated_bytes: int
    warnings: tuple[str, ...]


_QUANT_IN_NAME = re.compile(
    r"(?i)([-._])(?:i1[-_])?(?:UD[-_])?(?:IQ\d_[A-Z0-9]+|Q\d_K(?:_[A-Z]+)?|Q\d_\d|TQ\d_\d|"
    r"MXFP4(?:_MOE)?|BF16|F16|F32|FP16|FP32)(?=$|[-._])"
)


def output_name(source: Path, type_name: str) -> str:
    """The source's file name with its quant replaced (or added): ``x-Q4_K_M.gguf`` -> ``x-Q8_0.gguf``."""
    stem = source.name[: -len(".gguf")] if source.name.lower().endswith(".gguf") else source.name
    new, n = _QUANT_IN_NAME.subn(lambda m: f"{m.group(1)}{type_name}", stem, count=1)
    return f"{new if n else f'{stem}-{type_name}'}.gguf"


TensorSize = tuple[str, int, int]  # name, elements, dimensions


def estimate_bytes(type_name: str, tensors: list[TensorSize], metadata_bytes: int) -> int:
    """The output's size, a little on the high side: matrices at the preset's typical bits per
    weight (15% more for the layers kept at higher precision), embeddings and output at up to
    8.5 bits (llama.cpp keeps them higher), vectors in F32, plus the metadata."""
    preset = preset_for(type_name)
    bpw = preset.bits_per_weight if preset else _BPW_FALLBACK.get(type_name, 8.5)
    total = 0.0
    for name, n, dims in tensors:
        if dims < 2:
            total += n * 4
        elif name.startswith(("token_embd", "output.")):
            total += n * max(bpw, 8.5) / 8
        else:
            total += n * bpw / 8 * 1.15
    return int(total) + metadata_bytes + (1 << 20)


def plan_quantize(
    source: Path,
    type_name: str,
    source_type: str | None,
    tensors: list[TensorSize],
    metadata_bytes: int,
    out: Path | None = None,
    allow_requantize: bool = False,
) -> QuantizePlan:
    """Check a quantization before it starts: type, source, output path (ValueError: why not)."""
    t = canonical_type(type_name)
    if t in NEEDS_IMATRIX:
        raise QuantizeError(
            f"{t} needs an importance matrix (llama.cpp refuses to make it without one: at so few "
            "bits the result would be garbage) and Hearth does not compute one; choose Q2_K or more"
        )
    src_t = source_type.upper() if source_type else None
    warnings: list[str] = []
    requantize = src_t not in FULL_PRECISION
    if requantize and src_t not in NEAR_LOSSLESS and not allow_requantize:
        raise QuantizeError(
            f"{source.name} is already quantized ({src_t or 'unknown type'}); {REQUANTIZE_WARNING}. "
            "Quantize the F16/BF16 original if you have it, or pass --allow-requantize"
        )
    if requantize and src_t not in NEAR_LOSSLESS:
        warnings.append(f"{source.name} is {src_t or 'already quantized'}: {REQUANTIZE_WARNING}")
    if src_t == t:
        warnings.append(f"{source.name} is already {t}: the result is a re-encoded copy")
    target = out if out is not None else source.with_name(output_name(source, t))
    if target.is_dir():
        target = target / output_name(source, t)
    if target.resolve() == source.resolve():
        raise QuantizeError("The output would overwrite the source; the source is never touched")
    if target.exists():
        raise QuantizeError(f"{target} already exists; choose another --out or remove it first")
    if not target.parent.is_dir():
        raise QuantizeError(f"The folder {target.parent} does not exist")
    need = estimate_bytes(t, tensors, metadata_bytes)
    return QuantizePlan(source, target, t, FILE_TYPES[t], requantize, src_t, need, tuple(warnings))


def check_free_space(folder: Path, need: int) -> None:
    """Refuse before writing when the disk cannot hold the output (and 256 MiB to spare)."""
    free = shutil.disk_usage(folder).free
    if free < need + (256 << 20):
        raise QuantizeError(
            f"Not enough free space in {folder}: the result needs about {need / 1e9:.2f} GB and "
            f"{free / 1e9:.2f} GB is free"
        )
