"""Files that are not what their name says: FIFOs, devices, sockets, terminal escapes in headers.

Each of these once hung a scan (a FIFO named ``x.gguf`` blocks any reader until a writer comes)
or wrote escape sequences to the user's terminal; they must give a reason and move on.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from app.core.gguf.header import GGUFError
from app.core.gguf.info import inspect_model
from app.core.gguf.local_file import read_header_file
from app.core.library.index import INVALID, OK, Library
from app.core.safe_text import clean_line, clean_text
from app.core.units import human_bytes, human_bytes_of
from tests import gguf_factory as F

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and sockets are POSIX files")

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1m\u202eevil\u202c\r"


def _in_thread(fn, timeout: float = 5.0):
    """Run ``fn`` and fail (instead of hanging the suite) if it blocks."""
    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(_capture(fn)), daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn} blocked for {timeout} s"
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _capture(fn):
    try:
        return fn()
    except BaseException as exc:
        return exc


@posix_only
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.gguf"
    os.mkfifo(fifo)
    with pytest.raises(GGUFError, match="named pipe"):
        _in_thread(lambda: read_header_file(fifo))
    info = _in_thread(lambda: inspect_model(fifo))
    assert not info.valid and "named pipe" in (info.error or "")


@posix_only
def test_a_link_to_a_device_is_not_a_zero_byte_model(tmp_path: Path) -> None:
    link = tmp_path / "zero.gguf"
    os.symlink("/dev/zero", link)
    info = _in_thread(lambda: inspect_model(link))
    assert not info.valid
    assert info.error == "it is a device, not a model file"


@posix_only
def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.gguf"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        with pytest.raises(GGUFError, match="socket"):
            _in_thread(lambda: read_header_file(path))
    finally:
        sock.close()


@posix_only
def test_scan_skips_special_files_and_keeps_going(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    os.mkfifo(folder / "a-pipe.gguf")
    os.symlink("/dev/zero", folder / "b-zero.gguf")
    F.write(folder / "c-good.gguf", F.small_model_bytes())
    os.symlink(folder / "gone.gguf", folder / "d-broken.gguf")
    lib = Library(tmp_path / "library.sqlite3", tmp_path / "app-models")
    lib.add_folder(folder)
    entries = _in_thread(lambda: lib.scan().entries)
    by_name = {Path(e.path).name: e for e in entries}
    assert set(by_name) == {"c-good.gguf", "d-broken.gguf"}  # a broken link keeps its reason
    assert by_name["c-good.gguf"].status == OK
    assert by_name["d-broken.gguf"].status == INVALID
    # ... and a FIFO added by hand is listed with the reason, never opened.
    lib.add_file(folder / "a-pipe.gguf")
    entries = _in_thread(lambda: lib.scan().entries)
    pipe = next(e for e in entries if e.path.endswith("a-pipe.gguf"))
    assert pipe.status == INVALID and "named pipe" in (pipe.error or "")


@posix_only
def test_a_header_read_that_hangs_is_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that stops answering: the read is abandoned after its time limit.

    A FIFO opened by something else for writing, that never writes, stands in for a hung
    network drive: the open succeeds and the first read waits forever. Only the time limit
    can end it (O_NONBLOCK is cleared once the file is known regular, so a FIFO never gets
    this far; this calls the reader on the FIFO's descriptor path directly).
    """
    from app.core.gguf import local_file

    fifo = tmp_path / "slow.gguf"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)  # keeps the pipe open with nothing in it
    try:

        def hanging_read(path: Path, check_size: bool) -> object:
            with open(path, "rb") as f:  # a blocking read of an empty, open pipe
                return f.read(4)

        monkeypatch.setattr(local_file, "_read_local", hanging_read)
        started = time.monotonic()
        with pytest.raises(GGUFError, match=r"took more than 1 s"):
            read_header_file(fifo, timeout=1.0)
        assert time.monotonic() - started < 3
    finally:
        os.close(writer)


def test_header_strings_cannot_drive_the_terminal(tmp_path: Path) -> None:
    kvs = [
        F.kv("general.architecture", F.STRING, "llama"),
        F.kv("general.name", F.STRING, f"Nice{ESCAPES} Model"),
        F.kv("general.license", F.STRING, f"mit{ESCAPES}"),
        F.kv("general.description", F.STRING, f"line one\n\x1b[2Jline two{ESCAPES}"),
        F.kv("llama.context_length", F.U32, 512),
        F.kv("llama.block_count", F.U32, 1),
    ]
    head = F.header(kvs, [F.tensor("a.weight", (256,), F.F16_TYPE, 0)])
    path = F.write(tmp_path / "m.gguf", head + b"\0" * ((-len(head)) % 32) + b"\1" * 512)
    info = inspect_model(path)
    assert info.valid, info.error
    assert info.name == "Nice]0;pwned[2J[31m1mevil  Model"  # the \\r became a space
    assert info.license == "mit]0;pwned[2J[31m1mevil"
    assert info.metadata["general.description"] == "line one\n[2Jline two]0;pwned[2J[31m1mevil"
    for text in (info.name, info.license, *map(str, info.metadata.values())):
        assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_clean_line_and_text() -> None:
    assert clean_line("a\tb\nc\r\x1b[0md\u202e") == "a b c [0md"
    assert clean_text("a\tb\r\nc\x07\x1b\u2066d") == "a\tb\ncd"
    assert (
        clean_line("Llama-3.1-8B Instruct · Q4_K_M ü 日本")
        == "Llama-3.1-8B Instruct · Q4_K_M ü 日本"
    )


def test_one_byte_short_is_said_in_bytes(tmp_path: Path) -> None:
    assert human_bytes_of(40_000_000, 98_362_432) == "40.0 MB of a 98.4 MB"
    assert human_bytes_of(98_362_431, 98_362_432) == "98,362,431 bytes of a 98,362,432-byte"
    path = F.write(tmp_path / "short.gguf", F.small_model_bytes()[:-1])
    with pytest.raises(GGUFError) as err:
        read_header_file(path)
    size = path.stat().st_size
    assert human_bytes(size) == human_bytes(size + 1)  # rounded, the two would look alike
    assert str(err.value) == (
        f"the file ends after {size:,} bytes of a {size + 1:,}-byte model: "
        "the download is incomplete"
    )
