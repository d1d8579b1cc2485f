"""Downloading one file from the Hub: resumable, verified, and never half-there.

The file is written to ``<name>.part`` next to where it belongs, with a ``.part.json`` that says
what it is, so a later run (or a restarted app) resumes from the byte reached with an HTTP Range
request. SHA-256 is computed while the bytes arrive (a resumed file's first part is read once);
only a complete file whose hash matches the Hub's LFS hash is renamed into place. A dropped
connection is retried with back-off from where it stopped; a stop request is honoured within
about half a second, even when the server has gone silent (reads time out after 0.5 s).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app import __version__
from app.core.gguf_header import human_bytes

CHUNK = 1 << 20
MARGIN = 64 << 20  # kept free on the disk besides the file
BACKOFF = (1, 2, 4, 8, 15, 30, 30, 30)


class DownloadError(Exception):
    """Why a download did not finish. ``code``: gated, not_found, hash_mismatch, disk_full,
    network, http, paused, cancelled."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class FileJob:
    repo: str
    filename: str  # path in the repo
    size: int
    sha256: str | None
    dest: Path
    revision: str = "main"
    url: str = ""

    @property
    def part(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part")

    @property
    def meta(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part.json")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dest"] = str(self.dest)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileJob:
        return cls(
            d["repo"],
            d["filename"],
            int(d["size"]),
            d.get("sha256"),
            Path(d["dest"]),
            d.get("revision", "main"),
            d.get("url", ""),
        )


Progress = Callable[[int, int], None]
Stop = Callable[[], "str | None"]  # returns "pause" or "cancel" to stop


def partial_bytes(job: FileJob) -> int:
    try:
        return job.part.stat().st_size
    except OSError:
        return 0


def _sleep(seconds: float, stop: Stop) -> str | None:
    """Wait, looking at the stop flag ten times a second."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        why = stop()
        if why:
            return why
        time.sleep(min(0.1, left))
    return None


def _raise_stop(why: str, job: FileJob) -> None:
    if why == "cancel":
        job.part.unlink(missing_ok=True)
        job.meta.unlink(missing_ok=True)
        raise DownloadError("cancelled", f"the download of {job.filename} was cancelled")
    raise DownloadError(
        "paused", f"the download of {job.filename} is paused at {human_bytes(partial_bytes(job))}"
    )


def _disk_full(job: FileJob) -> DownloadError:
    return DownloadError(
        "disk_full",
        f"the disk holding {job.dest.parent} is full; {human_bytes(partial_bytes(job))} of {job.filename} "
        "are kept and the download resumes when there is room",
    )


def _check_status(status: int, job: FileJob, done: int) -> None:
    import httpx2 as httpx

    if status in (401, 403):
        raise DownloadError(
            "gated",
            f"{job.repo} needs permission: accept its terms on the Hub, then add a Hugging Face "
            f"token (Hub page > Hub settings, or `hearth token set`); the server said {status}",
        )
    if status == 404:
        raise DownloadError("not_found", f"{job.filename} is not in {job.repo} (any more)")
    if status == 416 and done:
        return
    if status >= 500:
        raise httpx.HTTPError(f"the server answered {status}")
    if status not in (200, 206):
        raise DownloadError("http", f"the Hub answered {status} for {job.filename}")


def download_file(
    job: FileJob,
    session: Any,
    headers: dict[str, str] | None = None,
    progress: Progress | None = None,
    stop: Stop = lambda: None,
    free_space: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free,
    read_timeout: float = 0.5,
    stall_limit: float = 60.0,
    backoff: tuple[float, ...] = BACKOFF,
) -> Path:
    """Fetch ``job`` with ``session`` (an httpx-style client); returns the verified file."""
    import httpx2 as httpx

    if job.dest.exists() and job.dest.stat().st_size == job.size:
        return job.dest
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    job.meta.write_text(json.dumps(job.to_dict()), encoding="utf-8")
    done = partial_bytes(job)
    if done > job.size:
        job.part.unlink()
        done = 0
    hasher = hashlib.sha256()
    if done:
        with job.part.open("rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                hasher.update(chunk)
    if free_space(job.dest.parent) < job.size - done + MARGIN:
        raise DownloadError(
            "disk_full",
            f"not enough disk space for {job.filename}: it needs {human_bytes(job.size - done)} more, "
            f"{human_bytes(free_space(job.dest.parent))} are free in {job.dest.parent}",
        )
    base_headers = {"user-agent": f"hearth/{__version__}", **(headers or {})}
    failures = 0  # connection errors in a row
    stalls = 0  # reads that timed out in a row
    last_data = time.monotonic()
    last_report = 0.0
    timeout = httpx.Timeout(connect=10.0, read=read_timeout, write=10.0, pool=10.0)
    why: str | None = None
    while done < job.size:
        why = stop()
        if why:
            _raise_stop(why, job)
        req_headers = dict(base_headers)
        if done:
            req_headers["range"] = f"bytes={done}-"
        try:
            with session.stream(
                "GET", job.url, headers=req_headers, follow_redirects=True, timeout=timeout
            ) as r:
                _check_status(r.status_code, job, done)
                if r.status_code == 416:
                    job.part.unlink(missing_ok=True)  # the partial file does not match the file
                    done, hasher = 0, hashlib.sha256()
                    continue
                if done and r.status_code == 200:
                    done, hasher = 0, hashlib.sha256()  # the server ignored the range: start over
                    mode = "wb"
                else:
                    mode = "ab"
                with job.part.open(mode) as out:
                    since_check = 0
                    # Pieces as they arrive (not 1 MB chunks) so a stop is seen at once on a
                    # slow link too.
                    for piece in r.iter_bytes():
                        try:
                            out.write(piece)
                        except OSError as exc:
                            if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                                raise _disk_full(job) from None
                            raise
                        hasher.update(piece)
                        done += len(piece)
                        since_check += len(piece)
                        last_data = time.monotonic()
                        failures = stalls = 0
                        if progress and (last_data - last_report >= 0.05 or done >= job.size):
                            last_report = last_data
                            progress(done, job.size)
                        if since_check >= 64 * CHUNK:
                            since_check = 0
                            out.flush()
                            if free_space(job.dest.parent) < min(MARGIN, job.size - done):
                                raise _disk_full(job)
                        why = stop()
                        if why or done > job.size:
                            break
            if why:
                _raise_stop(why, job)
        except DownloadError:
            raise
        except httpx.TimeoutException:
            # Nothing arrived for a moment: the stop flag was looked at; ask again from here,
            # waiting longer each time the server stays silent.
            stalls += 1
            if progress:
                progress(done, job.size)  # what arrived just before the silence
            if time.monotonic() - last_data > stall_limit:
                raise DownloadError(
                    "network",
                    f"the Hub stopped sending {job.filename}; {human_bytes(done)} are kept and "
                    "the download resumes from there",
                ) from None
            why = _sleep(min(0.5 * (stalls - 1), 5.0), stop)
            if why:
                _raise_stop(why, job)
        except (httpx.HTTPError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise _disk_full(job) from None
            failures += 1
            if failures > len(backoff):
                raise DownloadError(
                    "network",
                    f"the connection kept failing ({exc}); {human_bytes(done)} of {job.filename} are kept "
                    "and the download resumes from there",
                ) from None
            why = _sleep(backoff[failures - 1], stop)
            if why:
                _raise_stop(why, job)
    if done != job.size:
        job.part.unlink(missing_ok=True)
        raise DownloadError(
            "hash_mismatch", f"{job.filename} came out {done:,} bytes long instead of {job.size:,}"
        )
    digest = hasher.hexdigest()
    if job.sha256 and digest != job.sha256.lower():
        job.part.unlink(missing_ok=True)
        job.meta.unlink(missing_ok=True)
        raise DownloadError(
            "hash_mismatch",
            f"{job.filename} does not match the Hub's checksum (SHA-256 {digest[:12]}…, expected "
            f"{job.sha256[:12]}…): the download was damaged and has been deleted",
        )
    os.replace(job.part, job.dest)
    job.meta.unlink(missing_ok=True)
    return job.dest


def format_eta(seconds: float | None) -> str:
    """``1:05`` or ``2:03:10``; an em dash while unknown."""
    if seconds is None or seconds != seconds or seconds > 360000:
        return "—"
    s = int(seconds + 0.5)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Meter:
    """Speed over the last few seconds of progress reports, and the ETA it gives."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self.samples: list[tuple[float, int]] = []
        self.speed = 0.0

    def add(self, done: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.pop(0)
        t0, b0 = self.samples[0]
        if now - t0 > 0.2:
            self.speed = max(0.0, (done - b0) / (now - t0))
        return self.speed

    def reset(self) -> None:
        self.samples.clear()
        self.speed = 0.0

    def eta(self, remaining: int) -> float | None:
        return remaining / self.speed if self.speed > 0 else None
