"""One file being downloaded, on disk: what it is, its partial file and the hash of the bytes in
it, kept in step, and the checks before it is renamed into place.

A ``FileJob`` says what the file is and where it goes; it is kept beside the partial file
(``<name>.part``) as ``<name>.part.json``, so a later run (or a restarted app) knows what to
resume. ``PartialFile`` is one run of a download under the file's lock: SHA-256 is computed over
exactly the bytes in the partial file (a resumed file's first part is read back from it, every
later byte is written at its own offset, and after a failure the file is cut back to the bytes
hashed); before the rename the file's size on disk, and that the name still leads to the file
written, are checked.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

from app.core.errors import CodedError
from app.core.file_lock import FileLock, LockBusy
from app.core.units import human_bytes

CHUNK = 1 << 20

log = logging.getLogger(__name__)


class DownloadError(CodedError):
    """Why a download did not finish. ``code``: gated, not_found, hash_mismatch, disk_full,
    network, http, busy (another Hearth is downloading the file), paused, cancelled."""


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

    @property
    def lock(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part.lock")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dest"] = str(self.dest)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileJob:
        """The job ``d`` describes; ``ValueError`` when it is not the shape ``to_dict`` writes."""
        if not isinstance(d, dict):
            raise ValueError("not an object")
        repo, filename, dest = d.get("repo"), d.get("filename"), d.get("dest")
        revision, url = d.get("revision", "main"), d.get("url", "")
        size, sha = d.get("size"), d.get("sha256")
        if not (isinstance(repo, str) and isinstance(filename, str) and isinstance(dest, str)):
            raise ValueError("repo, filename and dest must be text")
        if not (repo and filename and dest):
            raise ValueError("repo, filename and dest must not be empty")
        if not (isinstance(revision, str) and isinstance(url, str)):
            raise ValueError("revision and url must be text")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError("size must be a whole number of bytes")
        if sha is not None and not isinstance(sha, str):
            raise ValueError("sha256 must be text")
        return cls(repo, filename, size, sha, Path(dest), revision, url)


def partial_bytes(job: FileJob) -> int:
    try:
        return job.part.stat().st_size
    except OSError:
        return 0


def discard_partial(job: FileJob) -> bool:
    """Delete ``job``'s partial file and its description, unless another Hearth is writing it
    (then False, and nothing is touched)."""
    try:
        with FileLock(job.lock):
            job.part.unlink(missing_ok=True)
            job.meta.unlink(missing_ok=True)
    except LockBusy:
        return False
    except FileNotFoundError:  # the folder is gone: so is the partial file
        pass
    return True


def write_all(out: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = out.write(view)
        view = view[n or 0 :]


class PartialFile:
    """One run of a download, under the file's lock: the partial file, the bytes in it and
    their hash, kept in step."""

    def __init__(self, job: FileJob) -> None:
        self.job = job
        self.out: BinaryIO | None = None  # the .part, open once bytes are about to be written
        self.hasher = hashlib.sha256()
        self.done = 0
        if partial_bytes(job) > job.size:
            job.part.unlink()
        if job.part.exists():
            out = self._open()
            for chunk in iter(lambda: out.read(CHUNK), b""):
                self.hasher.update(chunk)
                self.done += len(chunk)

    def _open(self) -> BinaryIO:
        fd = os.open(self.job.part, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        # Buffered (1 MiB): a write per network piece costs a third of the throughput.
        self.out = os.fdopen(fd, "r+b", buffering=CHUNK)
        return self.out

    def start_writing(self, from_zero: bool) -> BinaryIO:
        """The partial file, positioned at the end of the bytes hashed; ``from_zero``: the
        answer is the whole file, so what was there goes."""
        if from_zero:
            self.done, self.hasher = 0, hashlib.sha256()
        if self.out is None:
            # Described from its first byte on: a request that fails before (gated, not found,
            # too many requests) leaves nothing behind.
            self.job.meta.write_text(json.dumps(self.job.to_dict()), encoding="utf-8")
        out = self.out or self._open()
        out.flush()
        # Whatever a failed write left past the bytes hashed goes: the file holds exactly them.
        # (Only when there is something to cut: on ext4 a truncation to zero makes the close
        # wait for the whole file to be written out.)
        if os.fstat(out.fileno()).st_size != self.done:
            out.truncate(self.done)
        out.seek(self.done)
        return out

    def wrote(self, piece: bytes) -> None:
        self.hasher.update(piece)
        self.done += len(piece)

    def flush(self) -> None:
        """Buffered bytes to the file (a full disk as ``disk_full``)."""
        if self.out is None:
            return
        try:
            self.out.flush()
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                raise self.disk_full() from None
            raise

    def close(self) -> None:
        out, self.out = self.out, None
        if out is not None:
            # Bytes still buffered that cannot be written (a full disk) are lost with this run;
            # the next one hashes what the file holds.
            with contextlib.suppress(OSError):
                out.close()

    def verify(self) -> None:
        """The file on disk is the one written, ``job.size`` long, with the Hub's hash."""
        job = self.job
        assert self.out is not None
        self.flush()
        on_disk = os.fstat(self.out.fileno())
        try:
            there = os.stat(job.part)
        except FileNotFoundError:
            there = None
        if there is None or not os.path.samestat(on_disk, there):
            log.warning("%s: the partial file was moved or replaced while it downloaded", job.part)
            self.close()
            raise DownloadError(
                "hash_mismatch",
                f"The partial file of {job.filename} was moved or replaced while it downloaded, "
                "so nothing was put in place. Try again to download it afresh.",
            )
        if self.done != job.size or on_disk.st_size != job.size:
            got = on_disk.st_size if self.done == job.size else self.done
            log.warning("%s: %d bytes instead of %d; deleted", job.part, got, job.size)
            self._discard()
            raise DownloadError(
                "hash_mismatch",
                f"The download of {job.filename} came out {got:,} bytes long instead of "
                f"{job.size:,} (did something else write to its partial file?), so it was "
                "deleted. Try again to download it afresh.",
            )
        digest = self.hasher.hexdigest()
        if job.sha256 and digest != job.sha256.lower():
            log.warning("%s: SHA-256 %s, the Hub's is %s; deleted", job.part, digest, job.sha256)
            self._discard()
            raise DownloadError(
                "hash_mismatch",
                f"The download of {job.filename} does not match the Hub's checksum (SHA-256 "
                f"{digest[:12]}…, expected {job.sha256[:12]}…): it was damaged on the way and "
                "has been deleted. Try again to download it afresh.",
            )

    def _discard(self) -> None:
        self.close()
        self.job.part.unlink(missing_ok=True)
        self.job.meta.unlink(missing_ok=True)

    def stop(self, why: str) -> None:
        job = self.job
        if why == "cancel":
            self._discard()
            raise DownloadError("cancelled", f"The download of {job.filename} was cancelled.")
        raise DownloadError(
            "paused", f"The download of {job.filename} is paused at {human_bytes(self.done)}."
        )

    def disk_full(self) -> DownloadError:
        job = self.job
        log.warning("%s: the disk is full at %d of %d bytes", job.part, self.done, job.size)
        return DownloadError(
            "disk_full",
            f"The disk holding {job.dest.parent} is full. {human_bytes(self.done)} of "
            f"{job.filename} are kept: free some space, then try again to resume from there.",
        )
