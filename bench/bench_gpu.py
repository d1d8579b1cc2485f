"""GPU offload, measured on a machine with a GPU build of llama.cpp (HEARTH_BACKEND=cuda, ...).

For each offload (every layer, some layers, none) the worker loads the model as the app does and
this reports, per device and buffer kind (weights, KV cache, compute), the estimate next to the
buffer llama.cpp itself reports, and the GPU memory the worker really holds (free memory on the
device before the worker started and after it loaded and wrote a reply: driver context, cuBLAS and
llama.cpp's buffers together) next to the estimate's GPU total. Then the worker's speed with every
layer on the GPU against llama-bench -ngl 99 from the same llama.cpp build (same model, same flash
attention, medians of the rounds). From the repository root:

    .venv/bin/python bench/bench_gpu.py --llama-bench PATH [--model PATH] [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_engine import (  # noqa: E402
    FILLER,
    GREEDY,
    PP,
    TG,
    build_prompts,
    models_dir,
    start_worker,
)

MiB = 1 << 20
N_CTX = 4096
# A prompt of ~700 tokens: a full micro-batch is multiplied on the GPU, so the runtime's memory
# pool has grown as it does in use before the memory held is read.
LONG_PROMPT = [{"role": "user", "content": "Summarise this: " + " ".join([FILLER] * 25)}]


def gpu_free_bytes() -> int | None:
    """Free memory of the first NVIDIA GPU (NVML), or None where there is none."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).free)
    except Exception:
        return None


def side(buffer_key: str) -> str:
    """'gpu' for a GPU device's own buffers (CUDA0, Vulkan0, MTL0...), else 'cpu' (CPU,
    CPU_Mapped, CUDA_Host: host memory)."""
    dev = buffer_key.split(" ", 1)[0]
    return "cpu" if dev.startswith("CPU") or dev.endswith("_Host") else "gpu"


def kind(buffer_key: str) -> str:
    k = buffer_key.split(" ", 1)[1]
    return {"model": "weights", "KV": "kv", "compute": "compute", "output": "compute"}.get(
        k, "repack" if "REPACK" in buffer_key else k
    )


def compare(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Estimate and llama.cpp's report per (side, kind), in MiB. The estimate's compute on the
    host includes the output buffer, as llama.cpp reports the two apart."""
    reported: dict[tuple[str, str], float] = {}
    for key, mib in info["buffers_mib"].items():
        where = (side(key), "repack" if "REPACK" in key else kind(key))
        reported[where] = reported.get(where, 0.0) + mib
    est: dict[tuple[str, str], float] = {}
    for dev in info["estimate"]["devices"]:
        s = "cpu" if dev["kind"] == "cpu" else "gpu"
        weights = dev["weights_bytes"]
        for k, v in (
            ("weights", weights),
            ("repack", dev.get("repack_bytes", 0)),
            ("kv", dev["kv_cache_bytes"]),
            ("compute", dev["compute_bytes"]),
        ):
            if v:
                est[(s, k)] = est.get((s, k), 0.0) + v / MiB
    rows = []
    for key in sorted(set(reported) | set(est)):
        r, e = reported.get(key), est.get(key)
        err = None if not r or e is None else (e - r) / r
        rows.append({"side": key[0], "kind": key[1], "reported_mib": r, "estimate_mib": e,
                     "error": err})  # fmt: skip
    return rows


def offload_run(model: Path, n_gpu_layers: int, msgs: list[dict[str, str]]) -> dict[str, Any]:
    before = gpu_free_bytes()
    with start_worker() as engine:
        info = engine.load(str(model), {"n_ctx": N_CTX, "n_gpu_layers": n_gpu_layers})
        engine.chat(msgs, {**GREEDY, "max_tokens": 16})
        after = gpu_free_bytes()
    gpu_est = sum(d["total_bytes"] for d in info["estimate"]["devices"] if d["kind"] != "cpu")
    held = None if before is None or after is None else before - after
    return {
        "n_gpu_layers": n_gpu_layers,
        "n_gpu_layers_loaded": info["n_gpu_layers"],
        "buffers_mib": info["buffers_mib"],
        "rows": compare(info),
        "gpu_held_mib": None if held is None else held / MiB,
        "gpu_estimate_total_mib": gpu_est / MiB,
        "verdict": info["estimate"]["verdict"],
    }


def llama_bench(exe: Path, model: Path, rounds: int) -> dict[str, float]:
    args = f"-ngl 99 -p {PP} -n {TG} -fa 1 -r {rounds} -o json"
    done = subprocess.run([str(exe), "-m", str(model), *args.split()], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return {"pp" if t["n_gen"] == 0 else "tg": float(t["avg_ts"]) for t in json.loads(done.stdout)}


def worker_speed(model: Path, rounds: int) -> dict[str, float]:
    pp_msgs, _, tg_msgs, _ = build_prompts(model)
    opts = {"n_ctx": 2048, "n_gpu_layers": -1, "flash_attn": "on"}
    pp, tg = [], []
    with start_worker() as engine:
        engine.load(str(model), opts)
        engine.chat(tg_msgs, {**GREEDY, "max_tokens": 8})  # first decode: one-off set-up
        for _ in range(rounds):
            engine.load(str(model), opts)  # a fresh context: nothing reused
            _, s = engine.chat(pp_msgs, {**GREEDY, "max_tokens": 1})
            _, t = engine.chat(tg_msgs, {**GREEDY, "max_tokens": TG, "ignore_eos": True})
            pp.append(s["prompt_tokens_per_second"])
            tg.append(t["tokens_per_second"])
    return {"pp": statistics.median(pp), "tg": statistics.median(tg)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--llama-bench", type=Path, help="llama-bench from the same GPU build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)

    from app.engine.devices import list_devices

    devices = list_devices()
    out: dict[str, Any] = {"devices": devices, "model": a.model.name, "runs": []}
    print("devices:", ", ".join(f"{d['name']} ({d['description']})" for d in devices))
    msgs = LONG_PROMPT
    for ngl in (-1, 10, 0):
        t0 = time.monotonic()
        run = offload_run(a.model, ngl, msgs)
        out["runs"].append(run)
        print(f"\nn_gpu_layers={ngl} (loaded {run['n_gpu_layers_loaded']}, "
              f"{time.monotonic() - t0:.1f} s): {run['verdict']}")  # fmt: skip
        for r in run["rows"]:
            err = "" if r["error"] is None else f"{100 * r['error']:+.2f}%"
            rep = "-" if r["reported_mib"] is None else f"{r['reported_mib']:.2f}"
            est = "-" if r["estimate_mib"] is None else f"{r['estimate_mib']:.2f}"
            print(
                f"  {r['side']:4} {r['kind']:8} llama.cpp {rep:>9} MiB  estimate {est:>9} MiB  {err}"
            )
        if run["gpu_held_mib"] is not None:
            print(f"  GPU memory held by the worker {run['gpu_held_mib']:.0f} MiB, "
                  f"estimate {run['gpu_estimate_total_mib']:.0f} MiB")  # fmt: skip
    if a.llama_bench:
        ref = llama_bench(a.llama_bench, a.model, a.rounds)
        mine = worker_speed(a.model, a.rounds)
        out["speed"] = {"llama_bench": ref, "worker": mine}
        for k in ("pp", "tg"):
            print(f"{k}: worker {mine[k]:.0f} t/s, llama-bench {ref[k]:.0f} t/s, "
                  f"{mine[k] / ref[k]:.3f}x")  # fmt: skip
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
