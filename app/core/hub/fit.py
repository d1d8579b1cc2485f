"""Fit verdicts for every quant of a Hub repository, and the one to recommend.

One header is read over HTTP range requests (from the smallest quant, every part of it): it gives
the model's shape and tensor table. Each quant's tensors are that table scaled to the quant's
exact size on the Hub, so placement per device stays right. When no header can be read, the
estimate falls back to the file name and size.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from app.core.fit.placement import Device, FitOptions, estimate
from app.core.fit.shape import (
    FitError,
    ModelShape,
    Tensor,
    looks_exact,
    shape_from_info,
    shape_from_name,
    tensors_from_headers,
)
from app.core.gguf.info import info_from_headers
from app.core.hub.client import Hub
from app.core.hub.connection import HubError
from app.core.hub.files import QuantGroup, RepoFiles
from app.core.quality.measured import lookup
from app.core.quality.published import ExpectedLoss, describe, expected_loss

MAX_RECOMMENDED_BPW = 9.0  # Q8_0 and below (its small-model files reach ~8.6); F16 and F32 are
# slower for no visible gain
GIB = 1 << 30


def reference_shape(hub: Hub, files: RepoFiles, tries: int = 3) -> ModelShape | None:
    """The shape from the smallest readable quant's header(s), or None when none can be read.

    Read once per ``files``: the read quant's tensor bytes become exact and the other quants'
    header size is known (``RepoFiles.note_header``), so bits per weight follow the library's
    rule."""
    if files.reference_read:
        return files.reference  # type: ignore[no-any-return]
    shape = _read_reference(hub, files, tries)
    files.reference, files.reference_read = shape, True
    return shape


def _read_reference(hub: Hub, files: RepoFiles, tries: int) -> ModelShape | None:
    for group in sorted(files.groups, key=lambda g: g.size_bytes)[:tries]:
        try:
            headers = [hub.read_header(files.repo, f, files.revision) for f in group.files]
            info = info_from_headers(group.files[0].path, headers, group.size_bytes)
            shape = shape_from_info(info, tensors_from_headers(headers), "header")
        except HubError as exc:
            if exc.code in ("gated", "offline"):
                return None  # no other file will do better
            continue
        except Exception:  # a damaged or unusual file: try the next quant
            continue
        tensors = [t for h in headers for t in h.tensors]
        files.note_header(
            group, sum(t.n_bytes for t in tensors), sum(t.n_elements for t in tensors)
        )
        name = PurePosixPath(group.files[0].path).name
        shape.assumptions = [f"shape read from the header of {name}"]
        return shape
    return None


def shape_for_group(reference: ModelShape | None, group: QuantGroup) -> ModelShape:
    """``group``'s shape: the reference scaled to the group's size, or from its file name."""
    name = PurePosixPath(group.files[0].path).name
    if reference is None or not reference.tensors:
        return shape_from_name(name, group.parameters, None, group.size_bytes)
    ratio = group.weight_bytes / max(reference.weights_bytes, 1)
    tensors = [
        Tensor(t.name, t.type_name, t.shape, int(t.n_bytes * ratio)) for t in reference.tensors
    ]
    shape = replace(reference, tensors=tensors, weights_bytes=sum(t.n_bytes for t in tensors))
    shape.assumptions = [
        *reference.assumptions,
        f"weights: the {group.quant} files' size on the Hub",
    ]
    return shape


def estimate_groups(
    hub: Hub,
    files: RepoFiles,
    devices: list[Device],
    cpu_flags: set[str],
    opts: FitOptions,
    measured: list[dict[str, Any]] | None = None,
) -> list[QuantGroup]:
    """Set ``verdict``, ``fit`` and ``recommended`` on each quant group; returns the groups."""
    reference = reference_shape(hub, files)
    for g in files.groups:
        try:
            o = replace(opts)
            shape = shape_for_group(reference, g)
            if shape.n_ctx_train and o.n_ctx > shape.n_ctx_train:
                o.n_ctx = shape.n_ctx_train
            g.shape = shape
            g.fit = estimate(shape, o, devices, cpu_flags)
            g.verdict = g.fit.verdict
            if g.parameters is None and shape.parameters:
                g.parameters = shape.parameters
        except FitError:
            g.fit, g.verdict = None, None
    recommend(files.groups, any(d.kind == "gpu" for d in devices), measured)
    return files.groups


# A quant is comfortable when this share of the memory it needs is still free after it (on the
# device it must fit: the GPU when there is one); a tighter fit is offered only when none is.
COMFORT_SHARE = 0.10


def group_loss(g: QuantGroup, measured: list[dict[str, Any]] | None = None) -> ExpectedLoss | None:
    """``g``'s expected mean KL divergence: measured here when a measurement of that file's model
    and quant is stored, else llama.cpp's published figure for its preset, scaled to its size."""
    name = PurePosixPath(g.files[0].path).name if g.files else g.quant
    m = lookup(measured or [], name, g.quant)
    if m is not None:
        ref = m.get("reference_quant") or "the reference"
        return ExpectedLoss(
            float(m["kl_mean"]),
            "measured",
            f"{g.quant}: measured on this machine against {ref} "
            f"({m.get('chunks')} chunks of {m.get('n_ctx')} tokens of {m.get('text')})",
        )
    return expected_loss(g.quant, g.parameters, g.bits_per_weight)


def recommend(
    groups: list[QuantGroup], has_gpu: bool, measured: list[dict[str, Any]] | None = None
) -> QuantGroup | None:
    """The quant with the least expected loss that fully fits (on the GPU when there is one,
    else in RAM) with room to spare; the smaller one when two lose the same. F16 and F32 are left
    out while a quant of 9 bits or fewer fits: they are slower for a loss no one can see."""
    for g in groups:
        g.recommended = False
    full = "gpu_full" if has_gpu else "cpu_only"
    fitting = [g for g in groups if g.verdict == full]
    if not fitting:
        return None
    small = [g for g in fitting if (g.bits_per_weight or 99) <= MAX_RECOMMENDED_BPW]
    fitting = small or fitting
    comfortable = [g for g in fitting if _spare_share(g) >= COMFORT_SHARE]
    pool = comfortable or fitting

    def key(g: QuantGroup) -> tuple[float, int]:
        loss = group_loss(g, measured)
        kld = loss.kld if loss is not None else 1.0 / max(g.bits_per_weight or 1.0, 1.0)
        return (round(kld, 6), g.size_bytes)

    best = min(pool, key=key)
    best.recommended = True
    return best


def _spare_share(g: QuantGroup) -> float:
    fit = g.fit
    if fit is None or not getattr(fit, "total_bytes", 0):
        return 1.0
    return float(fit.margin_bytes) / float(fit.total_bytes)


def why_recommended(g: QuantGroup, measured: list[dict[str, Any]] | None = None) -> str:
    """One line: where it fits and how much room is left, and what it loses."""
    fit = g.fit
    where = "fits"
    if fit is not None:
        place = "on the GPU" if fit.verdict == "gpu_full" else "in RAM"
        where = f"fits {place} with {max(fit.margin_bytes, 0) / GIB:.1f} GiB to spare"
    loss = group_loss(g, measured)
    if loss is None:
        return f"{g.quant}: {where}; its loss is unknown"
    label = {"measured": "measured", "published": "expected", "guess": "a rough guess"}
    return (
        f"{g.quant}: {where}; about {loss.kld:.3g} KL divergence ({label[loss.source]}), "
        f"{describe(loss.kld)}"
    )


SEARCH_QUANT = "Q4_K_M"  # the quant most repos offer and most users pick


def hit_verdict(
    repo: str, parameters: int | None, devices: list[Device], cpu_flags: set[str], opts: FitOptions
) -> str | None:
    """Whether a search result's model fits here at Q4_K_M (None when its size is unknown).

    A search hit has no file list yet: the name and parameter count give the shape."""
    if not parameters:
        return None
    name = repo.split("/")[-1].removesuffix("-GGUF").removesuffix("-gguf")
    try:
        source = "the Hub's GGUF metadata" if looks_exact(parameters) else None
        shape = shape_from_name(
            f"{name}-{SEARCH_QUANT}.gguf", parameters, SEARCH_QUANT, params_source=source
        )
        o = replace(opts)
        if shape.n_ctx_train and o.n_ctx > shape.n_ctx_train:
            o.n_ctx = shape.n_ctx_train
        return estimate(shape, o, devices, cpu_flags).verdict
    except FitError:
        return None
