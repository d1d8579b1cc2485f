"""The download queue: models fetched one at a time, kept across restarts, with speed and ETA.

Each entry is one model (a ``Download``: a quant group's parts, and the vision projector when
chosen). The queue is saved to ``downloads.json`` on every state change, so a download that was
running when the app closed comes back paused at the byte reached (its ``.part`` file) and
resumes from there when the user says so: nothing goes on the network by itself at start-up. A
damaged queue file costs nothing but a ``warning`` (``download_state.load_queue``): the window
shows it, the CLI prints it.

The queue is plain Python (no Qt): ``listener(download)`` is called from the download thread
(at most ~5 times a second for progress, and at the end of each file; at once for a state
change); the window relays it, ``hearth download`` draws its progress bar from it. Files come
from the Hub client ``hub()`` returns when each starts (``Hub.fetch``): the current one, so a
token, mirror or proxy set since the download was queued applies.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from app.core.errors import CodedError
from app.core.hub.client import Hub
from app.core.hub.partial import DownloadError, FileJob
from app.core.hub.queue_state import (
    ACTIVE,
    CANCELLED,
    DONE,
    FAILED,
    KEPT,
    PAUSED,
    QUEUED,
    RUNNING,
    STATES,
    Download,
    delete_partials,
    load_queue,
    rediscover,
    write_queue,
)

__all__ = [
    "ACTIVE",
    "CANCELLED",
    "DONE",
    "FAILED",
    "KEPT",
    "PAUSED",
    "QUEUED",
    "RUNNING",
    "STATES",
    "Download",
    "DownloadQueue",
    "load_queue",
    "rediscover",
]

log = logging.getLogger(__name__)


class DownloadQueue:
    """``state_file``: where the queue is kept across restarts (None: nowhere, as for one
    ``hearth download``, whose partial files let the same command resume)."""

    def __init__(
        self,
        state_file: Path | None,
        hub: Callable[[], Hub],
        listener: Callable[[Download], None] = lambda d: None,
        on_complete: Callable[[Download], None] = lambda d: None,
        models_dir: Path | None = None,
    ) -> None:
        self.state_file = state_file
        self.models_dir = models_dir  # where partial downloads are looked for if the file is lost
        self.hub = hub
        self.listener = listener
        self.on_complete = on_complete
        self.items: list[Download] = []
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closing = False
        # What went wrong reading the queue file, for the user (None when it was sound).
        self.warning: str | None = None
        if state_file is not None:
            self.items, self.warning = load_queue(state_file, models_dir)

    # -- persistence ----------------------------------------------------------------------------

    def save(self) -> None:
        if self.state_file is None:
            return
        with self._lock:
            items = list(self.items)
            write_queue(self.state_file, items)

    # -- what the user does ---------------------------------------------------------------------

    def add(self, repo: str, quant: str, jobs: list[FileJob]) -> Download:
        """Queue a model (or resume the queued/paused one with the same files)."""
        with self._lock:
            dests = {j.dest for j in jobs}
            for d in self.items:
                if d.state in KEPT and {j.dest for j in d.jobs} == dests:
                    self._resume(d)
                    return d
            dl = Download(repo, quant, jobs)
            dl.measure()
            self.items.append(dl)
            self._changed(dl)
            self._start()
            return dl

    def pause(self, dl_id: str) -> None:
        with self._lock:
            dl = self.get(dl_id)
            if dl is None:
                return
            if dl.state == RUNNING:
                dl._stop = "pause"  # the download thread sees it within a second
            elif dl.state == QUEUED:
                dl.state, dl.error = PAUSED, None
                self._changed(dl)

    def resume(self, dl_id: str) -> None:
        with self._lock:
            dl = self.get(dl_id)
            if dl is not None:
                self._resume(dl)

    def resume_all(self) -> None:
        with self._lock:
            for d in self.items:
                if d.state in (PAUSED, FAILED):
                    self._resume(d)

    def _resume(self, dl: Download) -> None:
        if dl.state in (PAUSED, FAILED):
            dl.state, dl.error, dl.error_code = QUEUED, None, None
            dl.meter.reset()
            self._changed(dl)
        self._start()

    def cancel(self, dl_id: str) -> None:
        """Stop and delete the partial files (verified complete parts stay, as library files)."""
        with self._lock:
            dl = self.get(dl_id)
            if dl is None:
                return
            if dl.state == RUNNING:
                dl._stop = "cancel"
                return
            if dl.state in KEPT:
                delete_partials(dl)
                dl.state, dl.error = CANCELLED, None
                self._changed(dl)

    def clear_finished(self) -> None:
        with self._lock:
            self.items = [d for d in self.items if d.state not in (DONE, CANCELLED)]
        self.save()

    def get(self, dl_id: str) -> Download | None:
        return next((d for d in self.items if d.id == dl_id), None)

    def pending(self) -> list[Download]:
        """Downloads the user can resume (paused or failed)."""
        return [d for d in self.items if d.state in (PAUSED, FAILED)]

    def totals(self) -> tuple[int, int, float]:
        """Overall (bytes done, bytes total, bytes per second) of the unfinished downloads."""
        with self._lock:
            live = [d for d in self.items if d.state in KEPT]
            return (
                sum(d.done_bytes for d in live),
                sum(d.total_bytes for d in live),
                sum(d.speed for d in live if d.state == RUNNING),
            )

    def close(self, timeout: float = 3.0) -> None:
        """Pause what runs (kept for next time) and stop the thread."""
        with self._lock:
            self._closing = True
            for d in self.items:
                if d.state == RUNNING:
                    d._stop = "pause"
            self._wake.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            for d in self.items:
                if d.state in ACTIVE:
                    d.state = PAUSED
        self.save()

    # -- the download thread --------------------------------------------------------------------

    def _changed(self, dl: Download) -> None:
        self.save()
        self.listener(dl)

    def _start(self) -> None:
        if self._closing:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="downloads", daemon=True)
            self._thread.start()
        else:
            self._wake.notify_all()

    def _next(self) -> Download | None:
        with self._lock:
            if self._closing:
                return None
            dl = next((d for d in self.items if d.state == QUEUED), None)
            if dl is not None:
                dl.state, dl._stop = RUNNING, None
                self._changed(dl)
            return dl

    def _run(self) -> None:
        while (dl := self._next()) is not None:
            self._download(dl)

    def _download(self, dl: Download) -> None:
        last_report = 0.0
        base = 0

        def progress(done: int, total: int) -> None:
            nonlocal last_report
            now = time.monotonic()
            dl.done_bytes = base + done
            dl.meter.add(dl.done_bytes, now)
            if now - last_report >= 0.2 or done >= total:
                last_report = now
                self.listener(dl)

        try:
            for i, job in enumerate(dl.jobs):
                dl.current = i
                base = sum(j.size for j in dl.jobs[:i])
                dl.paths.append(self.hub().fetch(job, progress, lambda: dl._stop))
        except DownloadError as exc:
            with self._lock:
                if exc.code == "cancelled":
                    delete_partials(dl)  # the other parts' partial files go too
                    dl.state, dl.error = CANCELLED, None
                elif exc.code == "paused":
                    dl.state, dl.error = PAUSED, None
                else:
                    dl.state, dl.error, dl.error_code = FAILED, str(exc), exc.code
                dl.paths.clear()
                dl.measure()
                self._log_stopped(dl, exc)
                self._changed(dl)
            return
        except Exception as exc:  # an unexpected failure stops this download, not the queue
            log.exception("download of %s stopped by an unexpected error", dl.title)
            with self._lock:
                dl.state, dl.error_code = FAILED, getattr(exc, "code", "error")
                dl.error = (
                    str(exc)
                    if isinstance(exc, CodedError)  # a sentence already (the Hub unreachable)
                    else "The download stopped on an unexpected problem. Try again; if it "
                    "happens again, hearth.log in Hearth's log folder has the details."
                )
                dl.paths.clear()
                self._changed(dl)
            return
        with self._lock:
            dl.state, dl.done_bytes = DONE, dl.total_bytes
            log.info("downloaded %s (%d file(s), %d bytes)", dl.title, len(dl.jobs), dl.total_bytes)
            self._changed(dl)
        self.on_complete(dl)

    @staticmethod
    def _log_stopped(dl: Download, exc: DownloadError) -> None:
        if exc.code in ("paused", "cancelled"):
            log.info(
                "download of %s %s at %d of %d bytes",
                dl.title,
                exc.code,
                dl.done_bytes,
                dl.total_bytes,
            )
        else:
            log.warning("download of %s failed (%s): %s", dl.title, exc.code, exc)
