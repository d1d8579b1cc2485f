"""Memory estimate against what llama.cpp allocates, for the test models over a grid of options.

For SmolLM2-135M (up to its 8,192-token limit) and Gemma 3 270M (up to 32,768), at contexts 512,
2,048, 8,192 and 32,768 with f16 and q8_0 KV caches: Hearth's estimate (made from the header, before
loading) against the sum of the buffers llama.cpp reports when the engine loads the model (model,
repacked weights, KV, output, compute), and the engine's resident memory after a prompt that fills
a whole 512-token batch. CPU memory is committed lazily, so resident memory can be lower than what
is allocated; both are shown.

    python bench/bench_fit.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.client import BlockingEngine

MiB = 1 << 20
MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-Q4_K_M.gguf"]
CONTEXTS = [512, 2048, 8192, 32768]


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
    args = parser.parse_args()
    rows = []
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; sizes in MiB")
    print(
        "| model | context | KV | estimate | llama.cpp buffers | error | resident after a full batch |"
    )
    print("|---|---|---|---|---|---|---|")

    def prompt(n_ctx: int) -> str:
        # about 600 tokens (more than one 512-token batch), or what a 512-token context allows
        return " ".join(f"item{i}" for i in range(120 if n_ctx <= 512 else 300))

    for name in MODELS:
        path = models_dir() / name
        for n_ctx in CONTEXTS:
            for kv in ("f16", "q8_0"):
                with BlockingEngine() as engine:
                    info = engine.load(str(path), {"n_ctx": n_ctx, "kv_type": kv})
                    if info["n_ctx"] < n_ctx:
                        break  # beyond the model's limit
                    cpu = info["estimate"]["devices"][0]
                    est = (
                        cpu["weights_bytes"] + cpu["kv_cache_bytes"] + cpu["compute_bytes"]
                    ) / MiB
                    rep = sum(info["buffers_mib"].values())
                    engine.chat([{"role": "user", "content": prompt(n_ctx)}], {"max_tokens": 1})
                    rss = engine.status()["rss"] / MiB
                err = est / rep - 1
                rows.append(
                    {
                        "model": name,
                        "n_ctx": n_ctx,
                        "kv": kv,
                        "estimate_mib": round(est, 2),
                        "reported_mib": round(rep, 2),
                        "error": round(err, 4),
                        "rss_mib": round(rss, 1),
                    }
                )
                print(
                    f"| {Path(name).stem} | {n_ctx:,} | {kv} | {est:,.1f} | {rep:,.1f} | {err * 100:+.1f}% | {rss:,.0f} |"
                )
    worst = max(abs(r["error"]) for r in rows)
    print(f"worst error {worst * 100:.1f}% (target: within 5% on every row)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
