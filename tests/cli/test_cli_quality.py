"""`hearth quality` and `hearth quantize` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import hearth

pytestmark = pytest.mark.model

FIELDS = {
    "perplexity",
    "kl_divergence",
    "same_top",
    "perplexity_ratio",
    "n_ctx",
    "chunks",
    "tokens",
    "seconds",
}


def test_quality_json_without_and_with_a_reference(smollm_path: Path, tmp_path: Path) -> None:
    proc = hearth("quality", str(smollm_path), "--ctx", "128", "--chunks", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert set(r) >= FIELDS
    assert r["kl_divergence"] is None and r["same_top"] is None and r["perplexity_ratio"] is None
    assert (r["n_ctx"], r["chunks"], r["tokens"]) == (128, 2, 126) and r["perplexity"] > 1
    assert "measuring 2 chunks of 128 tokens" in proc.stderr  # the estimate comes first

    text = tmp_path / "text.txt"
    text.write_text(" ".join(f"The {i}th line of a plain little test text." for i in range(400)))
    args = ["--reference", str(smollm_path), "--text", str(text), "--ctx", "128", "--chunks", "2"]
    proc = hearth("quality", str(smollm_path), *args)
    assert proc.returncode == 0, proc.stderr
    assert "KL divergence: mean 0.000000" in proc.stdout
    assert "same top token: 100.00%" in proc.stdout
    # kept as a measured figure, which the Hub and the Library show before published ones
    from app.core.quality import measured

    kept = measured.load()
    assert [(e["model"], e["reference"]) for e in kept] == [(str(smollm_path), str(smollm_path))]


def test_quality_bad_input_is_one_line(smollm_path: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    proc = hearth("quality", str(smollm_path), "--text", str(empty))
    assert proc.returncode == 2 and "is empty" in proc.stderr and "Traceback" not in proc.stderr


def test_quantize_needs_the_flag_then_adds_to_the_library(
    smollm_path: Path, tmp_path: Path
) -> None:
    proc = hearth("quantize", str(smollm_path), "--type", "Q8_0", "--out", str(tmp_path))
    assert proc.returncode == 2 and "--allow-requantize" in proc.stderr
    assert list(tmp_path.iterdir()) == [] or all(p.is_dir() for p in tmp_path.iterdir())
    out = tmp_path / "smol-q8.gguf"
    proc = hearth(
        "quantize", str(smollm_path), "--type", "q8_0", "--out", str(out), "--allow-requantize"
    )
    assert proc.returncode == 0, proc.stderr
    assert "compounds the loss" in proc.stderr and "added to the library" in proc.stdout
    assert out.exists()
    listed = hearth("list", "--json")
    assert str(out) in listed.stdout
