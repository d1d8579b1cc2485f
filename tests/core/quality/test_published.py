"""llama.cpp's published figures per preset, their scaling with model size, and the measured store."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.quality import measured
from app.core.quality.published import PUBLISHED, describe, expected_loss, size_factor


def test_published_figures_are_llama_cpps_llama3_8b_scoreboard():
    assert PUBLISHED["Q4_K_M"] == (0.031273, 0.1754)
    assert PUBLISHED["Q3_K_M"] == (0.101913, 0.6569)
    assert PUBLISHED["Q2_K"][0] == pytest.approx(0.445, abs=1e-3)
    # More bits never lose more, along the K-quant ladder.
    ladder = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16"]
    klds = [PUBLISHED[q][0] for q in ladder]
    assert klds == sorted(klds, reverse=True)


def test_the_loss_scales_with_the_models_size_within_bounds():
    at_8b = expected_loss("Q4_K_M", 8_030_000_000)
    assert (
        at_8b is not None and at_8b.kld == pytest.approx(0.031273) and at_8b.source == "published"
    )
    small = expected_loss("Q4_K_M", 270_000_000)
    big = expected_loss("Q4_K_M", 70_000_000_000)
    assert small is not None and big is not None
    assert small.kld == pytest.approx(4 * 0.031273)  # capped at four times
    assert 0.5 * 0.031273 <= big.kld < at_8b.kld  # larger loses less, never below half
    assert "estimate" in small.note and "Llama-3-8B" in small.note
    assert size_factor(None) == 1.0
    # Aliases and Hub spellings; an unknown preset falls back to its bits per weight.
    assert expected_loss("q4_k", None).kld == pytest.approx(0.031273)  # type: ignore[union-attr]
    guess = expected_loss("Q9_ZZ", None, 4.8)
    assert guess is not None and guess.source == "guess"
    assert expected_loss("Q9_ZZ", None) is None
    assert describe(0.001) == "practically lossless" and describe(0.5) == "a large loss"


def test_measured_results_are_stored_and_found_by_model_and_quant(tmp_path: Path):
    assert measured.split_name("gemma-3-270m-Q4_K_M.gguf") == ("gemma-3-270m", "Q4_K_M")
    assert measured.split_name("SmolLM2-135M-Instruct.Q4_1.gguf") == (
        "smollm2-135m-instruct",
        "Q4_1",
    )
    assert measured.split_name("x-00001-of-00002.gguf") == ("x", None)
    store = tmp_path / "m.json"
    result = {
        "model": "/m/gemma-3-270m-Q4_K_M.gguf",
        "reference": "/m/gemma-3-270m-Q8_0.gguf",
        "text": "t",
        "perplexity": 20.0,
        "reference_perplexity": 19.5,
        "kl_divergence": {"mean": 0.02, "median": 0.01, "p99": 0.3},
        "same_top": 0.9,
        "perplexity_ratio": 1.02,
        "n_ctx": 128,
        "chunks": 2,
        "tokens": 100,
        "seconds": 1.0,
        "tokens_per_second": 100.0,
        "reference_cached": False,
    }
    measured.record(result, store)  # type: ignore[arg-type]
    measured.record({**result, "kl_divergence": {"mean": 0.03, "median": 0.0, "p99": 0.0}}, store)  # type: ignore[arg-type]
    entries = measured.load(store)
    assert len(entries) == 1  # the same pair measured again replaces the old figure
    hit = measured.lookup(entries, "gemma-3-270m-Q4_K_M.gguf")
    assert hit is not None and hit["kl_mean"] == 0.03 and hit["reference_quant"] == "Q8_0"
    assert measured.lookup(entries, "gemma-3-270m-Q6_K.gguf") is None
    assert measured.record({**result, "reference": None}, store) is None  # type: ignore[arg-type]
    store.write_text("not json")
    assert measured.load(store) == []
