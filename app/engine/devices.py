"""The installed llama.cpp build and the devices it can use (ggml's backend registry).

llama-cpp-python does not wrap ggml's device enumeration, so it is read through ctypes from the
libggml that llama_cpp already loaded: opening it by its soname returns that same copy, with the
same registry, rather than loading a second one.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Any

from app.engine.events import BuildInfo

DEVICE_TYPES = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel", 4: "meta"}


def _libggml() -> ctypes.CDLL:
    import llama_cpp  # loads libggml as a dependency of libllama

    if sys.platform == "win32":
        names = ["ggml.dll"]
    elif sys.platform == "darwin":
        names = ["libggml.dylib", "libggml.0.dylib"]
    else:
        names = ["libggml.so.0", "libggml.so"]
    lib_dir = Path(llama_cpp.__file__).parent / "lib"
    for name in names:
        for candidate in (name, str(lib_dir / name)):
            try:
                return ctypes.CDLL(candidate)
            except OSError:
                continue
    raise OSError("libggml could not be found next to llama_cpp")


def list_devices() -> list[dict[str, Any]]:
    """Name, description, type and memory (bytes) of each device llama.cpp registered."""
    lib = _libggml()
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    for fn in (lib.ggml_backend_dev_name, lib.ggml_backend_dev_description):
        fn.restype = ctypes.c_char_p
        fn.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_memory.restype = None
    lib.ggml_backend_dev_memory.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    out = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        out.append(
            {
                "name": (lib.ggml_backend_dev_name(dev) or b"").decode(errors="replace"),
                "description": (lib.ggml_backend_dev_description(dev) or b"").decode(
                    errors="replace"
                ),
                "type": DEVICE_TYPES.get(lib.ggml_backend_dev_type(dev), "unknown"),
                "free_bytes": int(free.value),
                "total_bytes": int(total.value),
            }
        )
    return out


def list_backends() -> list[dict[str, Any]]:
    """The backends compiled into this build (ggml's registries) and how many devices each found.

    A GPU build lists its backend even where it finds no device (no driver, an unsupported GPU),
    which the device list alone cannot tell from a CPU build.
    """
    lib = _libggml()
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_get.restype = ctypes.c_void_p
    lib.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_reg_name.restype = ctypes.c_char_p
    lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_reg_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_dev_count.argtypes = [ctypes.c_void_p]
    out = []
    for i in range(lib.ggml_backend_reg_count()):
        reg = lib.ggml_backend_reg_get(i)
        out.append(
            {
                "name": (lib.ggml_backend_reg_name(reg) or b"").decode(errors="replace"),
                "devices": int(lib.ggml_backend_reg_dev_count(reg)),
            }
        )
    return out


# ggml's names for the GPU backends (device names drop the trailing number: CUDA0, MTL0, ROCm0).
GPU_BACKENDS = {
    "CUDA": "CUDA",
    "MTL": "Metal",
    "Metal": "Metal",
    "Vulkan": "Vulkan",
    "HIP": "ROCm",
    "ROCm": "ROCm",
    "SYCL": "SYCL",
    "OpenCL": "OpenCL",
    "MUSA": "MUSA",
    "CANN": "CANN",
}


def backend_name(
    devices: list[dict[str, Any]], backends: list[dict[str, Any]] | None = None
) -> str:
    """The GPU backend of this build (CUDA, Metal, Vulkan, ROCm, ...) or CPU.

    Named from a GPU device when there is one, else from a GPU backend compiled in without devices.
    """
    for d in devices:
        if d["type"] in ("gpu", "igpu"):
            name = d["name"].rstrip("0123456789")
            return GPU_BACKENDS.get(name, name or "GPU")
    for b in backends or []:
        if b["name"] in GPU_BACKENDS:
            return GPU_BACKENDS[b["name"]]
    return "CPU"


def build_info() -> BuildInfo:
    """What this build is and which devices it sees (the ``ready`` event's fields)."""
    import llama_cpp as L

    backends: list[dict[str, Any]] = []
    try:
        devices = list_devices()
        backends = list_backends()
    except OSError as exc:
        devices = [
            {
                "name": "CPU",
                "description": f"devices unknown: {exc}",
                "type": "cpu",
                "free_bytes": 0,
                "total_bytes": 0,
            }
        ]
    return {
        "llama_cpp_version": getattr(L, "__version__", "?"),
        "gpu_offload": bool(L.llama_supports_gpu_offload()),
        "mmap": bool(L.llama_supports_mmap()),
        "system_info": L.llama_print_system_info().decode("utf-8", errors="replace").strip(),
        "devices": devices,
        "backends": backends,
        "backend": backend_name(devices, backends),
    }
