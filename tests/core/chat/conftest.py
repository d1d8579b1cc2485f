"""llama.cpp's own chat-template tests and real templates, read from llama-cpp-python's sdist.

The sdist is fetched once into the development cache by ``packaging/bootstrap.py``; the files the
tests need are extracted next to it on first use. Nothing from it is copied into the repository.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
_CACHE = Path(
    os.environ.get("HEARTH_DEV_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hearth-dev"
)  # as packaging/bootstrap.py finds it
SDIST_DIR = _CACHE.expanduser() / "sdist"  # fixed before any test moves HOME
WANTED = ("vendor/llama.cpp/tests/test-chat-template.cpp", "vendor/llama.cpp/models/templates/")


def _version() -> str:
    cfg = json.loads((REPO / "native" / "backends.json").read_text())
    return str(cfg["llama_cpp_python_version"])


def llama_cpp_tree() -> Path:
    """The extracted ``vendor/llama.cpp`` of the pinned llama-cpp-python sdist."""
    version = _version()
    root = SDIST_DIR / f"llama_cpp_python-{version}"
    done = root / ".extracted"
    if not done.exists():
        tarball = SDIST_DIR / f"llama_cpp_python-{version}.tar.gz"
        if not tarball.exists():
            pytest.fail(
                f"{tarball} is missing: llama.cpp's chat-template tests are read from it. "
                "Run `python3 packaging/bootstrap.py setup`, which fetches it"
            )
        prefix = f"llama_cpp_python-{version}/"
        with tarfile.open(tarball) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.isfile() and m.name.removeprefix(prefix).startswith(WANTED)
            ]
            tar.extractall(SDIST_DIR, members=members, filter="data")
        done.write_text("")
    return root / "vendor" / "llama.cpp"


@pytest.fixture(scope="session")
def llama_cpp_sources() -> Path:
    return llama_cpp_tree()
