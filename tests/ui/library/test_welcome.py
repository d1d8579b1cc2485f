"""The welcome screen of a fresh install: no model yet, three ways to get one (and a file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog

from app.core import paths
from app.core.settings import Settings, save_settings

pytestmark = [pytest.mark.gui]


def fresh_settings() -> Settings:
    s = Settings(known_folders_offered=True)
    s.load = s.load.merged({"n_ctx": 2048})
    save_settings(s)
    return s


def test_a_fresh_install_offers_the_bundled_starter(
    open_window: Any, smollm_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARTH_STARTER_MODEL", str(smollm_path))  # where a bundle carries it
    d = open_window(fresh_settings())
    w = d.w
    d.qtbot.waitUntil(lambda: w.pages.currentWidget() is w.welcome, timeout=10_000)
    card = w.welcome.starter
    assert card.isVisible() and "98.4 MB" in card.detail.text()
    d.qtbot.mouseClick(card, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    d.wait_loaded()
    assert w.pages.currentWidget() is w.chat_page
    assert w.bridge.loaded_info["path"] == str(smollm_path)
    # It joined the library where it is: nothing copied into the model folder.
    d.qtbot.waitUntil(
        lambda: [e.path for e in w.library_page.model.entries] == [str(smollm_path)],
        timeout=10_000,
    )
    assert not any(paths.default_models_dir().rglob("*.gguf"))
    d.send("Hello")
    assert d.wait_reply().message.state == "done"


def test_without_a_bundled_model_the_hub_and_folders_are_offered(
    open_window: Any, hub_server: Any
) -> None:
    d = open_window(fresh_settings())
    w = d.w
    d.qtbot.waitUntil(lambda: w.pages.currentWidget() is w.welcome, timeout=10_000)
    assert not w.welcome.starter.isVisible()
    assert w.welcome.hub.isVisible() and w.welcome.folder.isVisible()
    w.show_page(0)  # Chats: still the welcome, as there is nothing to chat with
    assert w.pages.currentWidget() is w.welcome
    w.welcome.hub.clicked.emit()
    assert w.pages.currentWidget() is w.hub_page
    d.qtbot.waitUntil(lambda: w.hub_page.hits_model.rowCount() == 4, timeout=15_000)


def test_the_add_a_folder_card_adds_and_scans_the_folder(
    open_window: Any, smollm_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "LM Studio models"
    (folder / "pub" / "repo").mkdir(parents=True)
    model = folder / "pub" / "repo" / smollm_path.name
    os.link(smollm_path, model)
    asked: list[str] = []

    def choose_folder(_parent: Any, caption: str, _start: str, *_a: Any) -> str:
        asked.append(caption)
        return str(folder)

    # The user picks the folder in the system's dialog; everything after it is the app's own.
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose_folder))
    d = open_window(fresh_settings())
    w = d.w
    d.qtbot.waitUntil(lambda: w.pages.currentWidget() is w.welcome, timeout=10_000)
    # The start-up scans are over (the first one looks again once its folders are watched), so
    # what lists the model is the scan that adding the folder starts.
    ctl = w.library_ctl
    d.qtbot.waitUntil(
        lambda: ctl.scans >= 1 and not ctl._scanning and not ctl._debounce.isActive(),
        timeout=10_000,
    )
    d.qtbot.mouseClick(w.welcome.folder, Qt.MouseButton.LeftButton, pos=QPoint(20, 20))
    assert asked == ["Add a folder of models"]
    d.qtbot.waitUntil(
        lambda: [e.path for e in w.library_page.model.entries] == [str(model)], timeout=15_000
    )
    assert folder in w.library.folders()
    # With a model to chat with, the welcome gives way to a chat with it.
    chats_with(d, model)


def chats_with(d: Any, model: Path) -> None:
    """The window shows a chat with ``model`` loaded, and a message gets its reply."""
    w = d.w
    d.wait_loaded(model)
    assert w.pages.currentWidget() is w.chat_page
    assert w.picker.current() == str(model)
    d.send("Hello")
    reply = d.wait_reply()
    assert reply.message.state == "done" and reply.message.model == str(model)


def test_the_open_a_file_choice_opens_a_chat_with_it(
    open_window: Any, smollm_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "Downloads" / smollm_path.name
    model.parent.mkdir()
    os.link(smollm_path, model)
    monkeypatch.setattr(
        QFileDialog,
        "getOpenFileName",
        staticmethod(lambda *_a, **_k: (str(model), "GGUF models (*.gguf)")),
    )
    d = open_window(fresh_settings())
    w = d.w
    d.qtbot.waitUntil(lambda: w.pages.currentWidget() is w.welcome, timeout=10_000)
    d.qtbot.mouseClick(w.welcome.open_file, Qt.MouseButton.LeftButton)
    chats_with(d, model)
    # It joined the library where it is: nothing copied into the model folder.
    d.qtbot.waitUntil(
        lambda: [e.path for e in w.library_page.model.entries] == [str(model)], timeout=10_000
    )
    assert not any(paths.default_models_dir().rglob("*.gguf"))
