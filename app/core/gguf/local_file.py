"""Reading a local file's header without hanging: only regular files are opened, never blocking,
and a read that stops answering (a network share, a FUSE file system) is given up after a while."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import BinaryIO

from app.core.gguf.header import GGUFError, GGUFHeader, read_header
from app.core.units import human_bytes_of


def describe_file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "it is a named pipe (FIFO), not a model file"
    if stat.S_ISSOCK(mode):
        return "it is a socket, not a model file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a model file"
    return "it is not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open a regular file for reading without ever blocking on what it turns out to be.

    Opening a FIFO for reading waits for a writer, forever; a device can stream without end.
    The file is looked at first, then opened non-blocking and checked again on the open
    descriptor (it may have been swapped in between); anything but a regular file is refused
    with ``GGUFError``.
    """
    why = describe_file_kind(os.stat(path).st_mode)  # a socket cannot even be opened
    if why:
        raise GGUFError(why)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        why = describe_file_kind(os.fstat(fd).st_mode)
        if why:
            raise GGUFError(why)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_local(path: Path, check_size: bool) -> GGUFHeader:
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            header = read_header(f, size)
    except FileNotFoundError:
        if path.is_symlink():
            raise GGUFError("it is a link to a file that no longer exists") from None
        raise GGUFError("the file does not exist") from None
    except PermissionError:
        raise GGUFError("Hearth has no permission to read it") from None
    except IsADirectoryError:
        raise GGUFError("it is a folder, not a file") from None
    except OSError as exc:
        raise GGUFError(f"it cannot be read: {exc.strerror or exc}") from None
    if check_size and size < header.expected_size:
        raise GGUFError(
            f"the file ends after {human_bytes_of(size, header.expected_size)} "
            "model: the download is incomplete"
        )
    return header


READ_TIMEOUT = 20.0  # seconds for one header; a local disk needs milliseconds


def read_header_file(
    path: str | os.PathLike[str], check_size: bool = True, timeout: float | None = READ_TIMEOUT
) -> GGUFHeader:
    """Read a local file's header; with ``check_size``, a file shorter than its tensors is an error.

    The read runs on a helper thread and is given up after ``timeout`` seconds (a network share
    that stopped answering, a FUSE file system that hangs), so one file never holds up a library
    scan or the app's exit; the stuck thread is left to the operating system.
    """
    path = Path(path)
    if timeout is None:
        return _read_local(path, check_size)
    box: list[GGUFHeader | BaseException] = []
    done = threading.Event()

    def read() -> None:
        try:
            box.append(_read_local(path, check_size))
        except BaseException as exc:
            box.append(exc)
        finally:
            done.set()

    threading.Thread(target=read, name="gguf-header", daemon=True).start()
    if not done.wait(timeout):
        raise GGUFError(
            f"reading its header took more than {timeout:.0f} s (a network drive or device that "
            "does not answer?); it was skipped"
        )
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result
