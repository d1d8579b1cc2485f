"""Runs ``hearth ARGS...`` (app.__main__.main) in this process and reports what the window does.

Used by the ``hearth FILE.gguf`` test: once the window has loaded a model and stayed idle for half
a second, it reports the page and chat shown, sends one message, and when the reply has ended prints one JSON line and closes the
window (so ``main`` returns). HEARTH_HOME and settings come from the environment the test prepares.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.__main__ import main as hearth_main
from app.ui.main_window import MainWindow


def main() -> int:
    app = QApplication(sys.argv[:1])  # hearth's run_app takes this one
    report: dict[str, Any] = {}
    idle_ticks = [0]

    def window() -> MainWindow | None:
        return next((w for w in app.topLevelWidgets() if isinstance(w, MainWindow)), None)

    def tick() -> None:
        w = window()
        if w is None or w.bridge.loaded_info is None or w.bridge.busy:
            idle_ticks[0] = 0
            return
        idle_ticks[0] += 1
        ctl = w.controller
        if "sent" not in report and idle_ticks[0] >= 10:  # settled for half a second
            report.update(
                page="chat" if w.pages.currentWidget() is w.chat_page else "other",
                picker=w.picker.current(),
                loaded=w.bridge.loaded_info["path"],
                messages_before=len(ctl.session.messages),
                sent=True,
            )
            w.composer.set_text("Hello")
            w.composer._on_submit()
        elif "sent" in report and ctl.active is None and ctl.session.messages:
            last = ctl.session.messages[-1]
            report.update(
                reply_state=last.state,
                reply_model=last.model,
                reply_chars=len(last.content),
                conversation_model=ctl.conv.model_path if ctl.conv else None,
                conversations=w.sidebar.model.rowCount(),
            )
            print(json.dumps(report), flush=True)
            timer.stop()
            w.close()

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(50)
    return hearth_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
