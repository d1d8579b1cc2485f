"""Finding a model by path or by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.library import starter
from app.core.library.lookup import ModelNotFound, resolve_model


def test_paths_and_names(tmp_path: Path) -> None:
    folder = tmp_path / "models" / "pub" / "repo"
    folder.mkdir(parents=True)
    models = [folder / n for n in ("Llama-3-8B-Q4_K_M.gguf", "Llama-3-8B-Q8_0.gguf")]
    for m in models:
        m.write_bytes(b"GGUF")
    assert resolve_model("llama-3-8b-q8_0", models) == models[1]
    assert resolve_model("Q4_K_M", models) == models[0]
    with pytest.raises(ModelNotFound, match="several models"):
        resolve_model("Llama-3", models)
    with pytest.raises(ModelNotFound, match="no model named 'mistral'"):
        resolve_model("mistral", models)
    with pytest.raises(ModelNotFound, match="the library is empty"):
        resolve_model("mistral", [])
    with pytest.raises(ModelNotFound, match="no such file"):
        resolve_model(str(tmp_path / "nope.gguf"), models)
    assert resolve_model(str(models[0]), []) == models[0]


def test_starter_install_verifies_and_is_idempotent(
    hearth_home: Path, smollm_path: Path, tmp_path: Path
) -> None:
    placed = starter.install_starter(smollm_path)
    assert placed == starter.target_path()
    assert placed.stat().st_size == starter.SIZE
    mtime = placed.stat().st_mtime_ns
    assert starter.install_starter(smollm_path) == placed
    assert placed.stat().st_mtime_ns == mtime
    wrong = tmp_path / "wrong.gguf"
    wrong.write_bytes(b"GGUF" + b"\0" * 100)
    placed.unlink()
    with pytest.raises(ValueError, match="not the expected starter model"):
        starter.install_starter(wrong)
