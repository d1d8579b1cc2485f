"""KV cache sizes: per layer, by cache type, and sliding-window layers capped."""

from __future__ import annotations

from pathlib import Path

from app.core.fit.buffers import GiB, kv_bytes_per_layer
from app.core.fit.placement import Device, FitOptions, estimate
from app.core.fit.shape import shape_from_file, shape_from_name

AVX2 = {"avx2", "avx", "fma", "f16c"}


def test_kv_cache_for_a_llama_3_8b_shape() -> None:
    shape = shape_from_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    per_token = sum(kv_bytes_per_layer(shape, 256, "f16", 512, False)) // 256
    assert per_token == 128 * 1024  # 2 x 32 layers x 8 heads x 128 x 2 bytes
    assert sum(kv_bytes_per_layer(shape, 8192, "f16", 512, False)) == GiB
    q8 = sum(kv_bytes_per_layer(shape, 8192, "q8_0", 512, False))
    assert q8 == GiB * 34 // 32 // 2  # 8.5 bits per value
    r = estimate(
        shape,
        FitOptions(n_ctx=8192, n_gpu_layers=0),
        [Device("CPU", "cpu", 512 * GiB, 512 * GiB)],
        AVX2,
    )
    assert r.devices[0].kv_cache_bytes == GiB


def test_sliding_window_layers_are_capped(gemma_path: Path) -> None:
    shape = shape_from_file(str(gemma_path))
    per_layer = kv_bytes_per_layer(shape, 32768, "f16", 512, False)
    full = [b for b, swa in zip(per_layer, shape.swa_layers, strict=True) if not swa]
    slide = [b for b, swa in zip(per_layer, shape.swa_layers, strict=True) if swa]
    assert len(full) == 3 and len(slide) == 15  # every sixth layer is global in Gemma 3
    assert full[0] == 32768 * 256 * 2 * 2  # keys and values of one KV head of 256, f16
    assert slide[0] == 1024 * 256 * 2 * 2  # window 512 + micro-batch 512 cells
    assert sum(kv_bytes_per_layer(shape, 32768, "f16", 512, True)) == 18 * full[0]  # swa_full
