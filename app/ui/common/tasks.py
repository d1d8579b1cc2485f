"""Blocking work off the GUI thread, with results delivered back on it.

``run_task(fn, on_done, on_error)`` runs ``fn`` on Qt's thread pool. ``DbQueue`` runs every
chat-store call on one dedicated thread (SQLite connections belong to one thread), in order, so a
write queued before a read is always seen by it.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from app.core.chat.store import ChatStore, StoreError

Callback = Callable[[Any], None] | None
ErrorCallback = Callable[[BaseException], None] | None


class _Relay(QObject):
    """Lives on the GUI thread; signals emitted from other threads are queued to it."""

    deliver = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.deliver.connect(self._on_deliver)

    @Slot(object, object)
    def _on_deliver(self, callback: Callable[[Any], None], value: Any) -> None:
        if _gone(callback):
            return  # its window closed while the work ran: nobody is left to show it
        callback(value)


def _gone(callback: Callable[[Any], None]) -> bool:
    """Whether a Qt object the callback belongs to or uses (a bound method's object, or one a
    closure holds, such as the widget a result is shown in) has been deleted."""
    held = [getattr(callback, "__self__", None)]
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            held.append(cell.cell_contents)
        except ValueError:  # a name the closure has not been given yet
            continue
    return any(isinstance(o, QObject) and not shiboken6.isValid(o) for o in held)


_relay: _Relay | None = None


def relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
    return _relay


def call_in_gui(callback: Callable[[Any], None], value: Any = None) -> None:
    """Run ``callback(value)`` on the GUI thread (from any thread)."""
    try:
        relay().deliver.emit(callback, value)
    except RuntimeError:
        pass  # the application is shutting down: there is no GUI thread left to deliver to


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], on_done: Callback, on_error: ErrorCallback) -> None:
        super().__init__()
        self.fn, self.on_done, self.on_error = fn, on_done, on_error

    def run(self) -> None:
        try:
            result = self.fn()
        except BaseException as exc:
            if self.on_error:
                call_in_gui(self.on_error, exc)
            else:
                from app.ui.common.messages import report_exception

                call_in_gui(report_exception, exc)
            return
        if self.on_done:
            call_in_gui(self.on_done, result)


def run_task(
    fn: Callable[[], Any], on_done: Callback = None, on_error: ErrorCallback = None
) -> None:
    relay()  # created on the GUI thread before any worker needs it
    QThreadPool.globalInstance().start(_Task(fn, on_done, on_error))


class DbQueue:
    """One thread that owns the ChatStore; ``submit(fn(store), on_done, on_error)``."""

    def __init__(self, store_factory: Callable[[], ChatStore]) -> None:
        relay()
        self._jobs: queue.Queue[
            tuple[Callable[[ChatStore], Any], Callback, ErrorCallback] | None
        ] = queue.Queue()
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._factory = store_factory
        self._thread = threading.Thread(target=self._run, name="chat-store", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise self._open_error

    def _run(self) -> None:
        try:
            store = self._factory()
        except BaseException as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            job = self._jobs.get()
            if job is None:
                break
            fn, on_done, on_error = job
            try:
                result = fn(store)
            except BaseException as exc:
                if on_error is not None:
                    call_in_gui(on_error, exc)
                else:
                    from app.ui.common.messages import report_exception

                    call_in_gui(
                        report_exception,
                        exc
                        if isinstance(exc, StoreError)
                        else RuntimeError(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"),
                    )
                continue
            if on_done is not None:
                call_in_gui(on_done, result)
        store.close()

    def submit(
        self,
        fn: Callable[[ChatStore], Any],
        on_done: Callback = None,
        on_error: ErrorCallback = None,
    ) -> None:
        self._jobs.put((fn, on_done, on_error))

    def close(self, timeout: float = 5.0) -> None:
        """Finish queued writes, then close the database."""
        self._jobs.put(None)
        self._thread.join(timeout)
