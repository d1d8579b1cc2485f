"""`hearth hw` and `hearth fit` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import hearth

DEVICE_FIELDS = {
    "name",
    "kind",
    "weights_bytes",
    "kv_cache_bytes",
    "compute_bytes",
    "overhead_bytes",
    "total_bytes",
    "capacity_bytes",
    "free_bytes",
}
LOAD_FIELDS = {
    "n_ctx",
    "n_batch",
    "n_ubatch",
    "flash_attn",
    "type_k",
    "type_v",
    "swa_full",
    "n_gpu_layers",
}


def test_hw_json() -> None:
    proc = hearth("hw", "--json")
    assert proc.returncode == 0, proc.stderr
    hw = json.loads(proc.stdout)
    assert hw["ram_total"] >= hw["ram_available"] > 0
    assert hw["build_backend"] == "CPU" and hw["gpu_offload"] is False  # the CPU build set-up makes
    assert any("No GPU" in n or "CPU only" in n for n in hw["notes"])
    text = hearth("hw").stdout
    assert "RAM:" in text and "llama.cpp build: CPU" in text


def test_fit_a_local_file(gemma_path: Path) -> None:
    proc = hearth("fit", str(gemma_path), "--ctx", "8192", "--kv-type", "q8_0", "--json")
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["grade"] == "file" and r["verdict"] == "cpu_only"
    assert (r["n_ctx"], r["kv_type"], r["gpu_layers"], r["n_layers"]) == (8192, "q8_0", 0, 18)
    assert set(r["devices"][0]) >= DEVICE_FIELDS and r["devices"][0]["kind"] == "cpu"
    assert set(r["load_options"]) >= LOAD_FIELDS
    assert r["load_options"]["type_k"] == "q8_0" and r["load_options"]["n_gpu_layers"] == 0
    d = r["devices"][0]
    assert (
        r["total_bytes"]
        == d["weights_bytes"]
        + d["repack_bytes"]
        + d["kv_cache_bytes"]
        + d["compute_bytes"]
        + d["overhead_bytes"]
    )
    assert isinstance(r["assumptions"], list)


def test_fit_by_name_for_another_machine() -> None:
    proc = hearth(
        "fit",
        "Llama-3.3-70B-Instruct Q4_K_M",
        "--ctx",
        "8192",
        "--ram",
        "64",
        "--vram",
        "24",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["grade"] == "name" and r["verdict"] == "gpu_partial"
    assert [d["kind"] for d in r["devices"]] == ["cpu", "gpu"]
    assert r["devices"][1]["capacity_bytes"] == 24 << 30
    assert 0 < r["gpu_layers"] < 81
    assert any("70" in a and "bits per weight" in a for a in r["assumptions"])
    whole = json.loads(
        hearth(
            "fit",
            "Llama-3.3-70B-Instruct Q4_K_M",
            "--ctx",
            "8192",
            "--ram",
            "64",
            "--vram",
            "80",
            "--json",
        ).stdout
    )
    assert whole["verdict"] == "gpu_full" and whole["gpu_layers"] == 81


def test_fit_with_params_and_fixed_layers() -> None:
    r = json.loads(
        hearth(
            "fit",
            "qwen2.5-my-finetune Q5_K_M",
            "--params",
            "7.6B",
            "--gpu-layers",
            "10",
            "--ram",
            "32",
            "--vram",
            "8",
            "--json",
        ).stdout
    )
    assert (r["gpu_layers"], r["n_layers"], r["verdict"]) == (10, 28, "gpu_partial")
    assert any("Qwen2.5 7B" in a for a in r["assumptions"])


def test_fit_bad_input() -> None:
    for args, message in [
        (("fit", "mystery Q4_K_M"), "how many parameters"),
        (("fit", "Llama-3-8B-Q9_X.gguf"), "unknown quant"),
        (("fit", "Meta-Llama-3.1-8B-Q4_K_M.gguf", "--ctx", "-1"), "positive"),
        (("fit", "Meta-Llama-3.1-8B-Q4_K_M.gguf", "--ctx", "999999999"), "beyond"),
        (("fit", "Meta-Llama-3.1-8B-Q4_K_M.gguf", "--params", "lots"), "--params"),
        (("fit", "Meta-Llama-3.1-8B-Q4_K_M.gguf", "--gpu-layers", "many"), "--gpu-layers"),
    ]:
        proc = hearth(*args)
        assert proc.returncode == 2, (args, proc.stdout)
        assert message in proc.stderr and "Traceback" not in proc.stderr


def test_the_weights_of_a_name_are_the_files_size_wherever_they_go() -> None:
    """`hearth fit NAME --json`'s weights are the file's (a real Hub file: 4.94 GB), on any CPU:
    the copies llama.cpp repacks for this CPU are counted beside them, in the total."""
    name = "Meta-Llama-3-8B-Instruct.Q4_K_M.gguf"  # MaziyarPanahi's, in tests/data
    r = json.loads(hearth("fit", name, "--params", "8B", "--json").stdout)
    assert abs(r["weights_bytes"] - 4_939_212_390) < 0.02 * 4_939_212_390
    (cpu,) = r["devices"]
    assert cpu["weights_bytes"] == r["weights_bytes"]
    parts = ("weights_bytes", "repack_bytes", "kv_cache_bytes", "compute_bytes", "overhead_bytes")
    assert cpu["total_bytes"] == sum(cpu[k] for k in parts)
    with_gpu = json.loads(
        hearth("fit", name, "--params", "8B", "--ram", "32", "--vram", "24", "--json").stdout
    )
    assert with_gpu["verdict"] == "gpu_full"
    assert sum(d["weights_bytes"] for d in with_gpu["devices"]) == with_gpu["weights_bytes"]


def test_params_as_expert_models_state_them() -> None:
    """Repos of mixture-of-experts models state "8x7B" or "30B-A3B"; --params takes them as the
    name would, so the family's real count (46.7 B, not 8 x 7) is what the estimate uses."""
    for name, stated, label in [
        ("mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf", "8x7B", "Mixtral 8x7B"),
        ("DeepSeek-Coder-V2-Lite-Instruct-Q4_K_M.gguf", "16B-A2.4B", "DeepSeek-V2-Lite"),
        ("Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf", "30B-A3B", "Qwen3 30B-A3B"),
        # Llama 4's repos state the active size: "17B-16E", or "17B" alone, is not a total.
        ("Llama-4-Scout-17B-16E-Instruct-Q4_K_M.gguf", "17B-16E", "Llama 4 Scout"),
        ("Llama-4-Scout-17B-16E-Instruct-Q4_K_M.gguf", "17B", "Llama 4 Scout"),
        ("Llama-4-Scout-17B-16E-Instruct-Q4_K_M.gguf", "109B", "Llama 4 Scout"),
    ]:
        r = json.loads(hearth("fit", name, "--params", stated, "--json").stdout)
        assert label in r["assumptions"][0], (name, r["assumptions"][0])
    unknown = json.loads(hearth("fit", "my-moe-Q8_0.gguf", "--params", "8x7B", "--json").stdout)
    assert "parameters: 56.00 B" in unknown["assumptions"][0]  # no family: as stated
    hunyuan = json.loads(
        hearth("fit", "Hunyuan-A13B-Instruct-Q4_K_M.gguf", "--params", "A13B", "--json").stdout
    )
    assert "Hunyuan A13B" in hunyuan["assumptions"][0]  # the active size the name states
    gemma = json.loads(
        hearth("fit", "gemma-3n-E4B-it-Q4_K_M.gguf", "--params", "E4B", "--json").stdout
    )
    assert "Gemma 3n E4B" in gemma["assumptions"][0]  # the effective size the name states
    active = hearth("fit", "my-moe-Q8_0.gguf", "--params", "A13B")
    assert active.returncode == 2 and "active count" in active.stderr
    bad = hearth("fit", "my-moe-Q8_0.gguf", "--params", "8y7B")
    assert bad.returncode == 2 and "8x7B or 30B-A3B" in bad.stderr
