"""Memory estimate against what llama.cpp allocates, for the test models over a grid of options.

For SmolLM2-135M (up to its 8,192-token limit) and Gemma 3 270M (up to 32,768), at contexts 512,
2,048, 8,192 and 32,768 with f16 and q8_0 KV caches: Hearth's estimate (made from the header, before
loading) against the sum of the buffers llama.cpp reports when the engine loads the model (model,
repacked weights, KV, output, compute), and the engine's resident memory after a prompt that fills
a whole 512-token batch. CPU memory is committed lazily, so resident memory can be lower than what
is allocated; both are shown.

With --gpu-layers N (a GPU build of llama.cpp: CUDA, Metal, Vulkan, ROCm) N layers go to the first
GPU, and the estimate for each side (GPU memory, host memory) is set against the buffers llama.cpp
puts there (``CUDA0 ...``/``Vulkan0 ...`` on the GPU, ``CPU``/``*_Host`` in RAM). The file is
then read into memory rather than mapped: a mapping spans the file range that holds the CPU's
tensors (the whole file where tensors are stored in name order, blk.0, blk.1, blk.10, ...), which
is address space, not the memory those tensors take.

    python bench/bench_fit.py [--gpu-layers N] [--model NAME] [--ctx N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.fit.buffers import output_bytes
from app.core.fit.shape import shape_from_file
from app.engine.client import BlockingEngine

MiB = 1 << 20
MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-Q4_K_M.gguf"]
CONTEXTS = [512, 2048, 8192, 32768]
# A GPU's own buffers are named by the device (CUDA0, Vulkan0, ROCm0, MTL0); the rest is host memory.
GPU_BUFFER = re.compile(r"^(CUDA|Vulkan|ROCm|HIP|MTL|SYCL)\d+\b")


def split_buffers(buffers: dict[str, float]) -> tuple[float, float]:
    """(host MiB, GPU MiB) of the buffers llama.cpp reported."""
    gpu = sum(v for k, v in buffers.items() if GPU_BUFFER.match(k))
    return sum(buffers.values()) - gpu, gpu


def estimated(device: dict) -> float:
    d = device
    return (d["weights_bytes"] + d["repack_bytes"] + d["kv_cache_bytes"] + d["compute_bytes"]) / MiB


# llama.cpp's CPU buffers by kind, as the estimate splits them (the output buffer is part of its
# compute figure).
KINDS = {
    "CPU_Mapped model": "weights",
    "CPU model": "weights",
    "CPU_REPACK model": "repack",
    "CPU KV": "kv",
    "CPU compute": "compute",
    "CPU output": "output",
}


def worst_kind(device: dict, buffers: dict[str, float], n_vocab_bytes: int) -> tuple[str, float]:
    """The buffer kind whose estimate is furthest off (relative), and that error. A figure
    llama.cpp prints is rounded to 0.01 MiB: smaller differences do not count."""
    reported = dict.fromkeys(("weights", "repack", "kv", "compute", "output"), 0.0)
    for name, mib in buffers.items():
        reported[KINDS.get(name, name)] = reported.get(KINDS.get(name, name), 0.0) + mib
    est = {
        "weights": device["weights_bytes"] / MiB,
        "repack": device["repack_bytes"] / MiB,
        "kv": device["kv_cache_bytes"] / MiB,
        "compute": (device["compute_bytes"] - n_vocab_bytes) / MiB,
        "output": n_vocab_bytes / MiB,
    }
    errors = {
        k: (est.get(k, 0.0) / v - 1 if abs(est.get(k, 0.0) - v) > 0.0051 else 0.0)
        for k, v in reported.items()
        if v
    }
    kind = max(errors, key=lambda k: abs(errors[k]))
    return kind, errors[kind]


def models_dir() -> Path:
    env = os.environ.get("HEARTH_TEST_MODELS")
    if env:
        return Path(env)
    return (
        Path(os.environ.get("HEARTH_DEV_CACHE", Path.home() / ".cache" / "hearth-dev")) / "models"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument(
        "--gpu-layers", type=int, default=0, help="layers on the GPU (a GPU build; -1: all)"
    )
    parser.add_argument("--model", action="append", help="only this test model (repeatable)")
    parser.add_argument("--ctx", type=int, action="append", help="only this context (repeatable)")
    args = parser.parse_args()
    rows = []
    gpu_run = args.gpu_layers != 0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; sizes in MiB")
    if gpu_run:
        print(
            "| model | context | KV | GPU layers | GPU estimate | GPU buffers | error "
            "| host estimate | host buffers | error |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
    else:
        print(
            "| model | context | KV | estimate | llama.cpp buffers | error "
            "| worst buffer kind | resident after a full batch |"
        )
        print("|---|---|---|---|---|---|---|---|")

    def prompt(n_ctx: int) -> str:
        # about 600 tokens (more than one 512-token batch), or what a 512-token context allows
        return " ".join(f"item{i}" for i in range(120 if n_ctx <= 512 else 300))

    for name in args.model or MODELS:
        path = models_dir() / name
        out_bytes = output_bytes(shape_from_file(str(path)))
        for n_ctx in args.ctx or CONTEXTS:
            for kv in ("f16", "q8_0"):
                with BlockingEngine() as engine:
                    info = engine.load(
                        str(path),
                        {
                            "n_ctx": n_ctx,
                            "kv_type": kv,
                            "n_gpu_layers": args.gpu_layers,
                            "use_mmap": not gpu_run,
                        },
                    )
                    if info["n_ctx"] < n_ctx:
                        break  # beyond the model's limit
                    devices = info["estimate"]["devices"]
                    host_rep, gpu_rep = split_buffers(info["buffers_mib"])
                    engine.chat([{"role": "user", "content": prompt(n_ctx)}], {"max_tokens": 1})
                    rss = engine.status()["rss"] / MiB
                row = {"model": name, "n_ctx": n_ctx, "kv": kv, "rss_mib": round(rss, 1)}
                host_est = estimated(devices[0])
                if gpu_run:
                    if info["n_gpu_layers"] == 0 or len(devices) < 2:
                        print("this llama.cpp build has no GPU to offload to")
                        return 1
                    gpu_est = estimated(devices[1])
                    row.update(
                        n_gpu_layers=info["n_gpu_layers"],
                        gpu_estimate_mib=round(gpu_est, 2),
                        gpu_reported_mib=round(gpu_rep, 2),
                        host_estimate_mib=round(host_est, 2),
                        host_reported_mib=round(host_rep, 2),
                        error=round(gpu_est / gpu_rep - 1, 4),
                        host_error=round(host_est / host_rep - 1, 4),
                    )
                    print(
                        f"| {Path(name).stem} | {n_ctx:,} | {kv} | {info['n_gpu_layers']} "
                        f"| {gpu_est:,.1f} | {gpu_rep:,.1f} | {row['error'] * 100:+.1f}% "
                        f"| {host_est:,.1f} | {host_rep:,.1f} | {row['host_error'] * 100:+.1f}% |"
                    )
                else:
                    rep = host_rep + gpu_rep
                    kind, kind_error = worst_kind(devices[0], info["buffers_mib"], out_bytes)
                    row.update(
                        estimate_mib=round(host_est, 2),
                        reported_mib=round(rep, 2),
                        error=round(host_est / rep - 1, 4),
                        worst_kind=kind,
                        kind_error=round(kind_error, 4),
                    )
                    print(
                        f"| {Path(name).stem} | {n_ctx:,} | {kv} | {host_est:,.1f} | {rep:,.1f} "
                        f"| {row['error'] * 100:+.1f}% | {kind} {kind_error * 100:+.1f}% "
                        f"| {rss:,.0f} |"
                    )
                rows.append(row)
    worst = max(max(abs(r["error"]), abs(r.get("host_error", 0))) for r in rows)
    print(f"worst error {worst * 100:.1f}% (target: within 5% on every row)")
    if not gpu_run:
        kinds = max(abs(r["kind_error"]) for r in rows)
        print(f"worst error of one buffer kind {kinds * 100:.1f}% (target: within 2%)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
