"""Quality measurements and quantizing in the real worker, with quants made by `hearth quantize`."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.engine.client import BlockingEngine, EngineError
from app.engine.protocol import ErrorCode, Event

pytestmark = pytest.mark.model

CTX, CHUNKS = 128, 4


def _quantize_cli(src: Path, type_name: str, out: Path, home: Path) -> Path:
    env = {**os.environ, "HEARTH_HOME": str(home)}
    args = ["quantize", str(src), "--type", type_name, "--out", str(out)]
    args += ["--allow-requantize", "--no-library", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert "compounds the loss" in proc.stderr  # the warning for a quantized source
    return Path(json.loads(proc.stdout)["path"])


@pytest.fixture(scope="module")
def quants(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Q8_0 and Q2_K made from Gemma 3 270M's Q4_K_M (and the Q4_K_M itself)."""
    out = tmp_path_factory.mktemp("quants")
    home = tmp_path_factory.mktemp("home")
    made = {t: _quantize_cli(gemma_path, t, out, home) for t in ("Q8_0", "Q2_K")}
    return {**made, "Q4_K_M": gemma_path}


@pytest.fixture(scope="module")
def engine() -> Iterator[BlockingEngine]:
    e = BlockingEngine()
    yield e
    e.close()


def _quality(engine: BlockingEngine, model: Path, ref: Path | None = None, **kw: Any) -> Any:
    events: list[Any] = []
    args: dict[str, Any] = {"n_ctx": CTX, "chunks": CHUNKS, "threads": 2}
    args.update(kw)
    result = engine.quality(str(model), str(ref) if ref else None, on_event=events.append, **args)
    return result, events


def test_kl_divergence_and_perplexity_order_the_quants(
    engine: BlockingEngine, quants: dict[str, Path]
) -> None:
    ref = quants["Q8_0"]
    same, events = _quality(engine, ref, ref)
    assert events[0]["event"] == Event.ESTIMATE and events[0]["basis"] == "rough"
    assert events[0]["seconds"] > 0 and events[0]["reference_cached"] is False
    stages = [e.get("stage") for e in events if e["event"] == Event.PROGRESS]
    assert stages[0] == "reference" and stages[-1] == "model"
    assert same["kl_divergence"] == {"mean": 0.0, "median": 0.0, "p99": 0.0}
    assert same["same_top"] == 1.0 and same["perplexity_ratio"] == pytest.approx(1.0)
    assert same["perplexity"] == pytest.approx(same["reference_perplexity"])
    assert same["tokens"] == CHUNKS * (CTX - 1 - CTX // 2) and same["chunks"] == CHUNKS

    q4, events = _quality(engine, quants["Q4_K_M"], ref)
    assert q4["reference_cached"] is True  # the reference ran once
    assert not any(e.get("stage") == "reference" for e in events)
    q2, _ = _quality(engine, quants["Q2_K"], ref)
    assert 0 < q4["kl_divergence"]["mean"] < q2["kl_divergence"]["mean"]
    assert q4["kl_divergence"]["p99"] < q2["kl_divergence"]["p99"]
    assert same["perplexity"] < q4["perplexity"] < q2["perplexity"]
    assert 1.0 < q4["perplexity_ratio"] < q2["perplexity_ratio"]
    assert 1.0 > q4["same_top"] > q2["same_top"] > 0.3


def test_without_a_reference(engine: BlockingEngine, smollm_path: Path) -> None:
    r, _ = _quality(engine, smollm_path, chunks=2)
    assert 5 < r["perplexity"] < 200
    assert r["kl_divergence"] is None and r["same_top"] is None and r["perplexity_ratio"] is None
    assert r["reference"] is None and r["seconds"] > 0 and r["tokens_per_second"] > 0


def test_bundled_text_has_over_50000_tokens(gemma_path: Path, smollm_path: Path) -> None:
    import llama_cpp as L

    from app.core.quality.evaltext import read_text

    L.llama_backend_init()
    text, _ = read_text()
    data = text.encode("utf-8")
    for path in (gemma_path, smollm_path):
        params = L.llama_model_default_params()
        params.vocab_only = True
        model = L.llama_model_load_from_file(str(path).encode(), params)
        try:
            vocab = L.llama_model_get_vocab(model)
            arr = (L.llama_token * len(data))()
            n = L.llama_tokenize(vocab, data, len(data), arr, len(data), True, False)
        finally:
            L.llama_model_free(model)
        assert n > 100_000, (path.name, n)


def test_bad_input(
    engine: BlockingEngine, gemma_path: Path, smollm_path: Path, tmp_path: Path
) -> None:
    with pytest.raises(EngineError, match="another vocabulary") as exc:
        _quality(engine, gemma_path, smollm_path, chunks=2)
    assert exc.value.code == ErrorCode.BAD_REQUEST
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    with pytest.raises(EngineError, match="empty"):
        _quality(engine, gemma_path, text_path=str(empty))
    short = tmp_path / "short.txt"
    short.write_text("A short note, much shorter than one chunk of the context.")
    with pytest.raises(EngineError, match="needs at least 256") as exc:
        _quality(engine, gemma_path, text_path=str(short))
    assert exc.value.code == ErrorCode.BAD_REQUEST
    with pytest.raises(EngineError, match="beyond the model's maximum of 8,192"):
        _quality(engine, smollm_path, n_ctx=16_384)
    # The worker is still fine afterwards.
    r, _ = _quality(engine, smollm_path, chunks=1)
    assert r["chunks"] == 1


def test_stop(smollm_path: Path) -> None:
    with BlockingEngine() as engine:

        def on_event(event: Any) -> None:
            if event["event"] == Event.PROGRESS and event["done"] > 0:
                engine.stop()

        with pytest.raises(EngineError) as exc:
            engine.quality(str(smollm_path), n_ctx=CTX, chunks=200, threads=2, on_event=on_event)
        assert exc.value.code == ErrorCode.CANCELLED
        assert engine.status()["busy"] is None


def test_top_k_changes_kl_divergence_by_under_one_percent(quants: dict[str, Path]) -> None:
    """The cached reference keeps its 128 likeliest tokens and 128 drawn from the rest: against
    the whole 262,144-token vocabulary the mean KL divergence moves by less than 1%."""
    import llama_cpp as L

    from app.core.quality import kl
    from app.core.quality.evaltext import read_text
    from app.core.quality.plan import plan_chunks
    from app.engine import quality as Q
    from app.engine.llama_log import LogCapture

    L.llama_backend_init()
    log = LogCapture()
    text, _ = read_text()

    def rows(path: Path) -> tuple[np.ndarray, np.ndarray]:
        m = Q._load(str(path), log)
        try:
            tokens = Q.tokenize(m, text)
            plan = plan_chunks(len(tokens), CTX, 8)
            got: list[np.ndarray] = []
            nxt: list[np.ndarray] = []
            Q.Evaluator(lambda: False, 2).run(
                m,
                tokens,
                plan,
                lambda lg, n: (got.append(lg.copy()), nxt.append(n)),
                lambda *_: None,
            )
        finally:
            m.free()
        return np.concatenate(got), np.concatenate(nxt)

    ref_logits, nxt = rows(quants["Q8_0"])
    top = kl.reference_rows(ref_logits, nxt)
    for name in ("Q4_K_M", "Q2_K"):
        logits, _ = rows(quants[name])
        compact = float(kl.compare_rows(logits, nxt, top).kld.mean())
        full = float(kl.full_kl(ref_logits, logits).mean())
        assert abs(compact - full) / full < 0.01, (name, compact, full)


# -- quantizing -----------------------------------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_quantize_smollm_and_the_source_is_untouched(smollm_path: Path, tmp_path: Path) -> None:
    before = (_sha(smollm_path), smollm_path.stat().st_mtime_ns)
    events: list[Any] = []
    with BlockingEngine() as engine:
        with pytest.raises(EngineError, match="--allow-requantize"):
            engine.quantize(str(smollm_path), "Q8_0", str(tmp_path))
        result = engine.quantize(
            str(smollm_path), "Q8_0", str(tmp_path), True, on_event=events.append
        )
        out = Path(result["path"])
        assert out.name == "SmolLM2-135M-Instruct.Q8_0.gguf" and out.exists()
        assert result["quant"] == "Q8_0" and result["bytes"] == out.stat().st_size
        planned = events[0]
        assert planned["event"] == Event.PLANNED and planned["requantize"] is True
        assert planned["estimated_bytes"] >= result["bytes"] * 0.9
        progress = [e for e in events if e["event"] == Event.PROGRESS]
        assert progress[-1]["done"] == progress[-1]["total"] == result["tensors"] > 10
        with pytest.raises(EngineError, match="already exists"):
            engine.quantize(str(smollm_path), "Q8_0", str(tmp_path), True)
        with pytest.raises(EngineError, match="importance matrix"):
            engine.quantize(str(smollm_path), "IQ2_XXS", str(tmp_path), True)
        r = engine.quality(str(out), n_ctx=CTX, chunks=1, threads=2)  # it loads and runs
        assert r["perplexity"] > 1
    assert (_sha(smollm_path), smollm_path.stat().st_mtime_ns) == before
    assert not list(tmp_path.glob("*.partial"))


def test_quantize_onto_a_full_disk(gemma_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    """Writing stops at 20 MB (a file-size limit stands in for a full disk): a clear error, and
    no file left behind."""
    start = (
        "import resource, runpy, sys; "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (20_000_000, 20_000_000)); "
        "runpy.run_module('app.engine.worker', run_name='__main__')"
    )
    with (
        BlockingEngine(command=[sys.executable, "-c", start]) as engine,
        pytest.raises(EngineError) as exc,
    ):
        engine.quantize(str(gemma_path), "Q8_0", str(out), True)
    assert exc.value.code == ErrorCode.QUANTIZE_FAILED
    assert "writing the file failed" in str(exc.value) and "is the disk full?" in str(exc.value)
    assert list(out.iterdir()) == []
