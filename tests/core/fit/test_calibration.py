"""Calibration records: what was estimated next to what llama.cpp allocated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core import paths
from app.core.fit import calibration

MiB = 1 << 20


def test_calibration_record(hearth_home: Path) -> None:
    info = {
        "path": "/m/x.gguf",
        "name": "x",
        "n_ctx": 2048,
        "kv_type": "f16",
        "n_gpu_layers": 0,
        "buffers_mib": {"CPU_Mapped model": 100.0, "CPU KV": 10.0, "CPU compute": 50.0},
        "estimate": {
            "devices": [
                {"weights_bytes": 100 * MiB, "kv_cache_bytes": 10 * MiB, "compute_bytes": 52 * MiB}
            ]
        },
        "rss_before": 40 * MiB,
        "rss_after": 120 * MiB,
    }
    entry = calibration.record(info)
    assert entry["reported_bytes"] == 160 * MiB and entry["estimated_bytes"] == 162 * MiB
    kept = (paths.data_dir() / "calibration.jsonl").read_text().splitlines()
    assert json.loads(kept[-1])["error"] == pytest.approx(2 / 160)
    assert "estimated 162 MiB, llama.cpp allocated 160 MiB (+1.2%)" in calibration.describe(info)
