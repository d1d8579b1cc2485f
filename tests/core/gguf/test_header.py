"""The GGUF header reader on the real test models and on broken files."""

from __future__ import annotations

import io
import os
import struct
import time
from pathlib import Path

import pytest

from app.core.gguf.header import ArrayInfo, GGUFError, read_header
from app.core.gguf.local_file import read_header_file
from tests import gguf_factory as F


def test_reads_smollm_header(smollm_path: Path) -> None:
    h = read_header_file(smollm_path)
    assert h.architecture == "llama"
    assert h.arch_get("block_count") == 30
    assert h.arch_get("context_length") == 8192
    assert h.arch_get("attention.head_count_kv") == 3
    assert len(h.tensors) == 272
    assert h.expected_size == smollm_path.stat().st_size
    assert h.chat_template is not None and "<|im_start|>" in h.chat_template
    vocab = h.get("tokenizer.ggml.tokens")
    assert isinstance(vocab, ArrayInfo) and len(vocab) == 49152


def test_reads_gemma_header(gemma_path: Path) -> None:
    h = read_header_file(gemma_path)
    assert h.architecture == "gemma3"
    assert h.arch_get("attention.sliding_window") == 512
    assert h.chat_template is None
    assert h.expected_size == gemma_path.stat().st_size
    types = {t.type_name for t in h.tensors}
    assert {"Q4_K", "Q6_K", "F32"} <= types


def test_reads_from_any_stream_at_an_offset() -> None:
    data = F.small_model_bytes()
    h = read_header(io.BytesIO(data), len(data))
    assert h.get("general.name") == "Tiny Test"
    assert [t.n_bytes for t in h.tensors] == [512, 512]
    padded = io.BytesIO(b"x" * 7 + data)
    padded.seek(7)
    assert read_header(padded, len(data)).get("general.name") == "Tiny Test"


def test_valid_small_file(tmp_path: Path) -> None:
    path = F.write(tmp_path / "ok.gguf", F.small_model_bytes())
    h = read_header_file(path)
    assert h.expected_size == path.stat().st_size


def _error(path: Path) -> str:
    with pytest.raises(GGUFError) as info:
        read_header_file(path)
    return str(info.value)


def test_not_gguf(tmp_path: Path) -> None:
    path = F.write(
        tmp_path / "readme.gguf", b"# This is a text file pretending to be a model\n" * 3
    )
    assert "not a GGUF model" in _error(path)


def test_tiny_file(tmp_path: Path) -> None:
    assert "only 5 bytes" in _error(F.write(tmp_path / "t.gguf", b"GGUF\0"))


def test_missing_tensor_data_says_download_incomplete(tmp_path: Path) -> None:
    data = F.small_model_bytes()
    path = F.write(tmp_path / "cut.gguf", data[:-300])
    msg = _error(path)
    assert "download is incomplete" in msg
    assert "kB" in msg  # sizes in words a user can read


def test_truncated_header(tmp_path: Path, gemma_path: Path) -> None:
    with gemma_path.open("rb") as f:
        head = f.read(1_000_000)
    msg = _error(F.write(tmp_path / "head.gguf", head))
    assert "truncated" in msg


def test_huge_declared_string_is_not_allocated(tmp_path: Path) -> None:
    kvs = [F.s("general.name") + struct.pack("<I", F.STRING) + struct.pack("<Q", 1 << 60)]
    path = F.write(tmp_path / "bigstr.gguf", F.header(kvs, []) + b"abc")
    started = time.monotonic()
    msg = _error(path)
    assert time.monotonic() - started < 1.0
    assert "string" in msg and "damaged" in msg


def test_huge_counts(tmp_path: Path) -> None:
    path = F.write(tmp_path / "counts.gguf", F.header([], [], n_kv=1 << 40))
    assert "metadata entries" in _error(path)
    path = F.write(tmp_path / "tensors.gguf", F.header([], [], n_tensors=1 << 40))
    assert "tensors" in _error(path)
    arr = F.s("tokenizer.ggml.tokens") + struct.pack("<IIQ", F.ARRAY, F.STRING, 1 << 40)
    path = F.write(tmp_path / "arr.gguf", F.header([arr], []))
    assert "items" in _error(path)


def test_unknown_tensor_type(tmp_path: Path) -> None:
    t = F.tensor("x.weight", (32,), 250, 0)
    path = F.write(
        tmp_path / "type.gguf",
        F.header([F.kv("general.architecture", F.STRING, "llama")], [t]) + b"\0" * 64,
    )
    msg = _error(path)
    assert "tensor type 250" in msg and "newer llama.cpp" in msg


def test_bad_dims_and_unaligned_offset(tmp_path: Path) -> None:
    bad_dims = F.s("x") + struct.pack("<I", 9)
    path = F.write(tmp_path / "dims.gguf", F.header([], [bad_dims]) + b"\0" * 64)
    assert "dimensions" in _error(path)
    t = F.tensor("x.weight", (32,), F.F16_TYPE, 3)
    path = F.write(tmp_path / "align.gguf", F.header([], [t]) + b"\0" * 128)
    assert "unaligned" in _error(path)


def test_unsupported_version(tmp_path: Path) -> None:
    path = F.write(tmp_path / "v9.gguf", F.header([], [], version=9) + b"\0" * 16)
    assert "version 9" in _error(path)


def test_broken_symlink_and_folder(tmp_path: Path) -> None:
    link = tmp_path / "gone.gguf"
    os.symlink(tmp_path / "nowhere.gguf", link)
    assert "no longer exists" in _error(link)
    assert "does not exist" in _error(tmp_path / "missing.gguf")
    folder = tmp_path / "dir.gguf"
    folder.mkdir()
    assert "folder" in _error(folder)
