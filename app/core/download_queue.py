"""The download queue: models fetched one at a time, kept across restarts, with speed and ETA.

Each entry is one model (a quant group: its parts, and the vision projector when chosen). The
queue is saved to ``downloads.json`` on every state change, so a download that was running when
the app closed comes back paused at the byte reached (its ``.part`` file) and resumes from there
when the user says so: nothing goes on the network by itself at start-up.

The queue is plain Python (no Qt): ``listener(download)`` is called from the download thread
(at most ~5 times a second for progress, at once for a state change); the window relays it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.downloads import DownloadError, FileJob, Meter, partial_bytes

QUEUED, RUNNING, PAUSED, FAILED, DONE, CANCELLED = (
    "queued",
    "running",
    "paused",
    "failed",
    "done",
    "cancelled",
)
ACTIVE = (QUEUED, RUNNING)
KEPT = (QUEUED, RUNNING, PAUSED, FAILED)  # saved across restarts

Fetch = Callable[[FileJob, Callable[[int, int], None], Callable[[], "str | None"]], Path]


@dataclass
class Download:
    repo: str
    quant: str
    jobs: list[FileJob]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = QUEUED
    error: str | None = None
    error_code: str | None = None
    done_bytes: int = 0
    paths: list[Path] = field(default_factory=list)  # the verified files, when done
    current: int = 0  # the file being fetched (an index into jobs)
    meter: Meter = field(default_factory=Meter)
    _stop: str | None = None

    @property
    def speed(self) -> float:
        """Bytes per second over the last few seconds (0 unless running)."""
        return self.meter.speed if self.state == RUNNING else 0.0

    @property
    def total_bytes(self) -> int:
        return sum(j.size for j in self.jobs)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current speed (None while unknown)."""
        if self.state != RUNNING:
            return None
        return self.meter.eta(self.total_bytes - self.done_bytes)

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def title(self) -> str:
        return f"{self.repo} · {self.quant}"

    def measure(self) -> int:
        """Bytes on disk already (complete files and partial ones)."""
        total = 0
        for j in self.jobs:
            total += j.size if j.dest.exists() else partial_bytes(j)
        self.done_bytes = total
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "repo": self.repo,
            "quant": self.quant,
            "state": self.state,
            "error": self.error,
            "error_code": self.error_code,
            "jobs": [j.to_dict() for j in self.jobs],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Download:
        dl = cls(
            d["repo"],
            d["quant"],
            [FileJob.from_dict(j) for j in d["jobs"]],
            d["id"],
            d.get("state", PAUSED),
            d.get("error"),
            d.get("error_code"),
        )
        if dl.state in ACTIVE:  # the app closed while it ran or waited
            dl.state = PAUSED
            dl.error = "paused when Hearth closed"
        dl.measure()
        return dl


def _delete_partials(dl: Download) -> None:
    for j in dl.jobs:
        j.part.unlink(missing_ok=True)
        j.meta.unlink(missing_ok=True)


class DownloadQueue:
    def __init__(
        self,
        state_file: Path,
        fetch: Fetch,
        listener: Callable[[Download], None] = lambda d: None,
        on_complete: Callable[[Download], None] = lambda d: None,
    ) -> None:
        self.state_file = state_file
        self.fetch = fetch
        self.listener = listener
        self.on_complete = on_complete
        self.items: list[Download] = []
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._load()

    # -- persistence ----------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            self.items = [Download.from_dict(d) for d in data.get("downloads", [])]
        except FileNotFoundError:
            self.items = []
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged queue file loses the list, never the partial files: adding the same
            # model again resumes from them.
            self.items = []

    def save(self) -> None:
        with self._lock:
            data = {"version": 1, "downloads": [d.to_dict() for d in self.items if d.state in KEPT]}
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        try:
            tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            tmp.replace(self.state_file)
        except OSError:
            pass  # a full disk: the .part files still let the user resume by adding it again

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
                _delete_partials(dl)
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

        def progress(done: int, _total: int) -> None:
            nonlocal last_report
            now = time.monotonic()
            dl.done_bytes = base + done
            dl.meter.add(dl.done_bytes, now)
            if now - last_report >= 0.2:
                last_report = now
                self.listener(dl)

        try:
            for i, job in enumerate(dl.jobs):
                dl.current = i
                base = sum(j.size for j in dl.jobs[:i])
                dl.paths.append(self.fetch(job, progress, lambda: dl._stop))
        except DownloadError as exc:
            with self._lock:
                if exc.code == "cancelled":
                    _delete_partials(dl)  # the other parts' partial files go too
                    dl.state, dl.error = CANCELLED, None
                elif exc.code == "paused":
                    dl.state, dl.error = PAUSED, None
                else:
                    dl.state, dl.error, dl.error_code = FAILED, str(exc), exc.code
                dl.paths.clear()
                dl.measure()
                self._changed(dl)
            return
        except Exception as exc:  # an unexpected failure stops this download, not the queue
            with self._lock:
                dl.state, dl.error, dl.error_code = FAILED, f"{type(exc).__name__}: {exc}", "error"
                dl.paths.clear()
                self._changed(dl)
            return
        with self._lock:
            dl.state, dl.done_bytes = DONE, dl.total_bytes
            self._changed(dl)
        self.on_complete(dl)
