"""What an estimate says: the memory each device gives a load, the verdict, and one sentence."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.core.fit.buffers import GiB
from app.core.fit.shape import ModelShape


@dataclass
class DeviceUse:
    name: str
    kind: str
    weights_bytes: int  # the model's tensors held here (for the CPU: mapped from the file)
    kv_cache_bytes: int
    compute_bytes: int
    overhead_bytes: int
    total_bytes: int
    capacity_bytes: int
    free_bytes: int
    repack_bytes: int = 0  # beside the weights: CPU copies of repacked matrices (in the total)
    # Memory-mapped file pages of the repacked matrices: read once while loading, then the OS may
    # drop them, so they count in what llama.cpp maps but not in what must stay in RAM.
    evictable_bytes: int = 0

    @property
    def resident_bytes(self) -> int:
        return self.total_bytes - self.evictable_bytes


@dataclass
class FitResult:
    grade: str
    assumptions: list[str]
    n_ctx: int
    kv_type: str
    gpu_layers: int
    n_layers: int | None
    verdict: str  # "gpu_full", "gpu_partial", "cpu_only", "no_fit"
    total_bytes: int
    devices: list[DeviceUse]
    load_options: dict[str, Any]
    margin_bytes: int  # memory left on the tightest device after this plan (negative: short)
    summary: str
    max_ctx: int | None = None  # with every layer on the GPU: the largest context that still fits
    kv_known: bool = True
    # The model's weights as stored in the file (from the name: the estimate of the file's size),
    # wherever they are placed; the devices' weights add a GPU copy of tied embeddings.
    weights_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(r: FitResult, shape: ModelShape) -> str:
    def gib(n: int) -> str:
        return f"{n / GiB:.1f} GiB"

    cpu = r.devices[0]
    if r.verdict == "no_fit":
        short = -r.margin_bytes
        # What must stay in memory, as the bars show it: mapped file pages the system may drop
        # after loading are not needed.
        needed = sum(u.resident_bytes for u in r.devices)
        return f"Does not fit: {gib(needed)} needed, {gib(short)} more than is free (keeping a safety margin)."
    if r.verdict == "cpu_only":
        return f"Runs on the CPU: {gib(cpu.resident_bytes)} of RAM, {gib(cpu.free_bytes - cpu.resident_bytes)} left."
    gpu = r.devices[1]
    if r.verdict == "gpu_full":
        return f"Fits on the GPU: {gib(gpu.total_bytes)} of {gib(gpu.free_bytes)} free VRAM."
    return (
        f"Partly on the GPU: {r.gpu_layers} of {(r.n_layers or 0) + 1} layers ({gib(gpu.total_bytes)} of VRAM), "
        f"the rest in RAM ({gib(cpu.resident_bytes)})."
    )
