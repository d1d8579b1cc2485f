"""The arithmetic of quality measurements and quantizing, without a model."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.core.quality import kl, refcache
from app.core.quality import quantize as Z
from app.core.quality.evaltext import EvalTextError, read_text
from app.core.quality.plan import PlanError, plan_chunks, rough_seconds
from app.core.quality.stats import kl_summary, median, percentile


def test_plan_cuts_like_llama_perplexity() -> None:
    plan = plan_chunks(10_000, 512)
    assert plan.chunks == 19 and plan.first == 256 and plan.scored_per_chunk == 255
    assert plan.n_seq == 4  # a 2048-token batch holds four 512-token chunks
    assert plan.scored == 19 * 255 and plan.evaluated == 19 * 512
    assert plan_chunks(10_000, 512, chunks=3).chunks == 3
    assert plan_chunks(10_000, 128, chunks=2).n_seq == 2
    assert rough_seconds(plan, 270_000_000, 2) > 0


@pytest.mark.parametrize(
    ("tokens", "ctx", "chunks", "train", "says"),
    [
        (1000, 512, None, None, "needs at least 1,024"),
        (0, 512, None, None, "only 0 tokens"),
        (100_000, 16384, None, 8192, "beyond the model's maximum of 8,192"),
        (100_000, 8, None, None, "too small"),
        (100_000, 512, 0, None, "at least 1"),
    ],
)
def test_plan_refuses(
    tokens: int, ctx: int, chunks: int | None, train: int | None, says: str
) -> None:
    with pytest.raises(PlanError, match=says):
        plan_chunks(tokens, ctx, chunks, train)


def test_percentile_and_median_as_llama_perplexity() -> None:
    values = sorted([0.5, 0.1, 0.3, 0.2, 0.4])
    assert median(values) == 0.3 and median([1.0, 2.0]) == 1.5
    assert percentile(values, 0.99) == pytest.approx(0.4 + 0.96 * 0.1)
    assert kl_summary([0.0, 0.0]) == {"mean": 0.0, "median": 0.0, "p99": 0.0}


def test_compact_kl_is_zero_for_itself_and_close_to_the_whole() -> None:
    rng = np.random.default_rng(1)
    p_logits = rng.normal(0, 3, (300, 5000)).astype(np.float32)
    q_logits = p_logits + rng.normal(0, 0.5, p_logits.shape).astype(np.float32)
    nxt = rng.integers(0, 5000, 300)
    ref = kl.reference_rows(p_logits, nxt, k=64)
    assert np.all(np.diff(ref.logp, axis=1) <= 0)  # most likely first
    same = kl.compare_rows(p_logits, nxt, ref)
    assert np.all(same.kld == 0) and same.same_top.all()
    other = kl.compare_rows(q_logits, nxt, ref, threads=2)
    full = kl.full_kl(p_logits, q_logits)
    assert abs(other.kld.mean() - full.mean()) / full.mean() < 0.02
    merged = kl.compact_kl(
        ref.logp,
        np.take_along_axis(kl.log_softmax(q_logits), ref.ids.astype(np.int64), axis=1),
        ref.tail_logp[:, :0],
        ref.tail_logp[:, :0],
    )
    assert merged.mean() < full.mean()  # the head alone misses the tail's share
    assert np.allclose(same.nll, ref.nll, atol=1e-5)


def test_eval_text_builtin_gz_and_errors(tmp_path: Path) -> None:
    text, name = read_text()
    assert len(text) > 400_000 and "Persuasion" in name
    assert text.lstrip().startswith("Persuasion")
    gz = tmp_path / "t.txt.gz"
    gz.write_bytes(gzip.compress(b"some words\n"))
    assert read_text(gz)[0] == "some words\n"
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n")
    with pytest.raises(EvalTextError, match="empty"):
        read_text(empty)
    with pytest.raises(EvalTextError, match="does not exist"):
        read_text(tmp_path / "missing.txt")


def test_reference_cache_round_trip_and_damage(tmp_path: Path) -> None:
    model = tmp_path / "ref.gguf"
    model.write_bytes(b"x" * 10)
    key = refcache.cache_key(model, "text", 128, 2, 128)
    assert key != refcache.cache_key(model, "other text", 128, 2, 128)
    top = kl.TopK(
        np.zeros((3, 4), np.int32),
        np.full((3, 4), -1.5, np.float32),
        np.ones(3, np.float32),
        np.zeros((3, 2), np.int32),
        np.full((3, 2), -9.0, np.float32),
    )
    refcache.save(key, refcache.ReferenceLogits(np.arange(5, dtype=np.int32), 99, top))
    back = refcache.load(key)
    assert back is not None and back.n_vocab == 99 and back.top.logp.dtype == np.float32
    assert np.array_equal(back.top.logp, top.logp)
    refcache.cache_path(key).write_bytes(b"not a zip")
    assert refcache.load(key) is None and not refcache.cache_path(key).exists()


@pytest.mark.parametrize(
    ("name", "type_name", "expected"),
    [
        ("gemma-3-270m-Q4_K_M.gguf", "Q8_0", "gemma-3-270m-Q8_0.gguf"),
        ("SmolLM2-135M-Instruct.Q4_1.gguf", "Q2_K", "SmolLM2-135M-Instruct.Q2_K.gguf"),
        ("Llama-3-8B-Instruct-BF16.gguf", "Q4_K_M", "Llama-3-8B-Instruct-Q4_K_M.gguf"),
        ("model.gguf", "Q6_K", "model-Q6_K.gguf"),
    ],
)
def test_output_name(name: str, type_name: str, expected: str) -> None:
    assert Z.output_name(Path(name), type_name) == expected


def _plan(tmp_path: Path, **kw: Any) -> Z.QuantizePlan:
    src = tmp_path / "m-F16.gguf"
    src.write_bytes(b"")
    args: dict[str, Any] = {
        "source": src,
        "type_name": "q4_k",
        "source_type": "F16",
        "tensors": [("blk.0.ffn_up.weight", 1_000_000, 2), ("token_embd.weight", 500_000, 2)],
        "metadata_bytes": 1000,
    }
    args.update(kw)
    return Z.plan_quantize(**args)


def test_plan_quantize(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    assert plan.type == "Q4_K_M" and plan.file_type == 15 and not plan.requantize
    assert plan.out == tmp_path / "m-Q4_K_M.gguf" and not plan.warnings
    assert 1_000_000 * 4.5 / 8 < plan.estimated_bytes < 3_000_000
    q8 = _plan(tmp_path, source_type="Q8_0")
    assert q8.requantize and not q8.warnings  # Q8_0 is a source without asking
    with pytest.raises(Z.QuantizeError, match="--allow-requantize"):
        _plan(tmp_path, source_type="Q4_K_M")
    forced = _plan(tmp_path, source_type="Q4_K_M", allow_requantize=True)
    assert forced.requantize and "compounds the loss" in forced.warnings[0]
    with pytest.raises(Z.QuantizeError, match="importance matrix"):
        _plan(tmp_path, type_name="IQ2_XS")
    with pytest.raises(Z.QuantizeError, match="Unknown quant type"):
        _plan(tmp_path, type_name="Q9_Z")
    with pytest.raises(Z.QuantizeError, match="overwrite the source"):
        _plan(tmp_path, out=tmp_path / "m-F16.gguf")
    (tmp_path / "m-Q4_K_M.gguf").write_bytes(b"")
    with pytest.raises(Z.QuantizeError, match="already exists"):
        _plan(tmp_path)


def test_free_space_is_checked_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Z.check_free_space(tmp_path, 1000)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(Z.shutil, "disk_usage", lambda _p: usage._replace(free=100 << 20))
    with pytest.raises(Z.QuantizeError, match="Not enough free space"):
        Z.check_free_space(tmp_path, 1000)
