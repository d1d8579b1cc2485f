"""A real Hearth window (offscreen) with a real engine worker and the starter model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.core import paths
from app.core.chat.store import ChatStore
from app.core.settings import Settings, save_settings


@pytest.fixture
def make_settings(starter_installed: Path) -> Callable[..., Settings]:
    def make(**sampling: Any) -> Settings:
        s = Settings(known_folders_offered=True)
        s.load = s.load.merged({"n_ctx": 2048})
        s.sampling = s.sampling.merged({"temperature": 0.0, "max_tokens": 48, **sampling})
        s.remember_model(str(starter_installed))
        save_settings(s)
        return s

    return make


class Driver:
    """Drives a MainWindow the way a user does and waits for what a user would see."""

    def __init__(self, qtbot: Any, window: Any) -> None:
        self.qtbot = qtbot
        self.w = window

    @property
    def controller(self) -> Any:
        return self.w.controller

    def wait_loaded(self, path: Path | None = None, timeout: int = 60_000) -> None:
        """Until a model (``path``, when given) is loaded."""

        def loaded() -> bool:
            key = self.w.bridge.loaded_key
            return self.w.bridge.loaded_info is not None and (
                path is None or (key is not None and key[0] == str(path))
            )

        self.qtbot.waitUntil(loaded, timeout=timeout)

    def send(self, text: str) -> None:
        self.w.composer.set_text(text)
        self.qtbot.keyClick(self.w.composer.input, Qt.Key.Key_Return)

    def wait_reply(self, timeout: int = 90_000) -> Any:
        self.qtbot.waitUntil(
            lambda: (
                self.controller.active is None
                and bool(self.w.view.widgets)
                and self.w.view.widgets[-1].message.role == "assistant"
                and self.w.view.widgets[-1].message.state != "streaming"
            ),
            timeout=timeout,
        )
        return self.w.view.widgets[-1]

    def wait_tokens(self, n_chars: int = 20, timeout: int = 60_000) -> None:
        self.qtbot.waitUntil(
            lambda: (
                self.controller.active is not None
                and len(self.controller.active.recorder.text) >= n_chars
            ),
            timeout=timeout,
        )

    def wait_saved(self, timeout: int = 10_000) -> None:
        """Let the store's thread finish what was queued."""
        done: list[bool] = []
        self.w.db.submit(lambda s: None, lambda _r: done.append(True))
        self.qtbot.waitUntil(lambda: bool(done), timeout=timeout)


@pytest.fixture
def open_window(qtbot: Any) -> Iterator[Callable[[Settings], Driver]]:
    from app.ui.app import build_window

    windows: list[Any] = []

    def open_(settings: Settings) -> Driver:
        app = QApplication.instance()
        window = build_window(settings, app)
        qtbot.addWidget(window)
        window.show()
        window.start()
        windows.append(window)
        return Driver(qtbot, window)

    yield open_
    for w in windows:
        w.close()


@pytest.fixture
def open_with_template(
    open_window: Any, make_settings: Any, smollm_path: Path, tmp_path: Path
) -> Callable[..., Driver]:
    """A window on a copy of SmolLM2 whose chat template is ``template``, loaded."""
    from tests import gguf_factory as F

    def open_(template: str, name: str, **sampling: Any) -> Driver:
        model = F.with_chat_template(smollm_path, tmp_path / name, template)
        settings = make_settings(**sampling)
        settings.remember_model(str(model))
        d = open_window(settings)
        d.wait_loaded(model)
        return d

    return open_


def press_in_box(qtbot: Any, act: Any, button: str | QMessageBox.StandardButton) -> dict[str, Any]:
    """Do ``act``, press ``button`` (its text or standard button) in the message box it opens,
    and return what the box said: its text, informative text and buttons' texts."""
    said: list[dict[str, Any]] = []

    def press() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):  # not active (offscreen): any message box shown
            box = next(
                (
                    w
                    for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.isVisible()
                ),
                None,
            )
        if box is None:
            return
        timer.stop()
        buttons = box.buttons()
        said.append(
            {
                "text": box.text(),
                "informative": box.informativeText(),
                "buttons": sorted(b.text().replace("&", "") for b in buttons),
            }
        )
        if isinstance(button, str):
            target = next(b for b in buttons if b.text().replace("&", "") == button)
        else:
            target = box.button(button)
        target.click()

    timer = QTimer()
    timer.timeout.connect(press)
    timer.start(20)
    act()
    qtbot.waitUntil(lambda: bool(said), timeout=5_000)
    return said[0]


def stored_messages() -> list[Any]:
    """What the chat database holds, read with a separate connection."""
    store = ChatStore(paths.chats_db_path())
    try:
        out = []
        for conv in store.conversations():
            out.extend(store.messages(conv.id))
        return out
    finally:
        store.close()
