"""GPU offload for real, on a machine with a GPU build (HEARTH_BACKEND=cuda, vulkan, metal) and a
GPU: the worker puts the layers there, the estimate matches llama.cpp's own buffers per device and
kind, and the GPU memory the worker really holds (driver context included) stays within the
estimate the fit verdict uses. Skipped where llama.cpp sees no GPU (the CPU build the suite runs
on elsewhere); bench/bench_gpu.py prints the same figures as a table."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.devices import list_devices
from bench.bench_gpu import LONG_PROMPT as MSGS
from bench.bench_gpu import offload_run

GPUS = [d for d in list_devices() if d["type"] in ("gpu", "igpu")]
pytestmark = [
    pytest.mark.model,
    pytest.mark.skipif(not GPUS, reason="llama.cpp sees no GPU here (a CPU build or no device)"),
]


def _error(run: dict, side: str, kind: str) -> float:
    row = next(r for r in run["rows"] if r["side"] == side and r["kind"] == kind)
    assert row["error"] is not None, row
    return float(row["error"])


def _holds_within_estimate(run: dict) -> None:
    if run["gpu_held_mib"] is not None:  # NVML: what the process holds, driver context included
        assert run["gpu_held_mib"] <= run["gpu_estimate_total_mib"], run


def test_every_layer_on_the_gpu_as_estimated(smollm_path: Path) -> None:
    run = offload_run(smollm_path, -1, MSGS)
    assert run["n_gpu_layers_loaded"] == 31  # 30 repeating layers and the output layer
    assert run["verdict"] == "gpu_full"
    assert _error(run, "gpu", "weights") == pytest.approx(0, abs=0.02)
    assert _error(run, "gpu", "kv") == pytest.approx(0, abs=0.02)
    assert _error(run, "gpu", "compute") == pytest.approx(0, abs=0.05)
    assert _error(run, "cpu", "weights") == pytest.approx(0, abs=0.02)  # the token embeddings
    _holds_within_estimate(run)


def test_some_layers_on_the_gpu_as_estimated(smollm_path: Path) -> None:
    run = offload_run(smollm_path, 10, MSGS)
    assert run["n_gpu_layers_loaded"] == 10
    assert run["verdict"] == "gpu_partial"
    for side in ("gpu", "cpu"):
        assert _error(run, side, "kv") == pytest.approx(0, abs=0.02)
    assert _error(run, "gpu", "weights") == pytest.approx(0, abs=0.02)
    # llama.cpp reports the CPU's mapped range of the file, which spans the offloaded layers'
    # tensors stored between the CPU's: the estimate counts the CPU's own tensors, never more.
    assert _error(run, "cpu", "weights") <= 0.02
    _holds_within_estimate(run)


def test_no_layers_on_the_gpu_still_uses_it_as_estimated(smollm_path: Path) -> None:
    """With every layer on the CPU, a GPU build still runs the large prompt batches on the GPU
    (llama.cpp copies the weights over for them): a compute buffer and the driver's context."""
    run = offload_run(smollm_path, 0, MSGS)
    assert run["n_gpu_layers_loaded"] == 0
    assert _error(run, "gpu", "compute") == pytest.approx(0, abs=0.05)
    assert _error(run, "cpu", "compute") == pytest.approx(0, abs=0.05)
    _holds_within_estimate(run)
