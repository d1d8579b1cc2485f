"""Screenshots of every page of the real window, light and dark, rendered offscreen for the README.

Each theme gets a fresh data folder (a temporary HEARTH_HOME) holding a few conversations, the
test models in its model folder and the chosen theme; the Hub page talks to the local Hub of the
tests (tests/hub_server.py), so nothing goes online. The window is 1180x780 (QT_SCALE_FACTOR=2
doubles the pixels); the PNGs keep 256 colours (with numpy) at the strongest compression, about
40 KB for a window.

    .venv/bin/python packaging/screenshots.py                      # every page, both themes
    .venv/bin/python packaging/screenshots.py --prefix before-     # the same, named before-*.png
    .venv/bin/python packaging/screenshots.py --pages chat --themes dark --out /tmp/shots
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("chat", "library", "hub", "settings", "load", "welcome")
SIZE = (1180, 780)


def _models_dir() -> Path:
    env = os.environ.get("HEARTH_TEST_MODELS")
    if env:
        return Path(env)
    cache = os.environ.get("HEARTH_DEV_CACHE") or str(Path.home() / ".cache" / "hearth-dev")
    return Path(cache) / "models"


SMOLLM = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA = "gemma-3-270m-Q4_K_M.gguf"

CARD = """---
license: apache-2.0
---
# SmolLM2 135M Instruct

SmolLM2 is a family of **compact language models** that run on a laptop. This repository holds
GGUF quants of the 135M instruct model for llama.cpp and the apps built on it.

## Use it with llama.cpp

```sh
llama-cli -m SmolLM2-135M-Instruct-Q8_0.gguf -p "Write a haiku about tea"
```

| Quant | Size | Notes |
|---|---|---|
| Q8_0 | 145 MB | almost lossless |
| Q4_1 | 98 MB | small and quick |
"""

PYTHON_REPLY = """Use slicing with a step of `-1`; it returns a new list and leaves the original alone:

```python
words = ["tea", "bread", "jam"]
print(words[::-1])  # ['jam', 'bread', 'tea']
```

To reverse **in place** (no copy), call `words.reverse()`. If you only need to walk the list
backwards, `reversed(words)` gives an iterator without building a new list.
"""

CONVERSATIONS: list[tuple[str, list[tuple[str, str, str | None]]]] = [
    (
        "Weekend in Lisbon",
        [
            ("user", "Two days in Lisbon in March: what should I not miss?", None),
            (
                "assistant",
                "- **Alfama** in the morning, before the crowds, then the view from the "
                "Miradouro de Santa Luzia.\n- **Belém**: the tower, the monastery and a pastel "
                "de nata where they were first made.\n- An evening of **fado** in a small "
                "tasca in Mouraria.",
                None,
            ),
        ],
    ),
    (
        "Explain the KV cache",
        [
            ("user", "Why does a longer context need more memory?", None),
            (
                "assistant",
                "Each token the model has read keeps a key and a value vector per layer, so "
                "memory grows with every token of context.",
                None,
            ),
        ],
    ),
    (
        "Reverse a list in Python",
        [
            ("user", "How do I reverse a list in Python?", None),
            (
                "assistant",
                PYTHON_REPLY,
                "The user wants the idiomatic ways: slicing, reverse() and reversed().",
            ),
            ("user", "And a string?", None),
            (
                "assistant",
                'The same slice works: `"hearth"[::-1]` gives `"htraeh"`.',
                None,
            ),
        ],
    ),
]


def _stats(tokens: int) -> dict[str, Any]:
    return {
        "tokens_per_second": 86.4,
        "completion_tokens": tokens,
        "ttft_s": 0.12,
        "prompt_tokens": 64,
        "reused_tokens": 48,
        "context_used": 210,
        "n_ctx": 4096,
        "stop_reason": "eos",
        "thinking_s": 2.0,
    }


def seed_home(home: Path, theme: str, models: Path, with_models: bool) -> Any:
    """Settings, conversations and a model folder for one run; returns the Settings."""
    os.environ["HEARTH_HOME"] = str(home)
    from app.core import paths
    from app.core.chat.store import ChatStore
    from app.core.settings import Settings, save_settings

    paths.set_base_dir(None)
    settings = Settings(theme=theme, known_folders_offered=True)
    settings.load = settings.load.merged({"n_ctx": 4096})
    if not with_models:
        save_settings(settings)
        return settings
    settings.models_dir = "~/Models"  # HOME is a temporary folder too
    folder = settings.models_path()
    folder.mkdir(parents=True, exist_ok=True)
    for name in (SMOLLM, GEMMA):
        if not (folder / name).exists():
            try:
                os.link(models / name, folder / name)
            except OSError:
                shutil.copyfile(models / name, folder / name)
    model = str(folder / SMOLLM)
    settings.remember_model(model)
    save_settings(settings)
    store = ChatStore(paths.chats_db_path())
    try:
        for title, messages in CONVERSATIONS:
            conv = store.create_conversation(title, model)
            for role, text, reasoning in messages:
                stats = _stats(len(text) // 4) if role == "assistant" else None
                store.add_message(
                    conv.id,
                    role,
                    text,
                    model=model if stats else None,
                    stats=stats,
                    reasoning=reasoning,
                )
                time.sleep(0.01)  # distinct times: the list keeps this order
    finally:
        store.close()
    return settings


def wait_until(app: Any, condition: Callable[[], bool], seconds: float, what: str) -> None:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def settle(app: Any, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def _indexed(image: Any) -> Any:
    """``image`` in its 256 most used colours, each pixel the nearest of them (no dithering: a
    window is flat colours and the anti-aliased edges of text); None without numpy."""
    try:
        import numpy as np
    except ImportError:
        return None
    from PySide6.QtGui import QImage

    w, h = image.width(), image.height()
    words = np.frombuffer(image.constBits(), dtype=np.uint32, count=image.bytesPerLine() // 4 * h)
    pixels = words.reshape(h, -1)[:, :w].ravel() & 0xFFFFFF
    colours, inverse, counts = np.unique(pixels, return_inverse=True, return_counts=True)

    def rgb(c: Any) -> Any:
        return np.stack(((c >> 16) & 255, (c >> 8) & 255, c & 255), axis=-1).astype(np.int32)

    # The most used colours first, skipping near copies of one already taken, so that a rare
    # but distinct colour (a keyword's, a link's) is kept over one more shade of grey.
    order = np.argsort(counts)[::-1][:20000]
    candidates = rgb(colours[order])
    taken: list[int] = []
    for gap in (24, 12, 6, 0):
        for i in range(len(order)):
            if len(taken) == 256:
                break
            if i in taken:
                continue
            if not taken or ((candidates[taken] - candidates[i]) ** 2).sum(-1).min() > gap * gap:
                taken.append(i)
    palette = colours[order[sorted(taken)]]
    nearest = np.empty(len(colours), dtype=np.int64)
    pal, cols = rgb(palette), rgb(colours)
    for s in range(0, len(colours), 4096):
        nearest[s : s + 4096] = ((cols[s : s + 4096, None] - pal[None]) ** 2).sum(-1).argmin(1)
    out = QImage(w, h, QImage.Format.Format_Indexed8)
    out.setColorTable([0xFF000000 | int(c) for c in palette])
    rows = np.zeros((h, out.bytesPerLine()), dtype=np.uint8)
    rows[:, :w] = nearest[inverse].reshape(h, w)
    np.frombuffer(out.bits(), dtype=np.uint8, count=rows.size)[:] = rows.ravel()
    return out


def save_png(pixmap: Any, path: Path) -> int:
    """Save ``pixmap`` small: in 256 colours at the strongest compression (about a third of the
    full-colour file and the same to the eye), in full colour without numpy."""
    from PySide6.QtGui import QImage

    image = pixmap.toImage().convertToFormat(QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    (_indexed(image) or image).save(str(path), "PNG", 0)
    return path.stat().st_size


def shoot(
    root: Path,
    theme: str,
    pages: list[str],
    out: Path,
    prefix: str,
    models: Path,
    hub_url: str | None,
) -> None:
    """Save ``pages`` in ``theme``; data folders go under ``root``."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["hearth-screenshots"])
    assert isinstance(app, QApplication)
    app.setApplicationName("Hearth")

    def grab(widget: Any, name: str) -> None:
        settle(app)
        path = out / f"{prefix}{name}-{theme}.png"
        size = save_png(widget.grab(), path)
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {size // 1024} KB")

    window_pages = [p for p in pages if p != "welcome"]
    if window_pages:
        _shoot_window(app, root / f"{theme}-window", theme, window_pages, models, hub_url, grab)
    if "welcome" in pages:
        _shoot_welcome(app, root / f"{theme}-welcome", theme, models, grab)


def _open_window(app: Any, settings: Any) -> Any:
    from app.ui.app import build_window

    window = build_window(settings, app)
    window.resize(*SIZE)
    window.show()
    window.start()
    return window


def _close(app: Any, window: Any) -> None:
    window.close()
    settle(app, 0.3)
    window.deleteLater()
    settle(app, 0.1)


def _shoot_window(
    app: Any,
    home: Path,
    theme: str,
    pages: list[str],
    models: Path,
    hub_url: str | None,
    grab: Any,
) -> None:
    settings = seed_home(home, theme, models, with_models=True)
    window = _open_window(app, settings)
    try:
        wait_until(app, lambda: window.bridge.loaded_info is not None, 120, "the model")
        wait_until(app, lambda: window.hardware is not None, 60, "the hardware survey")
        wait_until(app, lambda: window.library_page.model.rowCount() >= 2, 30, "the library")
        if "chat" in pages:
            window.show_page(0)
            wait_until(app, lambda: len(window.view.widgets) == 4, 30, "the conversation")
            settle(app, 0.8)
            window.view.scroll_to_bottom()
            grab(window, "chat")
        if "library" in pages:
            window.show_page(1)
            window.library_page.table.selectRow(0)
            settle(app, 1.0)
            grab(window, "library")
        if "hub" in pages:
            _show_hub(app, window, hub_url)
            grab(window, "hub")
        if "settings" in pages:
            from app.ui.settings_dialog import SettingsDialog

            dialog = SettingsDialog(window.settings, window)
            dialog.show()
            grab(dialog, "settings")
            dialog.reject()
        if "load" in pages:
            from app.core.fit.shape import shape_from_file
            from app.ui.fit.load_dialog import LoadDialog

            path = window.settings.last_model
            shape = shape_from_file(path)
            dialog = LoadDialog(path, shape, window.hardware, window.settings.load, "", window)
            dialog.show()
            grab(dialog, "load")
            dialog.reject()
        window.show_page(0)
    finally:
        _close(app, window)


def _show_hub(app: Any, window: Any, hub_url: str | None) -> None:
    from PySide6.QtCore import Qt

    page = window.hub_page
    if hub_url is None:  # the page as it is before its first search, without going online
        window.hub_action.setChecked(True)
        window.pages.setCurrentWidget(page)
        settle(app, 0.5)
        return
    window.show_page(2)

    def rows() -> list[str]:
        proxy = page.hits_proxy
        role = Qt.ItemDataRole.UserRole + 21
        return [proxy.index(r, 0).data(role).repo for r in range(proxy.rowCount())]

    wait_until(app, lambda: len(rows()) >= 4, 30, "the Hub's search results")
    from tests.hub_server import QUANTS_REPO

    page.results.selectRow(rows().index(QUANTS_REPO))
    wait_until(
        app,
        lambda: (
            page.files is not None
            and page.files.repo == QUANTS_REPO
            and not page.quants_model.estimating
        ),
        30,
        "the repo's quants",
    )
    wait_until(app, lambda: "SmolLM2 135M" in page.card.toPlainText(), 30, "the model card")


def _shoot_welcome(app: Any, home: Path, theme: str, models: Path, grab: Any) -> None:
    settings = seed_home(home, theme, models, with_models=False)
    window = _open_window(app, settings)
    try:
        wait_until(
            app, lambda: window.pages.currentWidget() is window.welcome, 30, "the welcome page"
        )
        grab(window, "welcome")
    finally:
        _close(app, window)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "packaging" / "screenshots")
    parser.add_argument("--prefix", default="", help="put before each file name (e.g. before-)")
    parser.add_argument("--themes", default="light,dark")
    parser.add_argument("--pages", default=",".join(PAGES), help=f"any of {', '.join(PAGES)}")
    parser.add_argument("--no-hub", action="store_true", help="the Hub page's empty state")
    args = parser.parse_args(argv)
    pages = [p for p in args.pages.split(",") if p]
    unknown = sorted(set(pages) - set(PAGES))
    if unknown:
        parser.error(f"unknown pages: {', '.join(unknown)}")
    models = _models_dir()
    if not (models / SMOLLM).exists() or not (models / GEMMA).exists():
        print(f"screenshots: the test models are not in {models} (run bootstrap.py test)")
        return 2

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    os.environ.pop("HF_TOKEN", None)
    sys.path.insert(0, str(ROOT))

    server = None
    hub_url = None
    if "hub" in pages and not args.no_hub:
        from tests.gguf_factory import small_model_bytes
        from tests.hub_server import QUANTS_REPO, SMOL_REPO, HubServer, add_standard_repos

        server = HubServer().__enter__()
        add_standard_repos(server.state, models / SMOLLM, models / GEMMA, small_model_bytes())
        for repo in (SMOL_REPO, QUANTS_REPO):
            server.state.repos[repo].card = CARD
        hub_url = server.url
        os.environ["HF_ENDPOINT"] = hub_url  # before huggingface_hub is imported
    root = Path(tempfile.mkdtemp(prefix="hearth-shots-"))
    os.environ["HOME"] = str(root / "home")  # the model folder shows as ~/Models
    try:
        for theme in args.themes.split(","):
            shoot(root, theme, pages, args.out, args.prefix, models, hub_url)
    finally:
        if server is not None:
            server.__exit__(None, None, None)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
