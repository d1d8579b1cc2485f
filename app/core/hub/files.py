"""A repository's GGUF files as Hearth offers them: quant groups (a split model's parts together),
vision projectors apart, and the group a ``REPO:QUANT`` or ``REPO/FILE`` request means."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from app.core.gguf.names import is_projector_name, parse_name, split_of, unsplit
from app.core.gguf.quants import preset_for
from app.core.hub.connection import HubError


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

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def bits_per_weight(self) -> float | None:
        return round(self.size_bytes * 8 / self.parameters, 2) if self.parameters else None

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


def group_files(files: list[HubFile]) -> tuple[list[QuantGroup], list[HubFile]]:
    """GGUF files grouped by quant (split parts together); vision projectors apart."""
    groups: dict[str, QuantGroup] = {}
    projectors = []
    for f in sorted(files, key=lambda f: f.path):
        name = PurePosixPath(f.path).name
        if not name.lower().endswith(".gguf"):
            continue
        if is_projector_name(name):
            projectors.append(f)
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
        raise HubError("not_found", f"{files.repo} has no GGUF files")
    if target is None:
        rec = [g for g in files.groups if g.recommended]
        if rec:
            return rec[0]
        raise HubError(
            "not_found", "no quant of this model fits this machine; name one (REPO:QUANT)"
        )
    want = target.upper()
    for g in files.groups:
        if g.quant.upper() == want or any(
            f.path == target or PurePosixPath(f.path).name == target for f in g.files
        ):
            return g
    have = ", ".join(g.quant for g in files.groups)
    raise HubError("not_found", f"{files.repo} has no {target!r}; it has {have}")
