"""Locate bundled assets (icons, stylesheet) in the source tree, an installed package or a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "app" / "resources"
    try:
        import importlib.resources

        return Path(str(importlib.resources.files("app.resources")))
    except ModuleNotFoundError:
        # Running from a source checkout that was never installed.
        return Path(__file__).resolve().parents[2] / "resources"


def resource_path(name: str) -> Path:
    path = resources_dir() / name
    if not path.exists():
        raise FileNotFoundError(f"missing resource {name} (looked in {resources_dir()})")
    return path


def read_text(name: str) -> str:
    return resource_path(name).read_text(encoding="utf-8")
