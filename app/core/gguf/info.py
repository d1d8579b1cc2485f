"""What a GGUF model is, from its header alone: architecture, parameters, quant, shapes, template.

``inspect_model(path)`` reads one file or every part of a split model (``-00001-of-00003``) and
never raises for a bad file: the result carries ``valid=False`` and the reason instead.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.core.gguf.header import ArrayInfo, GGUFError, GGUFHeader
from app.core.gguf.local_file import read_header_file
from app.core.gguf.names import display_name, split_names, split_of
from app.core.gguf.quants import TENSOR_TYPES_BY_ID, bits_per_weight, preset_name_for_file_type
from app.core.safe_text import clean_line, clean_text

_LAYER = re.compile(r"^blk\.(\d+)\.")
_ALT_TEMPLATE = "tokenizer.chat_template."
_EXPERTS = re.compile(r"\.ffn_(?:gate|up|down|gate_up)_exps\.")


@dataclass
class ModelInfo:
    """Everything Hearth shows about a model file. Sizes in bytes, counts as integers."""

    path: str
    valid: bool
    error: str | None = None
    parts: list[str] = field(default_factory=list)
    file_size: int = 0
    architecture: str | None = None
    name: str | None = None
    size_label: str | None = None
    parameters: int | None = None
    active_parameters: int | None = None
    quant: str | None = None
    bits_per_weight: float | None = None
    context_length: int | None = None
    block_count: int | None = None
    embedding_length: int | None = None
    head_count: int | None = None
    head_count_kv: int | None = None
    key_length: int | None = None
    value_length: int | None = None
    sliding_window: int | None = None
    sliding_window_pattern: list[bool] | None = None
    expert_count: int | None = None
    expert_used_count: int | None = None
    vocab_size: int | None = None
    has_chat_template: bool = False
    chat_template: str | None = None
    # A file's named alternate templates (``tokenizer.chat_template.<name>``, e.g. ``tool_use``).
    chat_templates: dict[str, str] = field(default_factory=dict)
    license: str | None = None
    is_mmproj: bool = False
    tensor_types: dict[str, int] = field(default_factory=dict)  # type name -> bytes
    tensor_bytes_per_layer: list[int] = field(default_factory=list)
    tensor_bytes_other: int = 0  # embeddings, output, norms outside the layers
    metadata: dict[str, Any] = field(default_factory=dict)  # scalar keys, for the details view

    def to_dict(self, include_template: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not include_template:
            d.pop("chat_template", None)
            d.pop("chat_templates", None)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def display_name(self) -> str:
        return display_name(self.path)


def split_parts(path: Path) -> list[Path] | None:
    """All part paths of a split model, given any of its parts; None for a single file."""
    split = split_of(path.name)
    if split is None:
        return None
    stem, _part, total = split
    return [path.with_name(n) for n in split_names(stem, total)]


def _line(v: Any) -> str | None:
    """A header string to show: one line, no control characters; None if not a string."""
    return (clean_line(v).strip() or None) if isinstance(v, str) else None


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, list) and v and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return max(v)  # per-layer values: the largest decides memory
    return None


def _fill_from_headers(info: ModelInfo, headers: list[GGUFHeader]) -> None:
    first = headers[0]
    g = first.get
    a = first.arch_get
    info.architecture = _line(first.architecture)
    info.name = _line(g("general.name"))
    info.size_label = _line(g("general.size_label"))
    info.license = _line(g("general.license"))
    info.context_length = _int(a("context_length"))
    info.block_count = _int(a("block_count"))
    info.embedding_length = _int(a("embedding_length"))
    info.head_count = _int(a("attention.head_count"))
    info.head_count_kv = _int(a("attention.head_count_kv"))
    if info.head_count_kv is None and info.head_count is not None:
        info.head_count_kv = info.head_count  # no GQA key: every head has its own K and V
    info.key_length = _int(a("attention.key_length"))
    info.value_length = _int(a("attention.value_length"))
    if info.head_count and info.embedding_length:
        info.key_length = info.key_length or info.embedding_length // info.head_count
        info.value_length = info.value_length or info.embedding_length // info.head_count
    info.sliding_window = _int(a("attention.sliding_window")) or None
    pattern = a("attention.sliding_window_pattern")
    if isinstance(pattern, list) and all(isinstance(x, bool) for x in pattern):
        info.sliding_window_pattern = pattern
    info.expert_count = _int(a("expert_count")) or None
    info.expert_used_count = _int(a("expert_used_count")) or None
    tokens = g("tokenizer.ggml.tokens")
    info.vocab_size = _int(a("vocab_size")) or (
        len(tokens) if isinstance(tokens, (ArrayInfo, list)) else None
    )
    info.chat_template = first.chat_template
    info.has_chat_template = info.chat_template is not None
    info.chat_templates = {
        clean_line(k.removeprefix(_ALT_TEMPLATE)): v
        for k, v in first.metadata.items()
        if k.startswith(_ALT_TEMPLATE) and isinstance(v, str) and v.strip()
    }
    info.is_mmproj = info.architecture == "clip" or g("general.type") == "mmproj"
    info.metadata = {
        clean_line(k): clean_text(v) if isinstance(v, str) else v
        for k, v in first.metadata.items()
        if isinstance(v, (int, float, str, bool))
        and k != "tokenizer.chat_template"
        and not k.startswith(_ALT_TEMPLATE)
        and not (isinstance(v, str) and len(v) > 300)
    }

    by_type: Counter[str] = Counter()
    per_layer: dict[int, int] = {}
    other = 0
    params = 0
    expert_params = 0
    for h in headers:
        for t in h.tensors:
            tt = TENSOR_TYPES_BY_ID.get(t.ggml_type)
            by_type[tt.name if tt else str(t.ggml_type)] += t.n_bytes
            params += t.n_elements
            if _EXPERTS.search(t.name):
                expert_params += t.n_elements
            m = _LAYER.match(t.name)
            if m:
                layer = int(m.group(1))
                per_layer[layer] = per_layer.get(layer, 0) + t.n_bytes
            else:
                other += t.n_bytes
    info.tensor_types = dict(sorted(by_type.items(), key=lambda kv: -kv[1]))
    n_layers = max(per_layer) + 1 if per_layer else 0
    info.tensor_bytes_per_layer = [per_layer.get(i, 0) for i in range(n_layers)]
    info.tensor_bytes_other = other
    info.parameters = params or None
    if expert_params and info.expert_count and info.expert_used_count:
        inactive = expert_params * (info.expert_count - info.expert_used_count) // info.expert_count
        info.active_parameters = params - inactive
    info.bits_per_weight = bits_per_weight(sum(by_type.values()), params)
    info.quant = preset_name_for_file_type(_int(g("general.file_type"))) or _dominant_type(by_type)


def _dominant_type(by_type: Counter[str]) -> str | None:
    quantized = {k: v for k, v in by_type.items() if k not in ("F32",)}
    return max(quantized, key=lambda k: quantized[k]) if quantized else None


def info_from_headers(path: str, headers: list[GGUFHeader], file_size: int) -> ModelInfo:
    """Facts from headers read elsewhere (a remote file's header read by range requests)."""
    info = ModelInfo(path=path, valid=True, parts=[path], file_size=file_size)
    _fill_from_headers(info, headers)
    return info


def inspect_model(path: str | os.PathLike[str]) -> ModelInfo:
    """Read a model's header(s). A bad or incomplete file gives ``valid=False`` with the reason."""
    return inspect_model_headers(path)[0]


def inspect_model_headers(path: str | os.PathLike[str]) -> tuple[ModelInfo, list[GGUFHeader]]:
    """``inspect_model`` and the parsed headers of every part (empty when the file is bad)."""
    p = Path(path)
    parts = split_parts(p) or [p]
    info = ModelInfo(path=str(parts[0]), valid=False, parts=[str(x) for x in parts])
    headers: list[GGUFHeader] = []
    for i, part in enumerate(parts):
        try:
            h = read_header_file(part)
        except GGUFError as exc:
            # The reason, as a clause after the file's name (which the caller says): a split
            # model's names its part.
            where = f"part {i + 1} of {len(parts)} ({part.name})" if len(parts) > 1 else ""
            missing = not part.exists() and not part.is_symlink()
            info.error = (
                f"{where} is missing: the split model is incomplete"
                if missing and len(parts) > 1
                else f"{where}: {exc}"
                if where
                else str(exc)
            )
            info.file_size = sum(x.stat().st_size for x in parts if x.exists())
            return info, []
        headers.append(h)
        info.file_size += h.source_size or 0
    if len(parts) > 1:
        declared = headers[0].get("split.count")
        if isinstance(declared, int) and declared != len(parts):
            info.error = (
                f"the header says the model has {declared} parts, the file names say {len(parts)}"
            )
            return info, []
    _fill_from_headers(info, headers)
    info.valid = True
    return info, headers
