"""The estimator against llama.cpp itself, one buffer kind at a time (weights, repacked weights,
KV cache, compute, output), so that errors of opposite sign cannot cancel in a sum: real loads of
the test models, llama.cpp's own memory-fit pass (no_alloc) on the shapes of large models, and
real loads of the same shapes with fewer layers (weights and repacking, which the memory-fit
pass does not size)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.fit.buffers import output_bytes
from app.core.fit.hardware import probe
from app.core.fit.placement import Device, FitOptions, estimate
from app.core.fit.result import DeviceUse
from app.core.fit.shape import ModelShape, shape_from_file
from app.engine.client import BlockingEngine
from tests.synthetic_models import (
    GEMMA3_27B,
    LLAMA3_8B,
    MISTRAL_7B_Q8,
    QWEN3_30B_A3B,
    Config,
    write_model,
)

pytestmark = pytest.mark.model
MiB = 1 << 20
REPO = Path(__file__).resolve().parents[2]
REL = 0.02  # the README's promise, for every buffer kind
# llama.cpp prints MiB with two decimals: a figure is known to +-0.005 MiB (the 0.19 MiB output
# buffer of SmolLM2 is 0.1875 MiB).
PRINTED = 0.0051 * MiB  # half the last digit (0.125 prints as 0.12), and float noise

# llama.cpp's buffer names ("<device> <kind>", as the engine reports them) by what they hold.
KINDS = {
    "CPU_Mapped model": "weights",  # the memory-mapped file
    "CPU model": "weights",  # read into memory (no mmap), or sized by the memory-fit pass
    "CPU_REPACK model": "repack",
    "CPU KV": "kv",
    "CPU compute": "compute",
    "CPU output": "output",
}


def reported_kinds(buffers_mib: dict[str, float]) -> dict[str, float]:
    out = dict.fromkeys(("weights", "repack", "kv", "compute", "output"), 0.0)
    unknown = set(buffers_mib) - set(KINDS)
    assert not unknown, f"a buffer kind the estimate does not know: {unknown}"
    for name, mib in buffers_mib.items():
        out[KINDS[name]] += mib * MiB
    return out


def estimated_kinds(use: DeviceUse, shape: ModelShape) -> dict[str, float]:
    out = output_bytes(shape)
    return {
        "weights": use.weights_bytes,
        "repack": use.repack_bytes,
        "kv": use.kv_cache_bytes,
        "compute": use.compute_bytes - out,
        "output": out,
    }


def assert_each_kind(estimated: dict[str, float], reported: dict[str, float], kinds: list[str]):
    """Every kind within 2% (or the printed figure's rounding), all failures listed at once."""
    misses = {
        kind: (round(estimated[kind] / MiB, 3), round(reported[kind] / MiB, 3))
        for kind in kinds
        if abs(estimated[kind] - reported[kind]) > max(REL * reported[kind], PRINTED)
    }
    assert not misses, f"estimated vs llama.cpp, MiB: {misses}"


@pytest.fixture(scope="module")
def engine() -> Iterator[BlockingEngine]:
    with BlockingEngine() as e:
        yield e


@pytest.mark.parametrize(
    ("model", "n_ctx", "kv", "flash"),
    [
        ("smollm", 8192, "f16", "auto"),
        ("smollm", 512, "q8_0", "on"),
        ("smollm", 2048, "f16", "off"),
        pytest.param(
            "smollm",
            2048,
            "f16",
            "auto",
            marks=pytest.mark.xfail(
                strict=True,
                reason="a known miss: llama.cpp's allocator places the logits 4 MiB further up "
                "at this one context (102.5 MiB of compute, 98.25 at 512 and 8,192); the "
                "estimate is 4.2% under (the sum of all buffers 1.8%)",
            ),
        ),
        ("gemma", 32768, "q8_0", "auto"),
        ("gemma", 2048, "f16", "off"),
    ],
)
def test_each_buffer_of_a_real_load_matches_what_llama_cpp_allocated(
    engine: BlockingEngine,
    smollm_path: Path,
    gemma_path: Path,
    model: str,
    n_ctx: int,
    kv: str,
    flash: str,
) -> None:
    """The estimate each load carries, kind by kind, against the buffers llama.cpp printed."""
    path = smollm_path if model == "smollm" else gemma_path
    info = engine.load(str(path), {"n_ctx": n_ctx, "kv_type": kv, "flash_attn": flash})
    assert info["estimate"]["load_options"]["n_ctx"] == n_ctx
    use = DeviceUse(**info["estimate"]["devices"][0])
    estimated = estimated_kinds(use, shape_from_file(str(path)))
    reported = reported_kinds(info["buffers_mib"])
    assert_each_kind(estimated, reported, ["weights", "repack", "kv", "compute", "output"])
    if model == "gemma":  # its Q4_K matrices are repacked on this CPU (AVX2)
        assert reported["repack"] > 0
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
    assert out.pop("ok"), out
    return out


def estimate_cpu(path: Path, n_ctx: int, kv: str, flash: bool) -> dict[str, float]:
    shape = shape_from_file(str(path))
    r = estimate(
        shape,
        FitOptions(n_ctx=n_ctx, kv_type=kv, flash_attn="on" if flash else "off", n_gpu_layers=0),
        [Device("CPU", "cpu", 1 << 40, 1 << 40)],
        probe().flags,
    )
    return estimated_kinds(r.devices[0], shape)


@pytest.mark.parametrize(
    ("config", "n_ctx", "kv", "flash"),
    [
        (LLAMA3_8B, 4096, "f16", True),
        (LLAMA3_8B, 32768, "f16", False),
        (LLAMA3_8B, 8192, "q8_0", True),
        (QWEN3_30B_A3B, 8192, "f16", True),
        (QWEN3_30B_A3B, 8192, "q8_0", True),
        (QWEN3_30B_A3B, 4096, "f16", False),
        (GEMMA3_27B, 32768, "f16", False),
        (GEMMA3_27B, 32768, "q8_0", True),
        (GEMMA3_27B, 4096, "f16", True),
        (MISTRAL_7B_Q8, 16384, "f16", True),
        pytest.param(
            MISTRAL_7B_Q8,
            8192,
            "q8_0",
            True,
            marks=pytest.mark.xfail(
                strict=True,
                reason="a known miss: with a quantized cache llama.cpp's allocator packs the "
                "feed-forward stage one row of embeddings tighter or looser depending on the "
                "context; on a small vocabulary that stage is the whole buffer, and half a "
                "row is 3.4% of it (buffers.compute_bytes takes the middle)",
            ),
        ),
    ],
    ids=[
        "llama3-8b-4k-fa",
        "llama3-8b-32k",
        "llama3-8b-8k-fa-q8",
        "qwen3-30b-a3b-8k-fa",
        "qwen3-30b-a3b-8k-fa-q8",
        "qwen3-30b-a3b-4k",
        "gemma3-27b-32k",
        "gemma3-27b-32k-fa-q8",
        "gemma3-27b-4k-fa",
        "mistral-7b-16k-fa",
        "mistral-7b-8k-fa-q8",
    ],
)
def test_kv_compute_and_output_of_large_models(
    tmp_path: Path, config: Config, n_ctx: int, kv: str, flash: bool
) -> None:
    """llama.cpp's memory-fit pass on the whole shape: it sizes the KV cache (its "size =" line)
    and reserves the compute and output buffers, allocating nothing."""
    model = write_model(tmp_path / "model.gguf", config)
    out = llama_buffers(model, n_ctx, kv, flash)
    reported = reported_kinds({k: v for k, v in out.items() if k in KINDS})
    reported["kv"] = out["KV size"] * MiB
    assert_each_kind(estimate_cpu(model, n_ctx, kv, flash), reported, ["kv", "compute", "output"])


@pytest.mark.parametrize(
    "config",
    [
        replace(LLAMA3_8B, n_layer=2),
        replace(QWEN3_30B_A3B, n_layer=1),
        replace(GEMMA3_27B, n_layer=1),
        replace(MISTRAL_7B_Q8, n_layer=2),
    ],
    ids=["llama3-8b", "qwen3-30b-a3b", "gemma3-27b", "mistral-7b-q8"],
)
def test_weights_and_repacking_of_large_shapes_as_llama_cpp_allocates_them(
    tmp_path: Path, config: Config
) -> None:
    """A real load (the weights are holes in a sparse file) of each shape's layers, few of them
    so that the repacked copies stay small: every buffer kind, the mapped file and the
    repacked matrices included (dense and expert matrices, Q4_K, Q6_K and Q8_0)."""
    model = write_model(tmp_path / "model.gguf", config)
    out = llama_buffers(model, 4096, "f16", True, dry=False)
    out.pop("KV size")
    reported = reported_kinds(out)
    estimated = estimate_cpu(model, 4096, "f16", True)
    assert_each_kind(estimated, reported, ["weights", "repack", "kv", "compute", "output"])
    if config.weight_type == "Q4_K":
        assert reported["repack"] > 0


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
