"""Probing this machine and turning it (or another) into the estimator's devices."""

from __future__ import annotations

import pytest

from app.core.fit.hardware import devices_for, host_reserve, metal_fraction, probe

GiB = 1 << 30


def test_hardware_probe_and_devices() -> None:
    hw = probe()
    assert hw.ram_total > hw.ram_available > 0
    assert hw.physical_cores >= 1 and hw.cpu_model
    assert not any(g.usable for g in hw.gpus)  # nothing usable without the engine's devices
    engine = [
        {
            "name": "CUDA0",
            "description": "NVIDIA H100",
            "type": "gpu",
            "free_bytes": 70 * GiB,
            "total_bytes": 80 * GiB,
        }
    ]
    hw2 = probe(engine, "CUDA", True)
    assert [(g.name, g.usable, g.free_bytes) for g in hw2.gpus] == [("NVIDIA H100", True, 70 * GiB)]
    devs = devices_for(hw2)
    assert [d.kind for d in devs] == ["cpu", "gpu"] and devs[1].backend == "CUDA"
    other = devices_for(hw, ram_gb=32, vram_gb=12)
    assert other[0].capacity_bytes == 32 * GiB and other[0].free_bytes == 30 * GiB
    assert other[1].free_bytes == 12 * GiB
    assert metal_fraction(16 * GiB) == pytest.approx(2 / 3) and metal_fraction(64 * GiB) == 0.75


def test_a_small_planned_machine_keeps_part_of_its_ram_for_its_system() -> None:
    hw = probe()
    assert [d.free_bytes for d in devices_for(hw, ram_gb=2)] == [int(1.5 * GiB)]
    assert devices_for(hw, ram_gb=1)[0].free_bytes == int(0.75 * GiB)
    assert devices_for(hw, ram_gb=8)[0].free_bytes == 6 * GiB  # 2 GiB kept from 8 GiB up
    assert host_reserve(64 * GiB) == 2 * GiB
