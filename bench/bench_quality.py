"""Quality measurements: Hearth's perplexity and KL divergence against llama.cpp's llama-perplexity.

Same text (the bundled novel), model, context, chunks and threads. llama-perplexity is built once
from the vendored llama.cpp of the installed llama-cpp-python's sdist, in the build folder
bench_engine.py makes for llama-bench (its code is reused: the sdist, the source and the CMake
flags of the wheel). The reference is Gemma 3 270M's Q8_0, made from the test model's Q4_K_M
with ``hearth quantize --allow-requantize`` and kept in <cache>/quality-bench/.

Goals: perplexity within 0.5% of llama-perplexity's, mean KL divergence within 2%, and tokens
per second evaluated at least 0.9x llama-perplexity's (both from the start of evaluation to the
end: decoding and the work on the logits; loading and tokenizing are left out).

    .venv/bin/python bench/bench_quality.py [--ctx 512] [--chunks 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.bench_engine import cache_root, ensure_llama_tool, machine, models_dir  # noqa: E402

THREADS = 2
GOAL_PPL, GOAL_KLD, GOAL_SPEED = 0.005, 0.02, 0.90


def ensure_llama_perplexity(version: str) -> Path:
    """llama-perplexity, built next to llama-bench."""
    return ensure_llama_tool(version, "llama-perplexity")


def _run(cmd: list[str]) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return done.stdout + done.stderr


def _num(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    if not m:
        raise SystemExit(f"no {pattern!r} in llama-perplexity's output")
    return float(m.group(1))


def llama_ppl(exe: Path, model: Path, text: Path, ctx: int, chunks: int, extra: list[str]) -> dict:
    args = ["-m", str(model), "-f", str(text), "-c", str(ctx), "--chunks", str(chunks)]
    args += ["-t", str(THREADS), "-b", "2048", *extra]
    t0 = time.monotonic()
    out = _run([str(exe), *args])
    wall = time.monotonic() - t0
    r: dict[str, Any] = {"wall_s": round(wall, 2)}
    # Its log's time stamps (minutes.seconds.ms.us since start) say when evaluation began; the
    # rest of the run is the chunks, their log-softmax work and the summary, as in Hearth's figure.
    m = re.search(
        r"^(\d+)\.(\d+)\.(\d+)\.\d+ I .*(?:calculating perplexity|computing) over", out, re.M
    )
    if not m:
        raise SystemExit("llama-perplexity's log has no start of evaluation")
    began = int(m.group(1)) * 60 + int(m.group(2)) + int(m.group(3)) / 1000
    r["tokens_per_second"] = chunks * ctx / (wall - began)
    if "--kl-divergence" in extra:
        r["kld_mean"] = _num(r"Mean\s+KLD:\s+([\d.]+)", out)
        r["kld_median"] = _num(r"Median\s+KLD:\s+([\d.]+)", out)
        r["kld_p99"] = _num(r"99\.0%\s+KLD:\s+([\d.]+)", out)
        r["same_top"] = _num(r"Same top p:\s+([\d.]+)", out) / 100
        r["ppl_ratio"] = _num(r"Mean PPL\(Q\)/PPL\(base\)\s*:\s+([\d.]+)", out)
        r["perplexity"] = _num(r"Mean PPL\(Q\)\s*:\s+([\d.]+)", out)
    else:
        r["perplexity"] = _num(r"Final estimate: PPL = ([\d.]+)", out)
    return r


def hearth_quality(model: Path, ref: Path | None, ctx: int, chunks: int) -> dict:
    from app.engine.client import BlockingEngine

    with BlockingEngine() as engine:
        return dict(
            engine.quality(str(model), str(ref) if ref else None, None, ctx, chunks, THREADS)
        )


def make_reference(src: Path) -> Path:
    folder = cache_root() / "quality-bench"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "gemma-3-270m-Q8_0.gguf"
    if not out.exists():
        cmd = [sys.executable, "-m", "app", "quantize", str(src), "--type", "Q8_0"]
        cmd += ["--out", str(out), "--allow-requantize", "--no-library"]
        subprocess.run(cmd, check=True, cwd=REPO)
    return out


def rel(a: float, b: float) -> float:
    return abs(a - b) / b


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--chunks", type=int, default=10)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    exe = ensure_llama_perplexity(dist_version("llama_cpp_python"))
    gemma = models_dir() / "gemma-3-270m-Q4_K_M.gguf"
    smollm = models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf"
    ref = make_reference(gemma)
    from app.core.quality.evaltext import read_text

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        text = Path(tmp) / "persuasion.txt"
        text.write_text(read_text()[0], encoding="utf-8")
        for model in (smollm, gemma):
            ours = hearth_quality(model, None, args.ctx, args.chunks)
            theirs = llama_ppl(exe, model, text, args.ctx, args.chunks, [])
            rows.append(
                {"model": model.name, "kind": "perplexity", "hearth": ours, "llama": theirs}
            )
        base = Path(tmp) / "base.kld"
        llama_ppl(exe, ref, text, args.ctx, args.chunks, ["--kl-divergence-base", str(base)])
        ours = hearth_quality(gemma, ref, args.ctx, args.chunks)
        theirs = llama_ppl(
            exe,
            gemma,
            text,
            args.ctx,
            args.chunks,
            ["--kl-divergence-base", str(base), "--kl-divergence"],
        )
        rows.append({"model": gemma.name, "kind": "kl", "hearth": ours, "llama": theirs})
    print(f"\nmachine: {machine()}; ctx {args.ctx}, {args.chunks} chunks, {THREADS} threads")
    print("| model | figure | Hearth | llama-perplexity | difference | goal |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        h, ll = r["hearth"], r["llama"]
        d = rel(h["perplexity"], ll["perplexity"])
        ok = "ok" if d <= GOAL_PPL else "MISSED"
        print(
            f"| {r['model']} | perplexity | {h['perplexity']:.4f} | {ll['perplexity']:.4f} | {100 * d:.3f}% | ≤ 0.5% {ok} |"
        )
        if r["kind"] == "kl":
            kd = h["kl_divergence"]
            d = rel(kd["mean"], ll["kld_mean"])
            ok = "ok" if d <= GOAL_KLD else "MISSED"
            print(
                f"| | mean KL divergence | {kd['mean']:.6f} | {ll['kld_mean']:.6f} | {100 * d:.2f}% | ≤ 2% {ok} |"
            )
            print(
                f"| | median KL divergence | {kd['median']:.6f} | {ll['kld_median']:.6f} | {100 * rel(kd['median'], ll['kld_median']):.2f}% | |"
            )
            print(
                f"| | 99th percentile | {kd['p99']:.6f} | {ll['kld_p99']:.6f} | {100 * rel(kd['p99'], ll['kld_p99']):.2f}% | |"
            )
            print(
                f"| | same top token | {100 * h['same_top']:.2f}% | {100 * ll['same_top']:.2f}% | | |"
            )
            print(f"| | PPL ratio | {h['perplexity_ratio']:.4f} | {ll['ppl_ratio']:.4f} | | |")
        speed = h["tokens_per_second"] / ll["tokens_per_second"]
        ok = "ok" if speed >= GOAL_SPEED else "MISSED"
        print(
            f"| | tokens/s | {h['tokens_per_second']:.0f} | {ll['tokens_per_second']:.0f} | {speed:.2f}x | ≥ 0.9x {ok} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
