"""Read what a GGUF file name says: base name, parameters, fine-tune, version, quant, shard.

Follows llama.cpp's naming convention
``<BaseName>-<SizeLabel>-<FineTune>-<Version>-<Encoding>-<Type>-<Shard>.gguf`` and the forms
common on the Hub that deviate from it: dots as separators (``mistral-7b-instruct-v0.2.Q5_K_M``),
lower case, ``i1-`` (imatrix) and ``UD-`` (dynamic) prefixes to the quant, ``8x7B`` expert
counts, ``30B-A3B`` active parameters, ``17B-16E`` expert counts after the size, context lengths
(``128k``, ``1M``) that are not sizes, and vision projectors (``mmproj``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from app.core.gguf.quants import preset_for

_SHARD = re.compile(r"[-._](?:split[-._])?(\d{5})-of-(\d{5})$", re.IGNORECASE)  # ".split-00001-of-"
_QUANT = re.compile(
    r"(?:^|[-._])(?P<imat>i1[-._])?(?P<ud>UD[-._])?"
    r"(?P<quant>I?Q[0-9](?:[_-][0-9]+)*(?:_[A-Z]+|-(?:K|S|M|L|XL|XS|XXS|NL))*|BF16|FP16|F16"
    r"|FP32|F32|MXFP4(?:_MOE)?|TQ[12]_0|I2_S)$",
    re.IGNORECASE,
)
_TUNE_TAIL = re.compile(r"[-._](?:it|pt|instruct|chat)$", re.IGNORECASE)
_SIZE = re.compile(
    r"(?:^|(?<=[-._ ]))(?:(?P<experts>\d+)(?P<x>x))?(?P<num>\d+(?:[._]\d+)?)(?P<unit>[BMKT])"
    r"(?:[-._]A(?P<active>\d+(?:\.\d+)?)(?P<aunit>[BM]))?(?:[-._](?P<nexp>\d+)E)?(?=$|[-._ ])",
    re.IGNORECASE,
)
# "OLMoE-1B-7B": a second size in billions right after the first (not "2B-4T", tokens)
_SIZE_PAIR = re.compile(r"[-._](?P<num>\d+(?:\.\d+)?)(?P<unit>B)(?=$|[-._ ])", re.IGNORECASE)
_ACTIVE_ONLY = re.compile(r"(?:^|[-._ ])A(?P<num>\d+(?:[._]\d+)?)(?P<unit>[BM])(?=$|[-._ ])", re.I)
_VERSION = re.compile(r"^v\d+(?:[._]\d+)*[a-z]?$", re.IGNORECASE)
_DATE_VERSION = re.compile(r"^(?:2[3-9]\d{2}|\d{2}-\d{4}|\d{4})$")
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


@dataclass(frozen=True)
class ParsedName:
    base_name: str | None
    size_label: str | None  # as written: "8B", "8x7B", "30B-A3B", "17B-16E"
    parameters: int | None  # total parameters the name states (experts x size for "8x7B")
    active_parameters: int | None
    experts: int | None
    finetune: str | None
    version: str | None
    quant: str | None  # upper case, as written: "Q4_K_M", "IQ3_M", "Q4_K_XL", "F16"
    preset: str | None  # the llama.cpp preset it means, for estimates: "Q4_K_M"
    dynamic: bool  # "UD-" (dynamic) quant
    ends: str | None  # "Q4_K_M-f16": embeddings and output kept at this type ("F16")
    imatrix: bool  # "i1-" quant made with an importance matrix
    shard: tuple[int, int] | None  # (part, of)
    mmproj: bool  # a vision projector, not a chat model


SPLIT_FILE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


def split_of(name: str) -> tuple[str, int, int] | None:
    """``(stem, part, total)`` of a split model's file name (``x-00002-of-00003.gguf``, as
    llama.cpp's gguf-split names them); None for a single file."""
    m = SPLIT_FILE.search(name)
    return (name[: m.start()], int(m.group(1)), int(m.group(2))) if m else None


def split_names(stem: str, total: int) -> list[str]:
    """Every part's file name of a split model, in order."""
    return [f"{stem}-{i:05d}-of-{total:05d}.gguf" for i in range(1, total + 1)]


def unsplit(name: str) -> str:
    """The name without its ``-0000N-of-0000M`` part number (``.gguf`` kept)."""
    return SPLIT_FILE.sub(".gguf", name) if SPLIT_FILE.search(name) else name


def display_name(path: str) -> str:
    """What Hearth calls a model everywhere (picker, status bar, library, CLI): its file name
    without ``.gguf`` and a split part number. The header's ``general.name`` is not used: it is
    often a converter's tag soup ("Smollm2 135M 8k Lc100K Mix1 Ep2") or another model's name."""
    name = unsplit(os.path.basename(path))
    return name[: -len(".gguf")] if name.lower().endswith(".gguf") else name


def is_projector_name(name: str) -> bool:
    """A vision projector (``mmproj``) by its file name, not a chat model."""
    return "mmproj" in name.lower()


# Files that sit beside a model in its repo and are not one: a speculative-decoding draft head
# (llama.cpp's "mtp-" multi-token-prediction export, EAGLE-3, DFlash and DSpark drafts, Gemma 4's
# "-it-assistant" drafters), an audio model's vocoder or tokenizer, an importance matrix, a LoRA
# adapter (applied over the model it was trained on).
_COMPANION = re.compile(
    r"(?i)^(?:(?P<draft>mtp|draft)|(?P<vocoder>vocoder|audio-?decoder)|(?P<tokenizer>tokenizer))[-_.]"
    r"|(?:^|[-_.])(?P<drafter>eagle-?3|dflash|dspark|it[-_.]assistant)(?=[-_.]|$)"
    r"|(?:^|[-_.])(?P<adapter>lora|adapter)(?![-_.]?merged)(?=[-_.]|$)"
    r"|(?P<imatrix>[-_.]imatrix(?:[-_.]\w+)?\.(?:gguf|dat)$)"
)
_COMPANION_KINDS = {
    "draft": "a speculative-decoding draft head",
    "drafter": "a speculative-decoding draft head",
    "vocoder": "an audio model's vocoder (its audio decoder)",
    "tokenizer": "an audio model's tokenizer",
    "imatrix": "an importance matrix (quantization data)",
    "adapter": "a LoRA adapter",
}


def companion_kind(name: str) -> str | None:
    """What a file that is not a chat model is, by its name ("a vision projector", "a
    speculative-decoding draft head"); None for a model."""
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if is_projector_name(base):
        return "a vision projector"
    m = _COMPANION.search(base)
    if m and m.lastgroup == "adapter":
        # adapters ship at F16 or Q8_0; a K-quant named "…-LoRA-Q4_K_M" is a merged model
        quant = _QUANT.search(base[:-5] if base.lower().endswith(".gguf") else base)
        if quant and quant.group("quant").upper() not in ("F16", "BF16", "F32", "FP16", "Q8_0"):
            return None
    return _COMPANION_KINDS[m.lastgroup] if m and m.lastgroup else None


def _number(text: str) -> float:
    return float(text.replace("_", "."))


def parse_name(filename: str) -> ParsedName:
    name = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if name.lower().endswith(".gguf"):
        name = name[:-5]
    shard = None
    m = _SHARD.search(name)
    if m:
        shard = (int(m.group(1)), int(m.group(2)))
        name = name[: m.start()]
        if name.lower().endswith(".gguf"):  # "….Q2_K.gguf-00001-of-00009.gguf"
            name = name[:-5]
    mmproj = is_projector_name(name)

    quant = ends = None
    dynamic = imatrix = False
    m = _QUANT.search(name)
    suffix = ""
    if not m:  # Google's "gemma-4-31B_q4_0-it": the quant before the chat-tuned suffix
        tail = _TUNE_TAIL.search(name)
        if tail and _QUANT.search(name[: tail.start()]):
            name, suffix = name[: tail.start()], name[tail.start() :]
            m = _QUANT.search(name)
    if m:
        quant = m.group("quant").upper().replace("-", "_")
        quant = {"FP16": "F16", "FP32": "F32"}.get(quant, quant)
        dynamic = bool(m.group("ud"))
        imatrix = bool(m.group("imat"))
        name = name[: m.start()]
        if quant in ("F16", "F32", "BF16"):
            inner = _QUANT.search(name)  # "gemma-2-9b-it-Q8_0-f16": Q8_0, ends kept at F16
            if inner and inner.group("quant").upper() not in ("F16", "F32", "BF16"):
                ends, quant = quant, inner.group("quant").upper().replace("-", "_")
                dynamic, imatrix = bool(inner.group("ud")), bool(inner.group("imat"))
                name = name[: inner.start()]
    rest = (name + suffix).strip("-._ ")

    # Sizes: the first billions-sized label wins; millions only when there is none; K is
    # nearly always a context length ("128k") and is ignored.
    size = None
    only_active = _ACTIVE_ONLY.search(rest)
    for cand in _SIZE.finditer(rest):
        unit = cand.group("unit").upper()
        if unit == "K" or (only_active and only_active.start() <= cand.start() < only_active.end()):
            continue
        if size is None or (unit in "BT" and size.group("unit").upper() not in "BT"):
            size = cand
        if unit in "BT":
            break

    parameters = active = experts = None
    size_label = None
    before, after = rest, ""
    total = None
    if size is not None and size.group("x"):
        # "Llama-3.2-8X3B-MOE-…-18.4B": a later plain size is the merged model's real total.
        for later in _SIZE.finditer(rest, size.end()):
            if later.group("unit").upper() == "B" and not later.group("x"):
                total = int(_number(later.group("num")) * 1e9)
                break
    if size is None:
        # "Qwen1.5-MoE-A2.7B": only the active parameters are named.
        m = only_active
        if m:
            active = int(_number(m.group("num")) * _SCALE[m.group("unit").upper()])
            size_label = m.group(0).strip("-._ ")
            before, after = rest[: m.start()], rest[m.end() :]
    if size is not None:
        unit = size.group("unit").upper()
        per = _number(size.group("num")) * _SCALE[unit]
        if size.group("x"):
            experts = int(size.group("experts"))
            parameters = total or int(per * experts)
        else:
            parameters = int(per)
        if size.group("active"):
            active = int(_number(size.group("active")) * _SCALE[size.group("aunit").upper()])
        if size.group("nexp"):
            experts = int(size.group("nexp"))
            active, parameters = parameters, None  # "17B-16E": 17B active of 16 experts
        size_label = size.group(0).strip("-._ ")
        before, after = rest[: size.start()], rest[size.end() :]
        pair = _SIZE_PAIR.match(after)
        if pair and not size.group("x") and not active and parameters:
            # "OLMoE-1B-7B": active, then total parameters
            second = int(_number(pair.group("num")) * _SCALE[pair.group("unit").upper()])
            if second > parameters:
                active, parameters = parameters, second
                size_label += pair.group(0).rstrip("-._ ")
                after = after[pair.end() :]

    base = before.strip("-._ ") or None
    finetune, version = _finetune_and_version(after.strip("-._ "))
    if size is None and size_label is None and base:
        # No size label: fine-tune and version words sit at the end of the base name.
        base, finetune, version = _split_unsized(base)
    preset = preset_for(quant)
    return ParsedName(
        base_name=base,
        size_label=size_label,
        parameters=parameters,
        active_parameters=active,
        experts=experts,
        finetune=finetune,
        version=version,
        quant=quant,
        preset=preset.name if preset else None,
        dynamic=dynamic,
        ends=ends,
        imatrix=imatrix,
        shard=shard,
        mmproj=mmproj,
    )


_FINETUNE_WORDS = {"instruct", "chat", "it", "base", "dpo", "sft", "rlhf", "hf", "qat", "thinking"}


def _tokens(text: str) -> list[str]:
    # Split on "-" and "_" always, on "." only where it is not a decimal point or version dot.
    return [t for t in re.split(r"[-_ ]|\.(?!\d)", text) if t]


def _finetune_and_version(text: str) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    tokens = _tokens(text)
    version = None
    for i in range(len(tokens) - 1, -1, -1):
        if _VERSION.match(tokens[i]) or _DATE_VERSION.match(tokens[i]):
            version = tokens.pop(i)
            break
    finetune = "-".join(tokens) or None
    return finetune, version


def _split_unsized(base: str) -> tuple[str | None, str | None, str | None]:
    """Peel fine-tune words and a version off the end of a name that has no size label."""
    spans = [m for m in re.finditer(r"[^-_ .]+(?:\.\d+)*", base)]
    version = None
    finetune: list[str] = []
    cut = len(base)
    while spans:
        tok = spans[-1].group(0)
        if tok.lower() in _FINETUNE_WORDS:
            finetune.insert(0, tok)
        elif version is None and not finetune and (_VERSION.match(tok) or _DATE_VERSION.match(tok)):
            version = tok
        else:
            break
        cut = spans.pop().start()
    return (base[:cut].strip("-._ ") or None), ("-".join(finetune) or None), version
