"""The About box: Hearth's version and what the llama.cpp build can use."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox, QWidget

from app import __version__


def offload_text(build: dict[str, Any]) -> str:
    if build.get("gpu_offload"):
        return "yes"
    backend = build.get("backend") or "CPU"
    return (
        "no (CPU build)" if backend == "CPU" else f"no ({backend} build, no {backend} device found)"
    )


def show_about(parent: QWidget, build: dict[str, Any]) -> None:
    QMessageBox.about(
        parent,
        "About Hearth",
        f"<b>Hearth {__version__}</b><p>Private, offline chat with GGUF models.</p>"
        f"<p>llama-cpp-python {build.get('llama_cpp_version', '?')}; llama.cpp build: "
        f"{build.get('backend') or '?'}; GPU offload: {offload_text(build)}.</p>",
    )
