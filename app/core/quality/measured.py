"""Quality measured on this machine (``hearth quality`` runs, the Library's Compare quants), kept
in one JSON file so that the Hub and the Library can show measured figures before published ones.

Entries are found by the model's base name (the file name without its quant, lower case) and the
quant: a measurement of ``gemma-3-270m-Q4_K_M.gguf`` answers for the Hub's
``gemma-3-270m-Q4_K_M.gguf`` of any repo. The newest measurement of a pair wins.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from app.core import paths
from app.core.quality.stats import QualityResult

_QUANT = re.compile(
    r"(?i)[-._](?:i1[-_])?(?:UD[-_])?(IQ\d_[A-Z0-9]+|Q\d_K(?:_[A-Z]+)?|Q\d_\d|TQ\d_\d|"
    r"MXFP4(?:_MOE)?|BF16|F16|F32|FP16|FP32)(?=$|[-._])"
)
FILE_NAME = "measured.json"


def store_path() -> Path:
    return paths.data_dir() / "quality" / FILE_NAME


def split_name(file_name: str) -> tuple[str, str | None]:
    """(base name in lower case, quant in upper case or None) of a model file's name."""
    name = Path(file_name).name
    stem = name[: -len(".gguf")] if name.lower().endswith(".gguf") else name
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", stem)
    found = list(_QUANT.finditer(stem))
    if not found:
        return stem.lower(), None
    m = found[-1]
    base = (stem[: m.start()] + stem[m.end() :]).strip("-._")
    return base.lower(), m.group(1).upper()


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    entries = data.get("measurements") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def load(path: Path | None = None) -> list[dict[str, Any]]:
    """Every stored measurement (an unreadable store reads as empty)."""
    return _read(path or store_path())


def record(result: QualityResult, path: Path | None = None) -> dict[str, Any] | None:
    """Keep a measurement with a reference (without one there is no KL divergence)."""
    kld = result.get("kl_divergence")
    if not result.get("reference") or not kld:
        return None
    base, quant = split_name(result["model"])
    _rbase, rquant = split_name(result["reference"] or "")
    entry = {
        "base": base,
        "quant": quant,
        "model": result["model"],
        "reference": result["reference"],
        "reference_quant": rquant,
        "kl_mean": kld["mean"],
        "kl_median": kld["median"],
        "kl_p99": kld["p99"],
        "perplexity": result["perplexity"],
        "reference_perplexity": result.get("reference_perplexity"),
        "same_top": result.get("same_top"),
        "n_ctx": result["n_ctx"],
        "chunks": result["chunks"],
        "text": result["text"],
        "when": time.time(),
    }
    target = path or store_path()
    entries = [
        e
        for e in _read(target)
        if not (e.get("model") == entry["model"] and e.get("reference") == entry["reference"])
    ]
    entries.append(entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.write_text(json.dumps({"version": 1, "measurements": entries}, indent=1), "utf-8")
    os.replace(tmp, target)
    return entry


def lookup(
    entries: list[dict[str, Any]], file_name: str, quant: str | None = None
) -> dict[str, Any] | None:
    """The newest measurement of the model ``file_name`` names (at ``quant`` when given)."""
    base, q = split_name(file_name)
    q = (quant or q or "").upper()
    found = [e for e in entries if e.get("base") == base and (e.get("quant") or "") == q]
    return max(found, key=lambda e: e.get("when", 0)) if found else None
