"""Estimated against measured memory, for every real load: kept, and said in words.

The engine reports the buffer sizes llama.cpp printed and its own resident memory before and after
loading; the load also carries Hearth's estimate for the same options. Each load is appended to
``calibration.jsonl`` in the data folder (the newest 500 are kept).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from app.core import paths

MiB = 1 << 20
KEEP = 500


def reported_bytes(buffers_mib: dict[str, float]) -> int:
    """What llama.cpp said it allocated: model (mapped and repacked), KV, output and compute."""
    return int(sum(buffers_mib.values()) * MiB)


def estimated_bytes(estimate: dict[str, Any]) -> int:
    """The estimate of the same allocations (without the overhead llama.cpp does not report)."""
    return sum(
        d["weights_bytes"] + d.get("repack_bytes", 0) + d["kv_cache_bytes"] + d["compute_bytes"]
        for d in estimate.get("devices", [])
    )


def summary(info: dict[str, Any]) -> dict[str, Any]:
    est = estimated_bytes(info.get("estimate") or {})
    rep = reported_bytes(info.get("buffers_mib") or {})
    return {
        "time": time.time(),
        "path": info.get("path"),
        "name": info.get("name"),
        "n_ctx": info.get("n_ctx"),
        "kv_type": info.get("kv_type"),
        "n_gpu_layers": info.get("n_gpu_layers"),
        "estimated_bytes": est,
        "reported_bytes": rep,
        "error": (est / rep - 1) if rep else None,
        "rss_before": info.get("rss_before"),
        "rss_after": info.get("rss_after"),
        "buffers_mib": info.get("buffers_mib"),
    }


def describe(info: dict[str, Any]) -> str:
    s = summary(info)
    if not s["reported_bytes"]:
        return ""
    rss = (s["rss_after"] or 0) - (s["rss_before"] or 0)
    return (
        f"Memory: estimated {s['estimated_bytes'] / MiB:,.0f} MiB, llama.cpp allocated "
        f"{s['reported_bytes'] / MiB:,.0f} MiB ({s['error'] * 100:+.1f}%); resident so far "
        f"{rss / MiB:,.0f} MiB (memory is committed as it is used)"
    )


def record(info: dict[str, Any], path: Path | None = None) -> dict[str, Any]:
    """Append this load to the calibration log; returns what was stored."""
    path = path or paths.data_dir() / "calibration.jsonl"
    entry = summary(info)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    lines = [*lines[-(KEEP - 1) :], json.dumps(entry)]
    paths.write_private(path, "\n".join(lines) + "\n")  # names the user's models
    return entry
