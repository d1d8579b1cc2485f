"""Opens the real window in this process, sends one message, and prints the reply's growth.

Used by the kill -9 durability test: each line is "<unix time> <characters of the reply so far>".
Settings (model, sampling) and HEARTH_HOME come from the environment the test prepares.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.core.settings import load_settings
from app.ui.app import build_window


def main() -> int:
    app = QApplication(sys.argv[:1])
    settings, _ = load_settings()
    window = build_window(settings, app)
    window.show()
    window.start()
    sent: list[bool] = []

    def tick() -> None:
        active = window.controller.active
        if not sent and window.bridge.loaded_info is not None:
            sent.append(True)
            window.composer.set_text(sys.argv[1] if len(sys.argv) > 1 else "Tell me a long story.")
            window.composer._on_submit()
        if active is not None:
            print(f"{time.time():.3f} {len(active.recorder.text)}", flush=True)

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(100)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
