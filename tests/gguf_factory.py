"""Builds small GGUF files byte by byte, valid or deliberately broken, for tests."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

U32, I32, F32, BOOL, STRING, ARRAY, U64 = 4, 5, 6, 7, 8, 9, 10
F16_TYPE, Q4_0_TYPE = 1, 2


def s(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def value(vtype: int, v: Any) -> bytes:
    if vtype == U32:
        return struct.pack("<I", v)
    if vtype == I32:
        return struct.pack("<i", v)
    if vtype == U64:
        return struct.pack("<Q", v)
    if vtype == F32:
        return struct.pack("<f", v)
    if vtype == BOOL:
        return struct.pack("<?", v)
    if vtype == STRING:
        return s(v)
    raise ValueError(vtype)


def kv(key: str, vtype: int, v: Any) -> bytes:
    return s(key) + struct.pack("<I", vtype) + value(vtype, v)


def kv_array(key: str, item_type: int, items: list[Any]) -> bytes:
    body = b"".join(value(item_type, i) for i in items)
    return s(key) + struct.pack("<I", ARRAY) + struct.pack("<IQ", item_type, len(items)) + body


def tensor(name: str, shape: tuple[int, ...], ggml_type: int, offset: int) -> bytes:
    return (
        s(name)
        + struct.pack("<I", len(shape))
        + b"".join(struct.pack("<Q", d) for d in shape)
        + struct.pack("<IQ", ggml_type, offset)
    )


def header(
    kvs: list[bytes],
    tensors: list[bytes],
    version: int = 3,
    n_kv: int | None = None,
    n_tensors: int | None = None,
) -> bytes:
    return (
        b"GGUF"
        + struct.pack("<I", version)
        + struct.pack("<Q", len(tensors) if n_tensors is None else n_tensors)
        + struct.pack("<Q", len(kvs) if n_kv is None else n_kv)
        + b"".join(kvs)
        + b"".join(tensors)
    )


def small_model_bytes(data: bool = True, template: str | None = None) -> bytes:
    """A tiny 'llama' GGUF with two F16 tensors (256 values each) and its data."""
    kvs = [
        kv("general.architecture", STRING, "llama"),
        kv("general.name", STRING, "Tiny Test"),
        kv("llama.context_length", U32, 512),
        kv("llama.block_count", U32, 1),
        kv_array("tokenizer.ggml.tokens", STRING, [f"t{i}" for i in range(100)]),
    ]
    if template is not None:
        kvs.append(kv("tokenizer.chat_template", STRING, template))
    tensors = [tensor("a.weight", (256,), F16_TYPE, 0), tensor("b.weight", (256,), F16_TYPE, 512)]
    head = header(kvs, tensors)
    pad = (-len(head)) % 32
    body = head + b"\0" * pad
    return body + (b"\1" * 1024 if data else b"")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def with_chat_template(src: Path, dst: Path, template: str) -> Path:
    """Copy a real model, replacing (or adding) its chat template; tensor data is unchanged."""
    import shutil

    from app.core.gguf.local_file import read_header_file

    h = read_header_file(src)
    key = b"tokenizer.chat_template"
    raw = src.read_bytes()[: h.header_size]
    new_value = struct.pack("<I", STRING) + s(template)
    marker = s(key)
    at = raw.find(marker)
    n_kv = struct.unpack_from("<Q", raw, 16)[0]
    if at < 0:
        kv_end = raw.find(s(h.tensors[0].name))  # the tensor table follows the metadata
        raw = raw[:kv_end] + marker + new_value + raw[kv_end:]
        raw = raw[:16] + struct.pack("<Q", n_kv + 1) + raw[24:]
    else:
        start = at + len(marker)
        old_len = struct.unpack_from("<Q", raw, start + 4)[0]
        raw = raw[:start] + new_value + raw[start + 12 + old_len :]
    pad = (-len(raw)) % h.alignment
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.write(raw + b"\0" * pad)
        fin.seek(h.data_offset)
        shutil.copyfileobj(fin, fout, 1 << 20)
    return dst
