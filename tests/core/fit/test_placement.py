"""Placement and verdicts: real models as llama.cpp allocates them, GPU layers, the planner."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.fit.placement import Device, FitOptions, estimate, plan_offload
from app.core.fit.shape import FitError, shape_from_file, shape_from_name

GiB, MiB = 1 << 30, 1 << 20
AVX2 = {"avx2", "avx", "fma", "f16c"}


def big_cpu(free: int = 512 * GiB) -> list[Device]:
    return [Device("CPU", "cpu", free, free)]


def with_gpu(vram_free: int, ram: int = 64 * GiB) -> list[Device]:
    return [Device("CPU", "cpu", ram, ram), Device("GPU", "gpu", vram_free, vram_free, "CUDA")]


def test_real_models_match_what_llama_cpp_allocates(smollm_path: Path, gemma_path: Path) -> None:
    """Buffer sizes llama.cpp reported for these models on this kind of CPU (AVX2)."""
    cases = [
        (smollm_path, 2048, "f16", 92.10 + 0.19 + 45.00 + 102.51),
        (smollm_path, 8192, "q8_0", 92.10 + 0.19 + 95.62 + 99.38),
        (gemma_path, 2048, "f16", 235.16 + 12.66 + 1.00 + 6.00 + 15.00 + 514.50),
        (gemma_path, 32768, "q8_0", 235.16 + 12.66 + 1.00 + 51.00 + 7.97 + 514.50),
    ]
    for path, n_ctx, kv, reported_mib in cases:
        r = estimate(
            shape_from_file(str(path)),
            FitOptions(n_ctx=n_ctx, kv_type=kv, n_gpu_layers=0),
            big_cpu(),
            AVX2,
        )
        cpu = r.devices[0]
        allocated = (
            cpu.weights_bytes + cpu.repack_bytes + cpu.kv_cache_bytes + cpu.compute_bytes
        ) / MiB
        assert allocated == pytest.approx(reported_mib, rel=0.05), (path.name, n_ctx, kv)


def test_gpu_and_host_sides_match_what_a_gpu_build_allocates(smollm_path: Path) -> None:
    """Buffers a Vulkan build of llama.cpp reported for SmolLM2 at 2,048 tokens (f16 KV, model
    read into memory; native/README.md), with every layer on the GPU and with 16 of 31."""
    cases = [
        # GPU layers, (GPU: model + KV + compute), (host: model + output + KV + compute)
        (-1, 92.10 + 45.00 + 98.25, 28.69 + 0.19 + 0.00 + 4.26),
        (16, 60.40 + 22.50 + 97.12, 60.39 + 0.19 + 22.50 + 4.26),
    ]
    devices = [
        Device("CPU", "cpu", 64 * GiB, 64 * GiB),
        Device("GPU", "gpu", 8 * GiB, 8 * GiB, "Vulkan"),
    ]
    for n_gpu, gpu_mib, host_mib in cases:
        r = estimate(
            shape_from_file(str(smollm_path)),
            FitOptions(n_ctx=2048, n_gpu_layers=n_gpu),
            devices,
            AVX2,
        )
        host, gpu = r.devices
        for use, reported in ((gpu, gpu_mib), (host, host_mib)):
            allocated = (use.weights_bytes + use.kv_cache_bytes + use.compute_bytes) / MiB
            assert allocated == pytest.approx(reported, rel=0.03), (n_gpu, use.kind)


@pytest.mark.parametrize(
    ("n_gpu", "reported"),
    [
        # llama.cpp's buffers (MiB) on an H200 with a CUDA build, SmolLM2 at 4,096 tokens, f16
        # KV, flash attention auto (bench/bench_gpu.py); per side: weights, KV, compute (+output)
        (-1, {"gpu": (92.17, 90.0, 97.12), "cpu": (28.69, 0.0, 6.26 + 0.19)}),
        (10, {"gpu": (47.73, 27.0, 97.12), "cpu": (None, 63.0, 6.26 + 0.19)}),
        # No layer on the GPU: the large batches are still multiplied there (op offload), with
        # the tied embeddings copied over for the output layer.
        (0, {"gpu": (0.0, 0.0, 126.34), "cpu": (92.10, 90.0, 6.26 + 0.19)}),
    ],
)
def test_each_buffer_on_each_side_as_a_cuda_build_allocates(
    smollm_path: Path, n_gpu: int, reported: dict
) -> None:
    r = estimate(
        shape_from_file(str(smollm_path)),
        FitOptions(n_ctx=4096, n_gpu_layers=n_gpu),
        [
            Device("CPU", "cpu", 64 * GiB, 64 * GiB),
            Device("H200", "gpu", 140 * GiB, 140 * GiB, "CUDA"),
        ],
        set(),
    )
    host, gpu = r.devices
    for use, side in ((gpu, "gpu"), (host, "cpu")):
        figures = (use.weights_bytes, use.kv_cache_bytes, use.compute_bytes)
        for kind, est, rep in zip(
            ("weights", "KV", "compute"), figures, reported[side], strict=True
        ):
            if rep is None:  # llama.cpp reports the mapped range of the file here, not its use
                continue
            assert est / MiB == pytest.approx(rep, rel=0.02, abs=0.01), (n_gpu, side, kind)
    # The runtime's own memory: the worker held 598-605 MiB beyond these buffers; the estimate
    # counts no less, and leaves the pool some room to grow.
    assert 605 <= gpu.overhead_bytes / MiB <= 700


def test_repacking_depends_on_the_cpu(gemma_path: Path) -> None:
    shape = shape_from_file(str(gemma_path))
    with_avx2 = estimate(shape, FitOptions(n_ctx=2048, n_gpu_layers=0), big_cpu(), AVX2).devices[0]
    without = estimate(shape, FitOptions(n_ctx=2048, n_gpu_layers=0), big_cpu(), set()).devices[0]
    assert with_avx2.repack_bytes / MiB == pytest.approx(12.66, abs=0.01)  # its Q4_K matrices
    assert without.repack_bytes == 0
    assert with_avx2.weights_bytes == without.weights_bytes  # the file's tensors either way
    assert with_avx2.total_bytes - without.total_bytes == with_avx2.repack_bytes


def test_layers_go_to_the_gpu_output_first(smollm_path: Path) -> None:
    shape = shape_from_file(str(smollm_path))
    devices = with_gpu(80 * GiB)
    none = estimate(shape, FitOptions(n_ctx=2048, n_gpu_layers=0), devices, AVX2)
    one = estimate(shape, FitOptions(n_ctx=2048, n_gpu_layers=1), devices, AVX2)
    full = estimate(shape, FitOptions(n_ctx=2048, n_gpu_layers=-1), devices, AVX2)
    assert none.verdict == "cpu_only" and none.devices[1].weights_bytes == 0
    # one layer on the GPU is the output layer; SmolLM2 ties it to the embeddings, which are copied
    assert one.devices[1].kv_cache_bytes == 0
    assert one.devices[1].weights_bytes > 0 and one.verdict == "gpu_partial"
    assert full.verdict == "gpu_full" and full.gpu_layers == 31
    assert full.devices[1].kv_cache_bytes == 45 * MiB and full.devices[0].kv_cache_bytes == 0
    assert full.load_options == {
        "n_ctx": 2048,
        "n_batch": 512,
        "n_ubatch": 512,
        "flash_attn": True,
        "type_k": "f16",
        "type_v": "f16",
        "swa_full": False,
        "n_gpu_layers": 31,
    }


def test_planner_fills_the_gpu_and_then_the_context() -> None:
    shape = shape_from_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    opts = FitOptions(n_ctx=8192)
    n, max_ctx = plan_offload(shape, opts, with_gpu(4 * GiB), AVX2)
    assert 0 < n < 33 and max_ctx is None
    r = estimate(shape, FitOptions(n_ctx=8192, n_gpu_layers=n), with_gpu(4 * GiB), AVX2)
    more = estimate(shape, FitOptions(n_ctx=8192, n_gpu_layers=n + 1), with_gpu(4 * GiB), AVX2)
    assert r.devices[1].total_bytes <= 4 * GiB - 256 * MiB < more.devices[1].total_bytes
    n_all, max_ctx = plan_offload(shape, opts, with_gpu(24 * GiB), AVX2)
    assert n_all == 33 and max_ctx is not None and 8192 < max_ctx <= 131072
    at_max = estimate(shape, FitOptions(n_ctx=max_ctx, n_gpu_layers=33), with_gpu(24 * GiB), AVX2)
    assert at_max.verdict == "gpu_full"
    auto = estimate(shape, FitOptions(n_ctx=8192, n_gpu_layers="auto"), with_gpu(24 * GiB), AVX2)
    assert auto.gpu_layers == 33 and auto.max_ctx == max_ctx


def test_verdicts() -> None:
    shape = shape_from_name("Llama-3.3-70B-Instruct-Q4_K_M.gguf")
    assert (
        estimate(shape, FitOptions(n_ctx=8192), [Device("CPU", "cpu", 16 * GiB, 12 * GiB)]).verdict
        == "no_fit"
    )
    small = shape_from_name("Qwen3-0.6B-Q8_0.gguf")
    r = estimate(small, FitOptions(n_ctx=4096), [Device("CPU", "cpu", 16 * GiB, 12 * GiB)])
    assert r.verdict == "cpu_only" and r.margin_bytes > 0 and "Runs on the CPU" in r.summary


def test_name_without_a_known_shape_says_so() -> None:
    shape = shape_from_name("Exotic-Model-13B-Q5_K_M.gguf")
    r = estimate(shape, FitOptions(n_ctx=4096), big_cpu())
    assert r.devices[0].kv_cache_bytes == 0 and not r.kv_known
    assert any("unknown" in a for a in r.assumptions)
    assert any("lower bound" in a for a in r.assumptions)


@pytest.mark.parametrize(
    ("name", "params", "opts", "message"),
    [
        ("mystery-Q4_K_M.gguf", None, FitOptions(), "how many parameters"),
        ("Llama-3-8B-Q7_Z.gguf", None, FitOptions(), "unknown quant"),
        ("Llama-3-8B.gguf", None, FitOptions(), "which quant"),
        ("Meta-Llama-3.1-8B-Q4_K_M.gguf", None, FitOptions(n_ctx=0), "positive"),
        ("Meta-Llama-3.1-8B-Q4_K_M.gguf", None, FitOptions(n_ctx=-5), "positive"),
        ("Meta-Llama-3.1-8B-Q4_K_M.gguf", None, FitOptions(n_ctx=1_000_000), "beyond"),
        (
            "Meta-Llama-3.1-8B-Q4_K_M.gguf",
            None,
            FitOptions(kv_type="q8_0", flash_attn="off"),
            "flash attention",
        ),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    name: str, params: int | None, opts: FitOptions, message: str
) -> None:
    with pytest.raises(FitError, match=message):
        estimate(shape_from_name(name, params), opts, big_cpu())


def test_does_not_fit_names_the_memory_the_bars_show() -> None:
    """Repacked weights' file pages may be dropped after loading: not counted as needed."""
    shape = shape_from_name("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    small = [Device("CPU", "cpu", 2 * GiB, int(1.5 * GiB))]
    r = estimate(shape, FitOptions(n_ctx=4096), small, {"avx2", "fma", "f16c"})
    cpu = r.devices[0]
    assert r.verdict == "no_fit" and cpu.evictable_bytes > 0
    assert r.summary.startswith(f"Does not fit: {cpu.resident_bytes / GiB:.1f} GiB needed")
