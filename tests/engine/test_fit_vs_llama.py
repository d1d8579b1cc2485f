"""The estimator against llama.cpp itself: real loads of the test models, and llama.cpp's own
memory-fit pass (no_alloc) on the shapes of large models."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.fit.hardware import probe
from app.core.fit.placement import Device, FitOptions, estimate
from app.core.fit.shape import shape_from_file
from app.engine.client import BlockingEngine
from tests.synthetic_models import GEMMA3_27B, LLAMA3_8B, MISTRAL_7B_Q8, QWEN3_30B_A3B, write_model

pytestmark = pytest.mark.model
MiB = 1 << 20
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("model", "n_ctx", "kv"), [("smollm", 8192, "f16"), ("gemma", 32768, "q8_0")]
)
def test_each_load_reports_its_estimate_next_to_what_llama_cpp_allocated(
    smollm_path: Path, gemma_path: Path, model: str, n_ctx: int, kv: str
) -> None:
    path = smollm_path if model == "smollm" else gemma_path
    with BlockingEngine() as engine:
        info = engine.load(str(path), {"n_ctx": n_ctx, "kv_type": kv})
    reported = sum(info["buffers_mib"].values()) * MiB
    cpu = info["estimate"]["devices"][0]
    estimated = cpu["weights_bytes"] + cpu["kv_cache_bytes"] + cpu["compute_bytes"]
    assert estimated == pytest.approx(reported, rel=0.05)
    assert info["estimate"]["load_options"]["n_ctx"] == n_ctx
    assert info["rss_after"] > info["rss_before"]


def llama_buffers(path: Path, n_ctx: int, kv: str, flash: bool, dry: bool = True) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.engine.llama_buffers",
            str(path),
            str(n_ctx),
            kv,
            "1" if flash else "0",
            "512",
            "1" if dry else "0",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    out = json.loads(proc.stdout)
    assert out.get("ok"), out
    return out


@pytest.mark.parametrize(
    ("config", "n_ctx", "flash"),
    [
        (LLAMA3_8B, 4096, True),
        (LLAMA3_8B, 32768, False),
        (QWEN3_30B_A3B, 8192, True),
        (GEMMA3_27B, 32768, False),
        (MISTRAL_7B_Q8, 16384, True),
    ],
    ids=[
        "llama3-8b-4k-fa",
        "llama3-8b-32k",
        "qwen3-30b-a3b-8k-fa",
        "gemma3-27b-32k",
        "mistral-7b-16k-fa",
    ],
)
def test_compute_buffers_of_large_models(
    tmp_path: Path, config: object, n_ctx: int, flash: bool
) -> None:
    model = write_model(tmp_path / "model.gguf", config)  # type: ignore[arg-type]
    reported = llama_buffers(model, n_ctx, "f16", flash)["CPU compute"] * MiB
    shape = shape_from_file(str(model))
    r = estimate(
        shape,
        FitOptions(n_ctx=n_ctx, flash_attn="on" if flash else "off", n_gpu_layers=0),
        [Device("CPU", "cpu", 1 << 40, 1 << 40)],
        probe().flags,
    )
    compute = r.devices[0].compute_bytes - shape.n_vocab * 4  # without the output buffer
    assert compute == pytest.approx(reported, rel=0.05)


def test_kv_cache_of_a_large_shape_as_llama_cpp_allocates_it(tmp_path: Path) -> None:
    """A real allocation (few layers, so the file stays small): 2 global and 10 sliding layers."""
    model = write_model(
        tmp_path / "g.gguf",
        replace(GEMMA3_27B, weight_type="Q8_0", n_layer=12, n_vocab=4096, n_embd=1024, n_ff=512),
    )
    out = llama_buffers(model, 32768, "q8_0", True, dry=False)
    r = estimate(
        shape_from_file(str(model)),
        FitOptions(n_ctx=32768, kv_type="q8_0", n_gpu_layers=0),
        [Device("CPU", "cpu", 1 << 40, 1 << 40)],
        set(),
    )
    assert r.devices[0].kv_cache_bytes == round(out["CPU KV"] * MiB)
