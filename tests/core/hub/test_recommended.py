"""The Recommended rule: the least expected loss that fits with room to spare, and why."""

from __future__ import annotations

from types import SimpleNamespace

from app.core.hub.files import HubFile, QuantGroup
from app.core.hub.fit import recommend, why_recommended

GIB = 1 << 30
PARAMS = 8_000_000_000


def group(quant: str, size_gib: float, verdict: str, margin_gib: float) -> QuantGroup:
    g = QuantGroup(quant, [HubFile(f"m-{quant}.gguf", int(size_gib * GIB), None)], PARAMS)
    g.verdict = verdict
    g.fit = SimpleNamespace(
        verdict=verdict, margin_bytes=int(margin_gib * GIB), total_bytes=int((size_gib + 1) * GIB)
    )
    return g


def test_the_least_loss_that_fits_with_room_to_spare():
    groups = [
        group("Q2_K", 3.0, "cpu_only", 9.0),
        group("Q4_K_M", 4.6, "cpu_only", 7.4),
        group("Q5_K_M", 5.3, "cpu_only", 2.1),
        group("Q6_K", 6.1, "cpu_only", 0.3),  # fits, but with almost nothing left
        group("Q8_0", 8.0, "no_fit", -1.5),
        group("F16", 15.0, "no_fit", -9.0),
    ]
    best = recommend(groups, has_gpu=False)
    assert best is not None and best.quant == "Q5_K_M"
    assert [g.quant for g in groups if g.recommended] == ["Q5_K_M"]
    why = why_recommended(best)
    assert why.startswith("Q5_K_M: fits in RAM with 2.1 GiB to spare; about 0.0108 KL divergence")
    assert "close to lossless" in why


def test_a_tight_fit_when_nothing_fits_comfortably_and_f16_only_when_alone():
    groups = [group("Q4_K_M", 4.6, "cpu_only", 0.2), group("Q3_K_M", 3.7, "cpu_only", 0.3)]
    assert recommend(groups, has_gpu=False).quant == "Q4_K_M"  # type: ignore[union-attr]
    groups = [group("Q8_0", 8.0, "cpu_only", 20), group("F16", 15, "cpu_only", 13)]
    groups[1].tensor_bytes = 16 * PARAMS // 8  # 16 bits per weight
    assert recommend(groups, has_gpu=False).quant == "Q8_0"  # type: ignore[union-attr]
    # With a GPU, "fits" means fully on the GPU.
    groups = [group("Q4_K_M", 4.6, "gpu_full", 3), group("Q8_0", 8, "gpu_partial", 1)]
    assert recommend(groups, has_gpu=True).quant == "Q4_K_M"  # type: ignore[union-attr]
    assert recommend([group("Q4_K_M", 4.6, "no_fit", -1)], has_gpu=False) is None


def test_measured_figures_come_before_published_ones():
    groups = [group("Q4_K_M", 4.6, "cpu_only", 7), group("Q5_K_M", 5.3, "cpu_only", 6)]
    found = [
        {"base": "m", "quant": "Q4_K_M", "kl_mean": 0.004, "when": 1, "reference_quant": "Q8_0"},
        {"base": "m", "quant": "Q5_K_M", "kl_mean": 0.009, "when": 1, "reference_quant": "Q8_0"},
    ]
    best = recommend(groups, has_gpu=False, measured=found)
    assert best is not None and best.quant == "Q4_K_M"
    assert "(measured)" in why_recommended(best, found)
