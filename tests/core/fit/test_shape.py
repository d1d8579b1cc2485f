"""Model shapes from names and files: hand-checked weights, and files that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.fit.shape import FitError, shape_from_file, shape_from_name


def weights(name: str, params: str | None = None) -> float:
    from app.cli.fit import _parse_params

    shape = shape_from_name(name, _parse_params(params))
    return shape.weights_bytes / 1e9


def test_hand_checked_weights() -> None:
    # The real count behind "70B" (70.55 B): the Hub's F16 file holds 141.1 GB of it.
    assert weights("Llama-3.3-70B-Instruct-F16.gguf") == pytest.approx(141.1, rel=0.002)
    assert weights("Llama-3.3-70B-Instruct-Q4_K_M.gguf", "70.6B") == pytest.approx(42.5, rel=0.03)
    assert weights("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "8.03B") == pytest.approx(
        4.9, rel=0.02
    )
    assert weights("Yi-34B-Chat-F16.gguf") == pytest.approx(68.8, rel=0.002)
    # No family: priced as the known "7B" models are, whose real counts run from 6.7 B (Llama 2)
    # to 8.5 B (Gemma); at F16, two bytes for each of their median's 7.2 B.
    assert 13.4 < weights("mystery-model-7B-F16.gguf") < 15.2


def test_invalid_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model at all" * 4)
    with pytest.raises(FitError, match="not a GGUF model"):
        shape_from_file(str(bad))
