"""One channel for messages to the user: info, warning, error.

Anything may post (from any thread); the main window shows them. Messages posted before the
window exists are held and shown once it connects. Unexpected exceptions, from the GUI thread or
any other, are written to a crash log and reported here instead of killing the app.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from dataclasses import dataclass
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from app.core import paths


@dataclass
class UserMessage:
    level: str  # "info", "warning", "error"
    text: str
    details: str = ""


class MessageHub(QObject):
    posted = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._held: list[UserMessage] = []
        self._listening = False

    def post(self, msg: UserMessage) -> None:
        if self._listening:
            self.posted.emit(msg)
        else:
            self._held.append(msg)

    def listen(self, slot: object) -> None:
        """Connect ``slot`` and deliver the held messages to it."""
        self.posted.connect(slot)
        self._listening = True
        held, self._held = self._held, []
        for msg in held:
            self.posted.emit(msg)


_hub: MessageHub | None = None


def hub() -> MessageHub:
    global _hub
    if _hub is None:
        _hub = MessageHub()
    return _hub


def info(text: str) -> None:
    hub().post(UserMessage("info", text))


def warning(text: str, details: str = "") -> None:
    hub().post(UserMessage("warning", text, details))


def error(text: str, details: str = "") -> None:
    hub().post(UserMessage("error", text, details))


def write_crash_log(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    try:
        path = paths.log_dir() / f"crash-{time.strftime('%Y%m%d-%H%M%S')}.log"
        paths.write_private(path, text)  # a traceback can quote the user's text
        return str(path)
    except OSError:
        return ""


def report_exception(exc: BaseException) -> None:
    """Tell the user about an unexpected error and keep a log of it."""
    log = write_crash_log(type(exc), exc, exc.__traceback__)
    where = f" A report was saved to {log}." if log else ""
    error(f"Something went wrong: {exc}.{where}", "".join(traceback.format_exception(exc)))


def install_excepthooks() -> None:
    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if sys.__stderr__ is not None:
            sys.__stderr__.write("".join(traceback.format_exception(exc_type, exc, tb)))
        log = write_crash_log(exc_type, exc, tb)
        where = f" A report was saved to {log}." if log else ""
        error(
            f"Something went wrong: {exc}.{where}",
            "".join(traceback.format_exception(exc_type, exc, tb)),
        )

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            hook(args.exc_type, args.exc_value, args.exc_traceback)

    sys.excepthook = hook
    threading.excepthook = thread_hook
