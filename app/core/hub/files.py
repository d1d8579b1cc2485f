"""A repository's GGUF files as Hearth offers them: quant groups (a split model's parts together),
vision projectors apart, and the group a ``REPO:QUANT`` or ``REPO/FILE`` request means.

A quant's bits per weight follow the library's rule (``quants.bits_per_weight``: tensor data
bytes x 8 / parameters). Before a download only the file sizes are listed, so the bytes that are
not tensor data (the header: metadata, vocabulary, tensor table) are taken away: exactly once the
quant's own header has been read, as measured on another quant's file of the repo once one has,
else estimated from the vocabulary (``estimated_overhead``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from app.core.gguf.names import companion_kind, is_projector_name, parse_name, split_of, unsplit
from app.core.gguf.quants import bits_per_weight, preset_for
from app.core.hub.connection import HubError

# Header bytes per vocabulary token: each token's text, score and type, plus the BPE merges where
# the tokenizer has them. Measured: 36 for SmolLM2 (49,152 tokens, 48,900 merges: 1.79 MB),
# 25 for Gemma 3 (262,144 tokens, no merges: 6.53 MB).
HEADER_BYTES_PER_TOKEN = 30
# The header of a model whose vocabulary is not known: vocabularies of current models are mostly
# 128k-262k tokens (Llama 3, Qwen, Gemma 3), about 4-7 MB at the bytes per token above.
TYPICAL_HEADER_BYTES = 5_000_000
TABLE_BYTES = 64 * 1024  # the tensor table and the other metadata (a few hundred tensors)


def estimated_overhead(size: int, vocab_size: int | None) -> int:
    """Bytes of a GGUF file of ``size`` bytes that are not tensor data, before its header is
    read: from the vocabulary size when known, else a typical header. Never more than a tenth of
    the file (a header is a small part of any model)."""
    guess = (
        vocab_size * HEADER_BYTES_PER_TOKEN + TABLE_BYTES if vocab_size else TYPICAL_HEADER_BYTES
    )
    return min(guess, size // 10)


@dataclass
class HubFile:
    path: str
    size: int
    sha256: str | None


@dataclass
class QuantGroup:
    quant: str
    files: list[HubFile]
    parameters: int | None = None
    verdict: str | None = None
    recommended: bool = False
    fit: Any = None  # the FitResult, when estimated
    shape: Any = None  # the ModelShape it was estimated from
    tensor_bytes: int | None = None  # exact, once this quant's header(s) have been read
    overhead_bytes: int | None = None  # bytes besides tensor data, measured or estimated

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def weight_bytes(self) -> int:
        """The bytes of tensor data: exact from the header, else the size less the header."""
        if self.tensor_bytes is not None:
            return self.tensor_bytes
        overhead = self.overhead_bytes
        if overhead is None:
            overhead = estimated_overhead(self.size_bytes, None)
        return max(self.size_bytes - overhead, 0)

    @property
    def bits_per_weight(self) -> float | None:
        return bits_per_weight(self.weight_bytes, self.parameters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "quant": self.quant,
            "files": [f.path for f in self.files],
            "size_bytes": self.size_bytes,
            "bits_per_weight": self.bits_per_weight,
            "verdict": self.verdict,
            "recommended": self.recommended,
        }


@dataclass
class RepoFiles:
    repo: str
    revision: str
    gated: bool
    groups: list[QuantGroup] = field(default_factory=list)
    projectors: list[HubFile] = field(default_factory=list)
    parameters: int | None = None
    architecture: str | None = None
    context_length: int | None = None
    vocab_size: int | None = None
    reference: Any = None  # the ModelShape read from one quant's header, once read
    reference_read: bool = False  # a header was tried (read or not): not again for these files

    def note_header(self, group: QuantGroup, tensor_bytes: int, parameters: int) -> None:
        """``group``'s header has been read: its tensor bytes are exact, and the other quants'
        headers are about as large as its own (the same metadata and tensor names)."""
        group.tensor_bytes = tensor_bytes
        overhead = max(group.size_bytes - tensor_bytes, 0)
        for g in self.groups:
            if g is not group and g.tensor_bytes is None:
                g.overhead_bytes = min(overhead, g.size_bytes // 10)
            if parameters:
                g.parameters = parameters  # the header's count is the model's own
        if parameters:
            self.parameters = parameters


def group_files(files: list[HubFile]) -> tuple[list[QuantGroup], list[HubFile]]:
    """GGUF files grouped by quant (split parts together); vision projectors apart; files that
    are not models (draft heads, LoRA adapters, vocoders, importance matrices) left out."""
    groups: dict[str, QuantGroup] = {}
    projectors = []
    for f in sorted(files, key=lambda f: f.path):
        name = PurePosixPath(f.path).name
        if not name.lower().endswith(".gguf"):
            continue
        if is_projector_name(name):
            projectors.append(f)
            continue
        if companion_kind(name):  # not a quant of the model (a draft head, an adapter…)
            continue
        parsed = parse_name(name)
        quant = parsed.quant
        if quant is None:
            folder = PurePosixPath(f.path).parent.name  # "Q4_K_M/model-00001-of-00002.gguf"
            quant = (
                folder.upper()
                if preset_for(folder)
                else unsplit(name)[:-5]
                if name.endswith(".gguf")
                else name
            )
        split = split_of(f.path)
        key = f"{quant}|{split[0] if split else f.path}"
        group = groups.setdefault(key, QuantGroup(quant, []))
        group.files.append(f)
    ordered = sorted(groups.values(), key=lambda g: g.size_bytes)
    return ordered, projectors


def choose(files: RepoFiles, target: str | None) -> QuantGroup:
    """The group a ``REPO:QUANT`` or ``REPO/FILE`` request means (None: the recommended one)."""
    if not files.groups:
        raise HubError("not_found", f"The repository {files.repo} has no GGUF files.")
    if target is None:
        rec = [g for g in files.groups if g.recommended]
        if rec:
            return rec[0]
        raise HubError(
            "not_found", "No quant of this model fits this machine: name one (REPO:QUANT)."
        )
    want = target.upper()
    for g in files.groups:
        if g.quant.upper() == want or any(
            f.path == target or PurePosixPath(f.path).name == target for f in g.files
        ):
            return g
    have = ", ".join(g.quant for g in files.groups)
    raise HubError("not_found", f"The repository {files.repo} has no {target!r}; it has {have}.")
