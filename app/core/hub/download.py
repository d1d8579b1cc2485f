"""Downloading one file from the Hub: resumable, verified, and never half-there.

The file is written to ``<name>.part`` next to where it belongs (``partial``), so a later run (or
a restarted app) resumes from the byte reached with an HTTP Range request. One process at a time
writes a file: the download holds an OS lock on ``<name>.part.lock`` (``file_lock``), and a
second Hearth asking for the same file is told so at once. Only a complete file whose hash
matches the Hub's LFS hash is renamed into place. A dropped connection, a server error or a 429
is retried with back-off (as long as Retry-After asks, within a cap) from where it stopped; a
stop request is honoured within about half a second, even when the server has gone silent
(reads time out after 0.5 s).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import shutil
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from app import __version__
from app.core.file_lock import FileLock, LockBusy
from app.core.hub.partial import (
    CHUNK,
    DownloadError,
    FileJob,
    PartialFile,
    partial_bytes,
    write_all,
)
from app.core.units import human_bytes

MARGIN = 64 << 20  # kept free on the disk besides the file
BACKOFF = (1, 2, 4, 8, 15, 30, 30, 30)
RETRY_AFTER_CAP = 60.0  # the longest a Retry-After is waited for, per try

log = logging.getLogger(__name__)


Progress = Callable[[int, int], None]
Stop = Callable[[], "str | None"]  # returns "pause" or "cancel" to stop


def retry_after(value: str | None, cap: float, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number, or an HTTP date), at most
    ``cap``; None when there is none or it cannot be read."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, min(seconds, cap))


def connection_problem(exc: BaseException) -> str:
    """What went wrong with a connection, in words (never the exception's class name)."""
    import httpx2

    text = str(exc).lower()
    if isinstance(exc, httpx2.ProxyError) or "proxy" in text:
        return "the proxy did not let the connection through"
    if isinstance(exc, httpx2.TimeoutException) or "timed out" in text:
        return "the connection timed out"
    if any(w in text for w in ("name or service", "nodename", "getaddrinfo", "name resolution")):
        return "its address could not be looked up"
    if "refused" in text:
        return "the connection was refused"
    if "ssl" in text or "certificate" in text:
        return "the secure connection could not be set up"
    if isinstance(exc, (httpx2.ReadError, httpx2.RemoteProtocolError, httpx2.WriteError)) or any(
        w in text for w in ("reset", "closed", "broken pipe")
    ):
        return "the connection dropped"
    return "no connection could be made"


def _sleep(seconds: float, stop: Stop) -> str | None:
    """Wait, looking at the stop flag ten times a second."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        why = stop()
        if why:
            return why
        time.sleep(min(0.1, left))
    return None


class _Transient(Exception):
    """An answer worth another try later (429, 5xx), with the wait the server asked for."""

    def __init__(self, status: int, wait: float | None) -> None:
        super().__init__(f"the server answered {status}")
        self.status = status
        self.wait = wait


def _check_status(r: Any, job: FileJob, done: int, cap: float) -> None:
    status = r.status_code
    if status in (401, 403):
        raise DownloadError(
            "gated",
            f"The model {job.repo} needs permission (the Hub answered {status}): accept its "
            "terms on huggingface.co, then add a Hugging Face token with access (Hub settings, "
            "or `hearth token set`) and try again.",
        )
    if status == 404:
        raise DownloadError(
            "not_found",
            f"The file {job.filename} is no longer in {job.repo} on the Hub. Open the repository "
            "again to see the files it has now.",
        )
    if status == 416 and done:
        return
    if status == 429 or status >= 500:
        raise _Transient(status, retry_after(r.headers.get("retry-after"), cap))
    if status not in (200, 206):
        raise DownloadError(
            "http",
            f"The Hugging Face Hub answered {status} for {job.filename}. Try again later.",
        )


def _complete(job: FileJob) -> bool:
    try:
        return job.dest.stat().st_size == job.size
    except OSError:
        return False


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
    retry_after_cap: float = RETRY_AFTER_CAP,
) -> Path:
    """Fetch ``job`` with ``session`` (an httpx-style client); returns the verified file."""
    if _complete(job):
        return job.dest
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(job.lock)
    try:
        lock.acquire()
    except LockBusy as exc:
        log.warning("%s: refused, process %s holds its lock", job.dest, exc.pid or "unknown")
        by = f" (process {exc.pid})" if exc.pid else ""
        raise DownloadError(
            "busy",
            f"The file {job.filename} is already being downloaded by another Hearth{by}. Try "
            "again once it has finished.",
        ) from None
    transfer = None
    try:
        if _complete(job):  # the other Hearth finished it just before
            return job.dest
        transfer = PartialFile(job)
        _fetch(
            transfer,
            session,
            headers,
            progress,
            stop,
            free_space,
            read_timeout,
            stall_limit,
            backoff,
            retry_after_cap,
        )
        transfer.verify()
        transfer.close()
        os.replace(job.part, job.dest)
        job.meta.unlink(missing_ok=True)
        return job.dest
    finally:
        if transfer is not None:
            transfer.close()
        if partial_bytes(job) == 0:  # nothing kept: no empty partial file, no description
            with contextlib.suppress(OSError):
                job.part.unlink(missing_ok=True)
                job.meta.unlink(missing_ok=True)
        lock.release()


def _fetch(
    t: PartialFile,
    session: Any,
    headers: dict[str, str] | None,
    progress: Progress | None,
    stop: Stop,
    free_space: Callable[[Path], int],
    read_timeout: float,
    stall_limit: float,
    backoff: tuple[float, ...],
    retry_after_cap: float,
) -> None:
    """Bring ``t``'s partial file to the full size, retrying what can be retried."""
    import httpx2 as httpx

    job = t.job
    if free_space(job.dest.parent) < job.size - t.done + MARGIN:
        raise DownloadError(
            "disk_full",
            f"There is not enough disk space for {job.filename}: it needs "
            f"{human_bytes(job.size - t.done)} more, {human_bytes(free_space(job.dest.parent))} "
            f"are free in {job.dest.parent}. Free some space, then try again.",
        )
    base_headers = {"user-agent": f"hearth/{__version__}", **(headers or {})}
    failures = 0  # connection errors and error answers in a row
    stalls = 0  # reads that timed out in a row
    last_data = time.monotonic()
    last_report = 0.0
    timeout = httpx.Timeout(connect=10.0, read=read_timeout, write=10.0, pool=10.0)
    why: str | None = None
    while t.done < job.size:
        why = stop()
        if why:
            t.stop(why)
        req_headers = dict(base_headers)
        if t.done:
            req_headers["range"] = f"bytes={t.done}-"
        asked = time.monotonic()
        try:
            with session.stream(
                "GET", job.url, headers=req_headers, follow_redirects=True, timeout=timeout
            ) as r:
                _check_status(r, job, t.done, retry_after_cap)
                if r.status_code == 416:  # the partial file does not match the file
                    t.start_writing(from_zero=True)
                    continue
                # A 200 to a range request: the server sends the whole file; start over.
                out = t.start_writing(from_zero=r.status_code == 200)
                since_check = 0
                # Pieces as they arrive (not 1 MB chunks) so a stop is seen at once on a slow
                # link too.
                for piece in r.iter_bytes():
                    try:
                        write_all(out, piece)
                    except OSError as exc:
                        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                            raise t.disk_full() from None
                        raise
                    t.wrote(piece)
                    since_check += len(piece)
                    last_data = time.monotonic()
                    failures = stalls = 0
                    if progress and (last_data - last_report >= 0.05 or t.done >= job.size):
                        last_report = last_data
                        progress(t.done, job.size)
                    if since_check >= 64 * CHUNK:
                        since_check = 0
                        if free_space(job.dest.parent) < min(MARGIN, job.size - t.done):
                            raise t.disk_full()
                    why = stop()
                    if why or t.done > job.size:
                        break
            if why:
                t.stop(why)
            if t.done > job.size:
                return  # more than the Hub listed: verify() says so and deletes it
        except DownloadError:
            raise
        except httpx.TimeoutException:
            # Nothing arrived for a moment: the stop flag was looked at; ask again from here,
            # waiting longer each time the server stays silent. What arrived goes to the disk.
            stalls += 1
            t.flush()
            if progress:
                progress(t.done, job.size)  # what arrived just before the silence
            if time.monotonic() - last_data > stall_limit:
                log.warning(
                    "%s: nothing arrived for %.0f s at byte %d; given up",
                    job.filename,
                    time.monotonic() - last_data,
                    t.done,
                )
                raise DownloadError(
                    "network",
                    f"The Hub stopped sending {job.filename}. {human_bytes(t.done)} are kept: "
                    "check the connection, then try again to resume from there.",
                ) from None
            why = _sleep(min(0.5 * (stalls - 1), 5.0), stop)
            if why:
                t.stop(why)
        except (_Transient, httpx.HTTPError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise t.disk_full() from None
            failures += 1
            failed = f"{type(exc).__name__}: {exc}" if not isinstance(exc, _Transient) else exc
            after = time.monotonic() - asked
            if failures > len(backoff):
                log.warning(
                    "%s: %s after %.1f s, try %d of %d; given up at byte %d",
                    job.filename,
                    failed,
                    after,
                    failures,
                    len(backoff) + 1,
                    t.done,
                )
                what = (
                    f"The Hub kept answering {exc.status} ("
                    + ("too many requests" if exc.status == 429 else "a server error")
                    + ")"
                    if isinstance(exc, _Transient)
                    else f"The connection to the Hub kept failing ({connection_problem(exc)})"
                )
                raise DownloadError(
                    "network",
                    f"{what}. {human_bytes(t.done)} of {job.filename} are kept: try again in a "
                    "few minutes to resume from there.",
                ) from None
            wait = exc.wait if isinstance(exc, _Transient) and exc.wait is not None else None
            pause = backoff[failures - 1] if wait is None else wait
            log.warning(
                "%s: %s after %.1f s, try %d of %d; again in %.0f s from byte %d",
                job.filename,
                failed,
                after,
                failures,
                len(backoff) + 1,
                pause,
                t.done,
            )
            why = _sleep(pause, stop)
            if why:
                t.stop(why)
