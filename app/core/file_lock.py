"""An exclusive lock on a file, shared by every Hearth process: one writer per download.

The lock is the operating system's (``flock`` on POSIX, ``msvcrt.locking`` on Windows) on a small
``<file>.lock`` beside the file. The OS drops it when its holder ends, however it ends (kill -9
and power loss included), so a lock left behind never blocks a later download. The lock file
holds the holder's process id, for the message, and is removed when the lock is released.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from pathlib import Path


class LockBusy(Exception):
    """Another process holds the lock; ``pid`` is its process id when it could be read."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is locked" + (f" by process {pid}" if pid else ""))
        self.path = path
        self.pid = pid


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip() or 0) or None
    except (OSError, ValueError):
        return None


class FileLock:
    """``with FileLock(path):`` holds the lock or raises ``LockBusy`` at once (never waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                _lock(fd)
            except BlockingIOError:
                os.close(fd)
                raise LockBusy(self.path, _read_pid(self.path)) from None
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EACCES, errno.EDEADLK):  # Windows: held by another
                    raise LockBusy(self.path, None) from None
                raise
            # The holder before us removes the file as it lets go: if that happened between our
            # open and our lock, we hold a file nobody else will look at; take the one there now.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        self._fd = fd
        if sys.platform != "win32":  # Windows forbids others to read a locked byte
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if sys.platform != "win32":
            # Removed while still held, so whoever opens the name next makes a new one.
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(fd)  # closing drops the lock
            return
        with contextlib.suppress(OSError):
            _unlock(fd)
        os.close(fd)
        with contextlib.suppress(OSError):  # another process may have it open: it stays
            os.unlink(self.path)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        # flock, not lockf: a lock per open file, so two downloads in one process exclude each
        # other too (the app's queue and a test's thread alike).
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
