"""Buffer arithmetic on small made-up shapes: which CPUs repack which types, the KV cache of
unusual layers, the output buffer per sequence, and the attention masks of sliding-window models.

The compute buffer's fitted coefficients (the rows of embeddings, feed-forward activations and
K·Q scores per stage in ``compute_bytes``) are checked against what llama.cpp itself reports by
tests/engine/test_fit_vs_llama.py, which loads real models and is not among the fast tests that
``bench/mutation.py`` runs; changes to those coefficients survive here. The tests below pin what
follows from the shape alone.

Variants of ``app/core/fit/buffers.py`` that give the same sizes (found with
``bench/mutation.py``):

- a head dimension from ``n_embd / n_head`` in true division where both divide evenly (every
  real shape), or computed without checking that both are known (or with 1 when they are not),
  and ``compute_bytes``'s ``assert`` with ``or``: ``shape_known`` has already required them.
"""

from __future__ import annotations

from app.core.fit.buffers import (
    REPACK_ARM_DOTPROD,
    REPACK_X86_AVX2,
    REPACK_X86_AVX512,
    attention_cells_and_masks,
    compute_bytes,
    kv_bytes_per_layer,
    output_bytes,
    repack_types,
)
from app.core.fit.shape import ModelShape


def shape(**kw: object) -> ModelShape:
    base: dict[str, object] = {
        "grade": "header",
        "name": "test",
        "n_layer": 4,
        "n_embd": 256,
        "n_vocab": 1000,
        "n_head": 4,
        "n_head_kv": [2, 2, 2, 2],
    }
    base.update(kw)
    return ModelShape(**base)  # type: ignore[arg-type]


def test_repacked_types_follow_the_cpus_instructions() -> None:
    assert repack_types(set()) == set()
    assert repack_types({"avx2"}) == REPACK_X86_AVX2
    assert repack_types({"avx512f"}) == REPACK_X86_AVX512
    assert repack_types({"avx512"}) == REPACK_X86_AVX512
    assert repack_types({"avx2", "avx512f"}) == REPACK_X86_AVX2 | REPACK_X86_AVX512
    assert repack_types({"asimddp"}) == REPACK_ARM_DOTPROD
    assert repack_types({"dotprod"}) == REPACK_ARM_DOTPROD
    assert repack_types({"avx2", "dotprod"}) == REPACK_X86_AVX2 | REPACK_ARM_DOTPROD
    assert repack_types({"avx512f", "asimddp"}) == REPACK_X86_AVX512 | REPACK_ARM_DOTPROD


def test_no_kv_cache_without_a_known_layer_count() -> None:
    assert kv_bytes_per_layer(shape(n_layer=None), 512, "f16", 512, False) == []
    assert kv_bytes_per_layer(shape(n_head_kv=[]), 512, "f16", 512, False) == []


def test_kv_cache_head_size_from_the_embedding_width() -> None:
    # No key length in the header: n_embd / n_head = 64 values per head, keys and values.
    assert kv_bytes_per_layer(shape(), 256, "f16", 512, False) == [256 * 2 * 128 * 2] * 4
    # Values as wide as the keys unless said otherwise.
    assert (
        kv_bytes_per_layer(shape(key_length=32), 256, "f16", 512, False) == [256 * 2 * 64 * 2] * 4
    )
    sizes = kv_bytes_per_layer(shape(key_length=32, value_length=16), 256, "f16", 512, False)
    assert sizes == [256 * 2 * 48 * 2] * 4
    # MLA caches only the compressed keys.
    assert (
        kv_bytes_per_layer(shape(key_length=32, is_mla=True), 256, "f16", 512, False)
        == [256 * 2 * 32 * 2] * 4
    )


def test_kv_cache_of_layers_without_attention_and_short_head_lists() -> None:
    s = shape(n_head_kv=[2, 0, 4, 0])  # recurrent layers in between (hybrid models)
    assert kv_bytes_per_layer(s, 256, "f16", 512, False) == [
        256 * 2 * 128 * 2,
        0,
        256 * 4 * 128 * 2,
        0,
    ]
    s = shape(n_head_kv=[1, 2, 3])  # fewer entries than layers: the last one goes on
    assert kv_bytes_per_layer(s, 256, "f16", 512, False) == [
        256 * 1 * 128 * 2,
        256 * 2 * 128 * 2,
        256 * 3 * 128 * 2,
        256 * 3 * 128 * 2,
    ]


def test_the_output_buffer_holds_one_row_of_logits_per_sequence() -> None:
    assert output_bytes(shape()) == 4000
    assert output_bytes(shape(), n_seq=3) == 12000
    assert output_bytes(shape(), n_seq=0) == 4000
    assert output_bytes(shape(n_vocab=None)) == 0


SWA = {"sliding_window": 512, "swa_layers": [True, True, True, False]}


def test_attention_masks_of_full_sliding_and_mixed_models() -> None:
    # Full attention: one mask of context x micro-batch, f32 (f16 with flash attention).
    assert attention_cells_and_masks(shape(), 4096, 512, False, False) == (4096, 4096 * 512 * 4)
    assert attention_cells_and_masks(shape(), 4096, 512, True, False) == (4096, 4096 * 512 * 2)
    # Mixed: the full cache's mask plus the sliding window's (window + micro-batch cells).
    assert attention_cells_and_masks(shape(**SWA), 4096, 512, True, False) == (
        4096,
        (4096 + 1024) * 512 * 2,
    )
    # swa_full: the window keeps the whole context.
    assert attention_cells_and_masks(shape(**SWA), 4096, 512, True, True) == (
        4096,
        (4096 + 4096) * 512 * 2,
    )
    # Every layer sliding: one mask, over the window only.
    all_swa = shape(sliding_window=512, swa_layers=[True] * 4)
    assert attention_cells_and_masks(all_swa, 4096, 512, True, False) == (1024, 1024 * 512 * 2)
    # A context shorter than the micro-batch: the batch is the context (padded to 256).
    assert attention_cells_and_masks(shape(), 300, 512, True, False) == (512, 512 * 512 * 2)


def test_compute_buffer_grows_with_the_context_and_the_batch() -> None:
    s = shape(n_ff=1024)
    args = {"flash_attn": False, "with_output": True, "with_layers": True}
    small = compute_bytes(s, 1024, 512, **args)  # type: ignore[arg-type]
    assert compute_bytes(s, 8192, 512, **args) > small  # type: ignore[arg-type]
    assert compute_bytes(s, 1024, 128, **args) < small  # type: ignore[arg-type]
    assert compute_bytes(shape(n_layer=None), 1024, 512, **args) == 0  # type: ignore[arg-type]
    # Defaults: an f16 cache, sliding windows kept to their size.
    s = shape(n_ff=1024, **SWA)
    default = compute_bytes(s, 8192, 512, False, True, True)
    assert default == compute_bytes(s, 8192, 512, False, True, True, False, False)
    assert default != compute_bytes(s, 8192, 512, False, True, True, swa_full=True)
    big_vocab = shape(n_ff=1024, n_vocab=200_000)  # the output stage is the largest
    assert compute_bytes(big_vocab, 8192, 512, False, True, True) < compute_bytes(
        big_vocab, 8192, 512, False, True, True, kv_quantized=True
    )
