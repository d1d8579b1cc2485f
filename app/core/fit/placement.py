"""Where llama.cpp puts a model's tensors and buffers, how many layers the GPU takes, the verdict.

* weights: each tensor where llama.cpp 0.3.36 puts it. ``n_gpu_layers = k`` offloads the output
  layer first, then the last ``k - 1`` repeating layers; token embeddings always stay on the CPU;
  tied embeddings are copied to the GPU with the output layer. On the CPU the file is
  memory-mapped, and repacked matrices (``buffers``) add a CPU copy.
* KV cache: the GPU that holds a layer holds its cache.
* overhead llama.cpp does not report: the worker process and its graph metadata on the CPU, the
  driver context on a GPU.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from app.core.fit.buffers import (
    CTX_PAD,
    KV_BYTES_PER_VALUE,
    NAME_REPACK,
    MiB,
    attention_cells_and_masks,
    compute_bytes,
    kv_bytes_per_layer,
    output_bytes,
    repack_types,
)
from app.core.fit.result import DeviceUse, FitResult, summarize
from app.core.fit.shape import FitError, ModelShape

CPU_OVERHEAD = (
    96 * MiB
)  # the worker (Python, llama.cpp) and graph metadata, measured with bench/bench_fit.py
# The GPU runtime's own memory: CUDA measured with bench/bench_gpu.py on an H200 (CUDA 13.0, driver
# 580): the worker held 598-605 MiB beyond llama.cpp's buffers with 0, 10 and 31 of SmolLM2's
# layers there (context, cuBLAS, llama.cpp's memory pool, which grew by 4 MiB over a 900-token
# prompt); 640 leaves the pool room to grow with larger matrices. ROCm is taken to be alike;
# Vulkan and Metal are smaller runtimes.
GPU_OVERHEAD = {"CUDA": 640 * MiB, "ROCm": 640 * MiB, "Vulkan": 128 * MiB, "Metal": 32 * MiB}

_LAYER = re.compile(r"^blk\.(\d+)\.")
_INPUT = ("token_embd.", "token_embd_norm.", "position_embd.", "token_types.")


@dataclass
class Device:
    name: str
    kind: str  # "cpu" or "gpu"
    capacity_bytes: int
    free_bytes: int
    backend: str = "CPU"  # CPU, CUDA, Metal, Vulkan, ROCm


@dataclass
class FitOptions:
    n_ctx: int = 4096
    kv_type: str = "f16"
    n_batch: int = 512
    n_ubatch: int = 512
    flash_attn: str = "auto"  # "auto", "on", "off"
    n_gpu_layers: int | str = "auto"  # a number (-1: all) or "auto": the planner decides
    swa_full: bool = False
    use_mmap: bool = True

    @classmethod
    def from_load(cls, load: Any) -> FitOptions:
        """The estimate's options from the app's ``LoadOptions`` (GPU layers None: auto)."""
        return cls(
            n_ctx=load.n_ctx,
            kv_type=load.kv_type,
            n_batch=load.n_batch,
            n_ubatch=load.n_ubatch,
            flash_attn=load.flash_attn,
            n_gpu_layers="auto" if load.n_gpu_layers is None else load.n_gpu_layers,
        )


def _layer_of(name: str, n_layer: int) -> int:
    """The layer index a tensor belongs to: 0..n_layer-1, n_layer for the output, -1 for input."""
    m = _LAYER.match(name)
    if m:
        return int(m.group(1))
    if name.startswith(_INPUT):
        return -1
    return n_layer


def n_gpu_to_first_gpu_layer(n_gpu: int, n_layer: int) -> int:
    """llama.cpp offloads the output layer first, then repeating layers from the last."""
    return max(n_layer + 1 - n_gpu, 0)


def estimate(
    shape: ModelShape,
    opts: FitOptions,
    devices: list[Device],
    cpu_flags: set[str] | None = None,
) -> FitResult:
    """How ``shape`` loads with ``opts`` on ``devices`` (the first is the CPU), and the verdict."""
    _check_options(shape, opts)
    gpus = [d for d in devices[1:] if d.kind == "gpu"]
    n_layer = shape.n_layer or 0
    assumptions = list(shape.assumptions)
    if opts.n_gpu_layers == "auto":
        n_gpu, max_ctx = plan_offload(shape, opts, devices, cpu_flags)
        if gpus:
            assumptions.append(
                f"GPU layers chosen to fit: {n_gpu} of {n_layer + 1} (including the output layer)"
            )
    else:
        n_gpu = int(opts.n_gpu_layers)
        n_gpu = n_layer + 1 if n_gpu < 0 else min(n_gpu, n_layer + 1)
        if not gpus:
            n_gpu = 0
        max_ctx = None
    result = _place(shape, opts, devices, n_gpu, cpu_flags, assumptions)
    result.max_ctx = max_ctx if n_gpu >= n_layer + 1 and gpus else None
    return result


def _check_options(shape: ModelShape, opts: FitOptions) -> None:
    if not isinstance(opts.n_ctx, int) or opts.n_ctx <= 0:
        raise FitError(f"the context length must be a positive number of tokens, not {opts.n_ctx}")
    if shape.n_ctx_train and opts.n_ctx > shape.n_ctx_train:
        raise FitError(
            f"the context length {opts.n_ctx:,} is beyond what this model was trained for "
            f"({shape.n_ctx_train:,} tokens)"
        )
    if opts.kv_type not in KV_BYTES_PER_VALUE:
        raise FitError(f"unknown KV cache type {opts.kv_type!r}; use f16, q8_0 or q4_0")
    if opts.kv_type != "f16" and opts.flash_attn == "off":
        raise FitError(
            f"a {opts.kv_type} KV cache needs flash attention (llama.cpp quantizes V only with it)"
        )
    if opts.n_ubatch <= 0 or opts.n_batch <= 0:
        raise FitError("batch sizes must be positive")


def _flash(opts: FitOptions) -> bool:
    return (
        opts.flash_attn != "off"
    )  # "auto" turns it on where the backend has it (CPU, CUDA, Metal)


def _place(
    shape: ModelShape,
    opts: FitOptions,
    devices: list[Device],
    n_gpu: int,
    cpu_flags: set[str] | None,
    assumptions: list[str],
) -> FitResult:
    cpu = devices[0]
    gpus = [d for d in devices[1:] if d.kind == "gpu"]
    gpu = gpus[0] if gpus else None
    n_layer = shape.n_layer or 0
    first_gpu = n_gpu_to_first_gpu_layer(n_gpu, n_layer) if gpu else n_layer + 1
    output_on_gpu = gpu is not None and n_gpu >= 1
    flash = _flash(opts)
    repackable = repack_types(cpu_flags or set())

    w_cpu = w_gpu = repack = 0
    largest_cpu_matrix = 0
    if shape.tensors is not None:
        tied = not any(t.name == "output.weight" for t in shape.tensors)
        for t in shape.tensors:
            layer = _layer_of(t.name, n_layer)
            on_gpu = gpu is not None and layer >= first_gpu
            if on_gpu:
                w_gpu += t.n_bytes
            else:
                w_cpu += t.n_bytes
                matrix = len(t.shape) >= 2 and t.name.endswith(".weight") and layer >= 0
                if matrix:
                    largest_cpu_matrix = max(largest_cpu_matrix, t.n_bytes)
                if matrix and t.type_name in repackable and t.shape[1] % 8 == 0:
                    repack += t.n_bytes
            if tied and t.name == "token_embd.weight":
                if output_on_gpu:
                    w_gpu += t.n_bytes  # the output layer gets its own copy of the tied embeddings
                else:  # the output layer multiplies by them on the CPU
                    largest_cpu_matrix = max(largest_cpu_matrix, t.n_bytes)
        if repack:
            assumptions.append(
                f"{repack / MiB:,.0f} MiB of quantized matrices repacked for this CPU (CPU_REPACK)"
            )
    else:
        # Name grade: spread the weights evenly over the layers, plus an output share.
        per_layer = shape.weights_bytes / (n_layer + 2) if n_layer else shape.weights_bytes
        gpu_layers = max(0, min(n_gpu, n_layer + 1)) if gpu else 0
        w_gpu = int(per_layer * gpu_layers)
        w_cpu = shape.weights_bytes - w_gpu
        largest_cpu_matrix = int(per_layer / 3) if n_layer else 0
        if not output_on_gpu:  # the output layer's share, multiplied on the CPU
            largest_cpu_matrix = int(per_layer)
        base, share = NAME_REPACK.get(shape.quant or "", ("", 0.0))
        if base in repackable and n_layer:
            cpu_layers = n_layer - max(0, gpu_layers - 1)
            repack = int(per_layer * cpu_layers * share)
            assumptions.append(
                f"about {share:.0%} of the CPU layers' weights ({base}) repacked for this CPU (CPU_REPACK)"
            )

    kv = kv_bytes_per_layer(shape, opts.n_ctx, opts.kv_type, opts.n_ubatch, opts.swa_full)
    kv_gpu = sum(b for il, b in enumerate(kv) if gpu is not None and il >= first_gpu)
    kv_cpu = sum(kv) - kv_gpu
    kv_known = shape.shape_known

    layers_on_cpu = first_gpu > 0 or gpu is None
    layers_on_gpu = gpu is not None and first_gpu < n_layer
    # A micro-batch of 32 tokens or more that meets CPU-held weights is multiplied on the GPU
    # (llama.cpp's op offload; Metal shares the memory and does not), so the CPU then runs no
    # layer of it. This holds with no layer on the GPU too: a GPU build still keeps a compute
    # buffer and its runtime there (measured with CUDA: 126 MiB and 598 MiB for SmolLM2).
    op_offload = gpu is not None and opts.n_ubatch >= 32 and gpu.backend != "Metal"
    host_inputs_only = op_offload or (gpu is not None and n_gpu >= 1 and not layers_on_cpu)
    c_cpu = compute_bytes(
        shape,
        opts.n_ctx,
        opts.n_ubatch,
        flash,
        not output_on_gpu and not op_offload,
        layers_on_cpu and not host_inputs_only,
        opts.swa_full,
        opts.kv_type != "f16",
    )
    if host_inputs_only:
        # Graph inputs stay in host memory and are copied to the GPU: the attention masks too.
        _cells, masks = attention_cells_and_masks(
            shape, opts.n_ctx, opts.n_ubatch, flash, opts.swa_full
        )
        c_cpu += masks
    c_gpu = 0
    uses_gpu = gpu is not None and (n_gpu >= 1 or op_offload)
    if uses_gpu:
        c_gpu = compute_bytes(
            shape,
            opts.n_ctx,
            opts.n_ubatch,
            flash,
            True,
            layers_on_gpu,
            opts.swa_full,
            opts.kv_type != "f16",
        )
        if layers_on_cpu and op_offload:
            # The CPU-held layers' weights are copied over one matrix at a time: room for one.
            c_gpu += largest_cpu_matrix
    c_cpu += output_bytes(shape)  # part of the CPU's compute figure

    uses = [
        DeviceUse(
            cpu.name,
            "cpu",
            w_cpu,
            kv_cpu,
            c_cpu,
            CPU_OVERHEAD,
            0,
            cpu.capacity_bytes,
            cpu.free_bytes,
            repack,
            repack if opts.use_mmap else 0,
        )
    ]
    if gpu is not None:
        over = GPU_OVERHEAD.get(gpu.backend, 256 * MiB) if uses_gpu else 0
        uses.append(
            DeviceUse(
                gpu.name, "gpu", w_gpu, kv_gpu, c_gpu, over, 0, gpu.capacity_bytes, gpu.free_bytes
            )
        )
        if gpu.backend in GPU_OVERHEAD and uses_gpu:
            assumptions.append(f"{gpu.backend} runtime on the GPU: {over / MiB:.0f} MiB")
    for u in uses:
        u.total_bytes = (
            u.weights_bytes + u.repack_bytes + u.kv_cache_bytes + u.compute_bytes + u.overhead_bytes
        )

    margins = [u.free_bytes - _margin(u) - u.resident_bytes for u in uses]
    fits = all(m >= 0 for m in margins)
    if not fits:
        verdict = "no_fit"
    elif gpu is None or n_gpu == 0:
        verdict = "cpu_only"
    elif n_gpu >= n_layer + 1:
        verdict = "gpu_full"
    else:
        verdict = "gpu_partial"
    if not shape.shape_known:
        assumptions.append(
            "the KV cache and compute buffers are not counted: the total is a lower bound"
        )
    total = sum(u.total_bytes for u in uses)
    result = FitResult(
        grade=shape.grade,
        assumptions=assumptions,
        n_ctx=opts.n_ctx,
        kv_type=opts.kv_type,
        gpu_layers=n_gpu,
        n_layers=shape.n_layer,
        verdict=verdict,
        total_bytes=total,
        devices=uses,
        load_options={
            "n_ctx": opts.n_ctx,
            "n_batch": opts.n_batch,
            "n_ubatch": opts.n_ubatch,
            "flash_attn": flash,
            "type_k": opts.kv_type,
            "type_v": opts.kv_type,
            "swa_full": opts.swa_full,
            "n_gpu_layers": n_gpu,
        },
        margin_bytes=min(margins),
        summary="",
        kv_known=kv_known,
        weights_bytes=shape.weights_bytes,
    )
    result.summary = summarize(result, shape)
    return result


def _margin(u: DeviceUse) -> int:
    """Memory kept free: 5% of what is free (at least 512 MiB) for RAM, 3% (at least 256 MiB) on a GPU."""
    if u.kind == "cpu":
        return max(512 * MiB, int(u.free_bytes * 0.05))
    return max(256 * MiB, int(u.free_bytes * 0.03))


def plan_offload(
    shape: ModelShape, opts: FitOptions, devices: list[Device], cpu_flags: set[str] | None = None
) -> tuple[int, int | None]:
    """The most GPU layers that fit the GPU's free memory with a margin, and (when every layer
    fits) the largest context that still fits. Without a GPU: (0, None)."""
    gpus = [d for d in devices[1:] if d.kind == "gpu"]
    n_layer = shape.n_layer or 0
    if not gpus:
        return 0, None

    def gpu_fits(n_gpu: int, n_ctx: int) -> bool:
        o = FitOptions(**{**asdict(opts), "n_gpu_layers": n_gpu, "n_ctx": n_ctx})
        r = _place(shape, o, devices, n_gpu, cpu_flags, [])
        g = r.devices[1]
        return g.total_bytes <= g.free_bytes - _margin(g)

    best = 0
    lo, hi = 1, n_layer + 1
    while lo <= hi:  # GPU memory grows with the number of layers
        mid = (lo + hi) // 2
        if gpu_fits(mid, opts.n_ctx):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    if best < n_layer + 1:
        return best, None
    top = shape.n_ctx_train or opts.n_ctx
    lo, hi, max_ctx = opts.n_ctx, top, opts.n_ctx
    while lo <= hi:
        mid = (lo + hi) // 2 // CTX_PAD * CTX_PAD or CTX_PAD
        if gpu_fits(best, mid):
            max_ctx, lo = mid, mid + CTX_PAD
        else:
            hi = mid - CTX_PAD
    return best, max(max_ctx, opts.n_ctx)
