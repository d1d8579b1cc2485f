"""What this machine has: RAM, the CPU and its instruction sets, GPUs and their free memory.

GPUs come from three places: NVIDIA's management library (nvidia-ml-py), Apple Silicon's unified
memory, and the devices the installed llama.cpp build reports (passed in from the engine worker,
which alone loads llama.cpp). Only the last can be used for offloading; the others tell the user
what a GPU build would gain. Probing takes a moment (NVML start-up): run it off the GUI thread.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from app.core.fit.buffers import GiB
from app.core.fit.placement import Device

HOST_RESERVE = 2 * GiB  # RAM kept for the system when planning for another machine (at most)
INTERESTING_FLAGS = (
    "sse3",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "amx_int8",
    "neon",
    "asimd",
    "asimddp",
    "dotprod",
    "i8mm",
    "sve",
)


@dataclass
class Gpu:
    name: str
    backend: str  # CUDA, Metal, Vulkan, ROCm
    total_bytes: int
    free_bytes: int
    source: str  # "llama.cpp", "nvml" or "apple"
    usable: bool  # the installed llama.cpp build can offload to it


@dataclass
class Hardware:
    ram_total: int
    ram_available: int
    cpu_model: str
    physical_cores: int
    logical_cores: int
    cpu_flags: list[str]
    gpus: list[Gpu] = field(default_factory=list)
    build_backend: str = "unknown"  # what the installed llama.cpp was built for
    gpu_offload: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def flags(self) -> set[str]:
        return set(self.cpu_flags)


def _cpu_model_and_flags() -> tuple[str, set[str]]:
    model, flags = platform.processor() or platform.machine(), set()
    if sys.platform.startswith("linux"):
        try:
            text = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            text = ""
        m = re.search(r"^(?:model name|Hardware|Model)\s*:\s*(.+)$", text, re.M)
        if m:
            model = m.group(1).strip()
        m = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", text, re.M)
        if m:
            flags = set(m.group(1).split())
    elif sys.platform == "darwin":
        model = _sysctl("machdep.cpu.brand_string") or model
        if platform.machine() == "arm64":
            flags = {"neon", "asimd"}
            if _sysctl("hw.optional.arm.FEAT_DotProd") == "1":
                flags.add("dotprod")
            if _sysctl("hw.optional.arm.FEAT_I8MM") == "1":
                flags.add("i8mm")
        else:
            flags = {
                f.lower()
                for f in (
                    _sysctl("machdep.cpu.features") + " " + _sysctl("machdep.cpu.leaf7_features")
                ).split()
            }
            flags = {"avx2" if f == "avx2" else f for f in flags}
    if "asimddp" in flags:
        flags.add("dotprod")
    return model, {f for f in flags if f in INTERESTING_FLAGS or f == "dotprod"}


def _sysctl(name: str) -> str:
    try:
        return subprocess.run(
            ["sysctl", "-n", name], capture_output=True, text=True, timeout=2
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _nvml_gpus() -> list[Gpu]:
    try:
        import pynvml
    except ImportError:
        return []
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver, no library: no NVIDIA GPU to report
        return []
    try:
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h)
            gpus.append(
                Gpu(
                    name.decode() if isinstance(name, bytes) else str(name),
                    "CUDA",
                    int(mem.total),
                    int(mem.free),
                    "nvml",
                    False,
                )
            )
        return gpus
    except Exception:
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def metal_fraction(ram_total: int) -> float:
    """The share of unified memory macOS lets Metal keep (recommendedMaxWorkingSetSize): about
    two thirds up to 36 GiB of RAM, three quarters above."""
    return 0.75 if ram_total > 36 * GiB else 2 / 3


def probe_build(build: dict[str, Any]) -> Hardware:
    """Look at this machine with what an engine reported of its llama.cpp build (``build_info``)."""
    return probe(build.get("devices"), build.get("backend"), build.get("gpu_offload"))


# What to check when a GPU build of llama.cpp finds no device.
DRIVER_HINTS = {
    "CUDA": "Is the NVIDIA driver installed and new enough for this CUDA build (nvidia-smi)?",
    "Vulkan": "Is a Vulkan driver installed (vulkaninfo --summary lists the GPUs it sees)?",
    "ROCm": "Does ROCm support this GPU (rocminfo lists it)?",
}


def probe(
    engine_devices: list[dict[str, Any]] | None = None,
    backend: str | None = None,
    gpu_offload: bool | None = None,
) -> Hardware:
    """Look at this machine. ``engine_devices`` are the devices the llama.cpp build reported."""
    vm = psutil.virtual_memory()
    model, flags = _cpu_model_and_flags()
    hw = Hardware(
        ram_total=int(vm.total),
        ram_available=int(vm.available),
        cpu_model=model,
        physical_cores=psutil.cpu_count(logical=False) or os.cpu_count() or 1,
        logical_cores=psutil.cpu_count(logical=True) or os.cpu_count() or 1,
        cpu_flags=sorted(flags),
        build_backend=backend or "unknown",
        gpu_offload=bool(gpu_offload),
    )
    for d in engine_devices or []:
        if d.get("type") in ("gpu", "igpu"):
            hw.gpus.append(
                Gpu(
                    d.get("description") or d["name"],
                    backend or d["name"],
                    int(d["total_bytes"]),
                    int(d["free_bytes"]),
                    "llama.cpp",
                    True,
                )
            )
    if not any(g.source == "llama.cpp" for g in hw.gpus):
        for g in _nvml_gpus():
            hw.gpus.append(g)
        if sys.platform == "darwin" and platform.machine() == "arm64":
            share = metal_fraction(hw.ram_total)
            hw.gpus.append(
                Gpu(
                    "Apple GPU (unified memory)",
                    "Metal",
                    int(hw.ram_total * share),
                    int(min(hw.ram_available, hw.ram_total * share)),
                    "apple",
                    False,
                )
            )
            hw.notes.append(f"Metal may use about {share:.0%} of the unified memory")
    unusable = [g for g in hw.gpus if not g.usable]
    gpu_build = hw.build_backend not in ("CPU", "unknown")
    if gpu_build and not any(g.source == "llama.cpp" for g in hw.gpus):
        hw.notes.append(
            f"This llama.cpp build is for {hw.build_backend}, but it found no {hw.build_backend} "
            f"device: models run on the CPU. {DRIVER_HINTS.get(hw.build_backend, '')}".rstrip()
        )
    elif not hw.gpus:
        hw.notes.append("No GPU found: models run on the CPU.")
    elif unusable and not hw.gpu_offload:
        hw.notes.append(
            f"{unusable[0].name} was found, but the installed llama.cpp build is for the CPU only; "
            "a CUDA, Metal or Vulkan build (see native/) could use it."
        )
    return hw


def host_reserve(ram_bytes: int) -> int:
    """RAM kept for the system of a machine planned for: 2 GiB, or a quarter of a smaller one's
    RAM (a 2 GiB board runs its system in well under 2 GiB; keeping all of it leaves nothing)."""
    return min(HOST_RESERVE, ram_bytes // 4)


def devices_for(
    hw: Hardware, ram_gb: float | None = None, vram_gb: float | None = None
) -> list[Device]:
    """Estimator devices: this machine, or another machine with ``ram_gb`` / ``vram_gb``."""
    if ram_gb is not None or vram_gb is not None:
        ram = int((ram_gb if ram_gb is not None else hw.ram_total / GiB) * GiB)
        devices = [Device("CPU", "cpu", ram, max(0, ram - host_reserve(ram)))]
        if vram_gb:
            vram = int(vram_gb * GiB)
            devices.append(Device("GPU", "gpu", vram, vram, "CUDA"))
        return devices
    devices = [Device(hw.cpu_model or "CPU", "cpu", hw.ram_total, hw.ram_available)]
    for g in hw.gpus:
        if g.usable:
            devices.append(Device(g.name, "gpu", g.total_bytes, g.free_bytes, g.backend))
    return devices
