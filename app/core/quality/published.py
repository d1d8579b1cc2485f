"""What each quant preset is expected to lose: llama.cpp's published figures, scaled to a model's size.

Source: llama.cpp (as vendored by llama-cpp-python 0.3.36), ``tools/perplexity/README.md``,
"LLaMA 3 8b Scoreboard" (mean KL divergence from FP16 and perplexity increase on Wikitext-2,
CUDA, revision f364eb6f) and its "LLaMA 2 vs. LLaMA 3" table (Q2_K without an importance matrix);
the perplexity increases are those ``llama-quantize --help`` quotes (``tools/quantize/
quantize.cpp``). K-quants and legacy quants are the figures made without an importance matrix,
as Hearth's ``hearth quantize`` makes them; IQ presets (only made with one) use the "WT 10m"
rows. F16/BF16 use the BF16-vs-FP16 comparison in the same README.

Scaling (an estimate, labelled as one): the figures are for an 8 B model. Smaller models lose
more at the same bits and larger ones less (the README's 70 B table shows a third of 7 B's
perplexity increase at Q4_0). Hearth scales the KL divergence by ``(8 B / N) ** 0.5``, but for
models above 8 B it never promises less than half the 8 B figure (the gain for large models is
real but measured on few of them), and below 8 B it goes up to four times it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.gguf.quants import preset_for

SOURCE = (
    "llama.cpp's published figures for Llama-3-8B (tools/perplexity/README.md, "
    "mean KL divergence from FP16 on Wikitext-2)"
)
REFERENCE_PARAMS = 8.03e9  # Llama-3-8B

# preset -> (mean KL divergence in nats, perplexity increase or None), Llama-3-8B.
PUBLISHED: dict[str, tuple[float, float | None]] = {
    "F32": (0.0, 0.0),
    "F16": (0.000025, 0.0020),
    "BF16": (0.000025, -0.0050),
    "Q8_0": (0.001355, 0.0026),
    "Q6_K": (0.005452, 0.0217),
    "Q5_K_M": (0.010762, 0.0569),
    "Q5_K_S": (0.016595, 0.1049),
    "Q5_1": (0.018045, 0.1062),
    "Q5_0": (0.022239, 0.1316),
    "Q4_K_M": (0.031273, 0.1754),
    "Q4_K_S": (0.043136, 0.2689),
    "IQ4_NL": (0.035742, 0.2240),
    "IQ4_XS": (0.036334, 0.2281),
    "Q4_1": (0.071683, 0.4511),
    "Q4_0": (0.071940, 0.4685),
    "Q3_K_L": (0.087176, 0.5562),
    "Q3_K_M": (0.101913, 0.6569),
    "IQ3_M": (0.102534, 0.6667),
    "IQ3_S": (0.111278, 0.7339),
    "IQ3_XS": (0.138693, 0.9314),
    "IQ3_XXS": (0.183625, 1.2268),
    "Q3_K_S": (0.228217, 1.6321),
    "IQ2_M": (0.325989, 2.3692),
    "Q2_K_S": (0.403360, 3.1836),
    "IQ2_S": (0.439197, 3.4191),
    "Q2_K": (0.445132, 3.5199),
    "IQ2_XS": (0.546290, 4.5298),
    "IQ2_XXS": (0.812022, 7.8601),
    "IQ1_M": (1.393084, 19.2621),
    "IQ1_S": (2.254554, 54.4630),
}
_ALIASES = {"Q3_K": "Q3_K_M", "Q4_K": "Q4_K_M", "Q5_K": "Q5_K_M", "FP16": "F16", "FP32": "F32"}

MIN_FACTOR, MAX_FACTOR = 0.5, 4.0
CLOSE_TO_LOSSLESS = 0.015  # nats: below this, differences are hard to notice in use


@dataclass(frozen=True)
class ExpectedLoss:
    """A quant's expected mean KL divergence from the full-precision model (nats).

    ``source``: "measured" (on this machine), "published" (llama.cpp's figure, scaled) or
    "guess" (from the bits per weight alone)."""

    kld: float
    source: str
    note: str
    ppl_delta_8b: float | None = None


def preset_key(quant: str | None) -> str | None:
    if not quant:
        return None
    q = quant.strip().upper().replace("-", "_")
    if q.startswith(("I1_", "UD_")):
        q = q[3:]
    q = _ALIASES.get(q, q)
    return q if q in PUBLISHED else None


def size_factor(n_params: int | None) -> float:
    """How much more (or less) than the 8 B figure a model of ``n_params`` loses (estimate)."""
    if not n_params or n_params <= 0:
        return 1.0
    return min(MAX_FACTOR, max(MIN_FACTOR, (REFERENCE_PARAMS / n_params) ** 0.5))


def _from_bits(bpw: float) -> float:
    """A rough KL divergence from the bits per weight when the preset is unknown: the published
    K-quant figures fall about 2.3x per extra bit (Q2_K 2.96 GiB ... Q8_0 7.96 GiB)."""
    return float(min(3.0, 0.445 * 2.3 ** (-(bpw - 3.4))))


def expected_loss(
    quant: str | None, n_params: int | None, bits_per_weight: float | None = None
) -> ExpectedLoss | None:
    """The published figure for ``quant`` scaled to ``n_params`` (None: nothing to go on)."""
    factor = size_factor(n_params)
    key = preset_key(quant)
    if key is not None:
        kld, dppl = PUBLISHED[key]
        scaled = "" if factor == 1.0 else f", ×{factor:.2f} for this model's size (an estimate)"
        return ExpectedLoss(
            kld * factor,
            "published",
            f"{key}: {kld:.4f} on Llama-3-8B{scaled}; {SOURCE}",
            dppl,
        )
    if bits_per_weight:
        return ExpectedLoss(
            _from_bits(bits_per_weight) * factor,
            "guess",
            f"{quant or 'this quant'}: no published figure; a rough guess from its "
            f"{bits_per_weight:.2f} bits per weight",
        )
    preset = preset_for(quant)
    if preset is not None:
        return expected_loss(None, n_params, preset.bits_per_weight)
    return None


def describe(kld: float) -> str:
    """A few words on what a mean KL divergence means in use."""
    if kld < 0.002:
        return "practically lossless"
    if kld < CLOSE_TO_LOSSLESS:
        return "close to lossless"
    if kld < 0.05:
        return "a small loss"
    if kld < 0.15:
        return "a noticeable loss"
    return "a large loss"
