#!/usr/bin/env python3
"""Build llama-cpp-python (llama.cpp) for one backend: check what it needs, then compile a wheel.

    python3 native/build.py BACKEND [--check] [--out DIR]

BACKEND is one of native/backends.json: cpu (tuned for this machine), cpu-portable (for
redistribution: GGML_NATIVE=OFF), cuda, metal, vulkan, rocm. --check only says whether this
machine has what the build needs. The wheel is cached with the development wheels (see
packaging/bootstrap.py; HEARTH_DEV_CACHE moves the cache) and copied to DIR when given.

To use a backend in the development environment:  HEARTH_BACKEND=cuda python3 packaging/bootstrap.py setup
To build the app bundle with it:                  python3 packaging/build_bundle.py --backend vulkan
Which backend the installed build has:            hearth hw   ("llama.cpp build: CUDA", and its devices)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "packaging"))

import bootstrap  # noqa: E402

# What each backend needs beyond a C/C++ compiler and CMake, and how to get it.
NEEDS: dict[str, list[tuple[str, str]]] = {
    "cuda": [
        (
            "nvcc",
            "the CUDA toolkit (nvcc in PATH, e.g. /usr/local/cuda/bin; Debian: nvidia-cuda-toolkit)",
        ),
    ],
    "vulkan": [
        ("glslc", "the GLSL compiler (Debian/Ubuntu: apt-get install glslc)"),
        (
            "vulkan-headers",
            "the Vulkan headers and loader (Debian/Ubuntu: apt-get install libvulkan-dev)",
        ),
        (
            "VK_EXT_layer_settings",
            "Vulkan headers new enough for llama.cpp (they declare VK_EXT_layer_settings: Debian 13, "
            "Ubuntu 24.04, the LunarG SDK; Debian 12's 1.3.239 are older, native/vulkan-debian.sh "
            "then takes the headers of Debian 13's libvulkan-dev and sets VULKAN_SDK)",
        ),
        ("spirv-headers", "the SPIR-V headers (Debian/Ubuntu: apt-get install spirv-headers)"),
    ],
    "rocm": [
        ("hipcc", "ROCm with HIP (hipcc in PATH, e.g. /opt/rocm/bin)"),
    ],
    "metal": [("macos-arm64", "macOS on Apple Silicon (Xcode command line tools)")],
}


def _vulkan_include() -> Path | None:
    """The Vulkan headers CMake will use: $VULKAN_SDK's first (as FindVulkan does), then the system's."""
    sdk = os.environ.get("VULKAN_SDK")
    for p in ([sdk + "/include"] if sdk else []) + ["/usr/include", "/usr/local/include"]:
        if Path(p, "vulkan", "vulkan.hpp").exists() and Path(p, "vulkan", "vulkan_core.h").exists():
            return Path(p)
    return None


def _have(what: str) -> bool:
    if what == "macos-arm64":
        return sys.platform == "darwin" and platform.machine() == "arm64"
    if what == "vulkan-headers":
        return _vulkan_include() is not None
    if what == "VK_EXT_layer_settings":
        include = _vulkan_include()
        return include is None or "VK_EXT_layer_settings" in (
            include / "vulkan" / "vulkan_core.h"
        ).read_text(errors="replace")
    if what == "spirv-headers":
        return any(
            Path(p, "SPIRV-Headers", "SPIRV-HeadersConfig.cmake").exists()
            for p in (
                "/usr/share/cmake",
                "/usr/local/share/cmake",
                "/usr/lib/cmake",
                os.environ.get("VULKAN_SDK", "") + "/share/cmake",
            )
        )
    if what == "nvcc" and not shutil.which("nvcc"):
        cuda = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "bin" / "nvcc"
        return cuda.exists()
    return shutil.which(what) is not None


def check(backend: str) -> list[str]:
    """What is missing for ``backend`` (empty: ready to build)."""
    missing = []
    for tool, hint in [("cmake", "CMake 3.21 or newer"), ("c++", "a C++17 compiler")]:
        if not shutil.which(tool) and not (
            tool == "c++" and (shutil.which("g++") or shutil.which("clang++") or shutil.which("cl"))
        ):
            missing.append(f"{tool}: {hint}")
    for what, hint in NEEDS.get(backend, []):
        if not _have(what):
            missing.append(f"{what}: {hint}")
    return missing


def main(argv: list[str]) -> int:
    cfg = json.loads((HERE / "backends.json").read_text())
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("backend", choices=sorted(cfg["backends"]))
    ap.add_argument("--check", action="store_true", help="only check the prerequisites")
    ap.add_argument("--out", help="copy the built wheel into this folder")
    args = ap.parse_args(argv)

    spec = cfg["backends"][args.backend]
    print(f"{args.backend}: {spec['description']}")
    print(f"CMake flags: {' '.join(spec['cmake_args'])}")
    missing = check(args.backend)
    for m in missing:
        print(f"  missing {m}")
    if missing:
        return 1
    print("  everything this build needs is here")
    if args.check:
        return 0
    os.environ["HEARTH_BACKEND"] = args.backend
    bootstrap.ensure_venv()  # pip runs from the development environment's Python
    wheel = bootstrap.llama_wheel()
    print(f"wheel: {wheel}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(wheel, out / wheel.name)
        print(f"copied to {out / wheel.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
