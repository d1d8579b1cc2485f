"""Read the header of a GGUF file (metadata and tensor table) from any seekable byte source.

Never reads tensor data. Every count and length is checked against hard limits and against the
bytes that can still be there, so a damaged or hostile file gives a ``GGUFError`` with a reason
instead of a hang or a huge allocation. Type constants come from ``gguf`` (ggml's own package).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

from app.core.units import human_bytes

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

MAX_TENSORS = 1 << 20
MAX_KV = 1 << 16
MAX_STRING = 64 << 20  # a chat template or license is kilobytes; 64 MiB is generous
MAX_ARRAY = 1 << 26
MAX_DIMS = 4
KEEP_ARRAY_ITEMS = 64  # longer arrays (vocabularies, merges) are kept as their length only

# value type -> (struct format, size)
_SCALARS = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9


class GGUFError(Exception):
    """The source is not a readable GGUF file; ``str()`` says why in words a user can act on."""


@dataclass(frozen=True)
class ArrayInfo:
    """A long metadata array, kept as its element type and length (contents skipped)."""

    item_type: int
    length: int

    def __len__(self) -> int:
        return self.length


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the data section
    n_elements: int
    n_bytes: int

    @property
    def type_name(self) -> str:
        return GGMLQuantizationType(self.ggml_type).name


@dataclass
class GGUFHeader:
    version: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo]
    data_offset: int
    alignment: int
    source_size: int | None = None
    header_size: int = 0  # bytes of metadata and tensor table, before the alignment padding
    warnings: list[str] = field(default_factory=list)

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    @property
    def architecture(self) -> str | None:
        arch = self.metadata.get("general.architecture")
        return arch if isinstance(arch, str) else None

    def arch_get(self, suffix: str, default: Any = None) -> Any:
        """An architecture-scoped key, e.g. ``arch_get("context_length")``."""
        arch = self.architecture
        return self.metadata.get(f"{arch}.{suffix}", default) if arch else default

    @property
    def data_size(self) -> int:
        return max((t.offset + t.n_bytes for t in self.tensors), default=0)

    @property
    def expected_size(self) -> int:
        """How many bytes a complete file (or split part) has."""
        return self.data_offset + self.data_size

    @property
    def chat_template(self) -> str | None:
        tmpl = self.metadata.get("tokenizer.chat_template")
        return tmpl if isinstance(tmpl, str) and tmpl.strip() else None


class _Reader:
    """Buffered little-endian reads with a byte budget known from the source size."""

    def __init__(self, stream: BinaryIO, size: int | None, chunk: int = 1 << 20) -> None:
        self._stream = stream
        self._size = size
        self._chunk = chunk
        self._buf = b""
        self._pos_in_buf = 0
        self.pos = 0
        self.origin = stream.tell()

    def remaining(self) -> int | None:
        return None if self._size is None else self._size - self.pos

    def _fill(self, n: int) -> None:
        have = len(self._buf) - self._pos_in_buf
        if have >= n:
            return
        parts = [self._buf[self._pos_in_buf :]]
        need = n - have
        while need > 0:
            got = self._stream.read(max(need, self._chunk))
            if not got:
                raise GGUFError(
                    f"the file ends at byte {self.pos + n - need:,} inside the header: "
                    "it is truncated (an incomplete download?)"
                )
            parts.append(got)
            need -= len(got)
        self._buf = b"".join(parts)
        self._pos_in_buf = 0

    def read(self, n: int) -> bytes:
        self._fill(n)
        out = self._buf[self._pos_in_buf : self._pos_in_buf + n]
        self._pos_in_buf += n
        self.pos += n
        return out

    def skip(self, n: int) -> None:
        have = len(self._buf) - self._pos_in_buf
        if n <= have:
            self._pos_in_buf += n
            self.pos += n
            return
        rem = self.remaining()
        if rem is not None and n > rem:
            raise GGUFError("the file ends inside the header: it is truncated")
        self.pos += n
        self._stream.seek(self.origin + self.pos)
        self._buf, self._pos_in_buf = b"", 0

    def unpack(self, fmt: str, size: int) -> Any:
        return struct.unpack(fmt, self.read(size))[0]

    def u32(self) -> int:
        return self.unpack("<I", 4)

    def u64(self) -> int:
        return self.unpack("<Q", 8)

    def check_room(self, count: int, min_item: int, what: str) -> None:
        rem = self.remaining()
        if rem is not None and count * min_item > rem:
            raise GGUFError(
                f"the file ends after {human_bytes(self._size or 0)}, inside its header "
                f"({count:,} {what} cannot fit in the bytes left): it is truncated or damaged"
            )

    def string(self, what: str) -> str:
        n = self.u64()
        if n > MAX_STRING:
            raise GGUFError(
                f"{what} declares a {n:,}-byte string (limit {MAX_STRING:,}): the file is damaged"
            )
        self.check_room(n, 1, "string bytes")
        return self.read(n).decode("utf-8", errors="replace")


def _read_value(r: _Reader, vtype: int, key: str, depth: int = 0) -> Any:
    if vtype in _SCALARS:
        fmt, size = _SCALARS[vtype]
        return r.unpack(fmt, size)
    if vtype == _STRING:
        return r.string(f"metadata key {key!r}")
    if vtype == _ARRAY:
        if depth > 2:
            raise GGUFError(f"metadata key {key!r} nests arrays too deeply")
        item_type = r.u32()
        count = r.u64()
        if count > MAX_ARRAY:
            raise GGUFError(f"metadata key {key!r} declares {count:,} items (limit {MAX_ARRAY:,})")
        if item_type in _SCALARS:
            fmt, size = _SCALARS[item_type]
            r.check_room(count, size, f"items in {key!r}")
            if count > KEEP_ARRAY_ITEMS:
                r.skip(count * size)
                return ArrayInfo(item_type, count)
            return list(struct.unpack("<" + fmt[1] * count, r.read(count * size)))
        if item_type == _STRING:
            r.check_room(count, 8, f"strings in {key!r}")
            if count > KEEP_ARRAY_ITEMS:
                for _ in range(count):
                    n = r.u64()
                    if n > MAX_STRING:
                        raise GGUFError(
                            f"a string in {key!r} declares {n:,} bytes: the file is damaged"
                        )
                    r.skip(n)
                return ArrayInfo(item_type, count)
            return [r.string(f"an item of {key!r}") for _ in range(count)]
        if item_type == _ARRAY:
            r.check_room(count, 12, f"arrays in {key!r}")
            return [_read_value(r, _ARRAY, key, depth + 1) for _ in range(count)]
        raise GGUFError(f"metadata key {key!r} has an array of unknown type {item_type}")
    raise GGUFError(f"metadata key {key!r} has unknown value type {vtype}")


def read_header(stream: BinaryIO, size: int | None = None) -> GGUFHeader:
    """Parse a GGUF header from ``stream`` positioned at the file's start.

    ``size`` is the total size of the source, when known: it bounds every declared count.
    """
    r = _Reader(stream, size)
    if size is not None and size < 24:
        raise GGUFError(f"the file is only {size} bytes long: it is not a GGUF model")
    magic = r.read(4)
    if magic != GGUF_MAGIC:
        raise GGUFError(
            f"it does not start with the GGUF signature (found {magic!r}): "
            "it is not a GGUF model file"
        )
    version = r.u32()
    if version not in (2, 3):
        raise GGUFError(f"GGUF version {version} is not supported (Hearth reads versions 2 and 3)")
    n_tensors = r.u64()
    n_kv = r.u64()
    if n_tensors > MAX_TENSORS:
        raise GGUFError(
            f"the header declares {n_tensors:,} tensors (limit {MAX_TENSORS:,}): the file is damaged"
        )
    if n_kv > MAX_KV:
        raise GGUFError(
            f"the header declares {n_kv:,} metadata entries (limit {MAX_KV:,}): the file is damaged"
        )
    r.check_room(n_kv, 13, "metadata entries")

    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = r.string("a metadata key")
        vtype = r.u32()
        metadata[key] = _read_value(r, vtype, key)

    r.check_room(n_tensors, 24, "tensors")
    raw: list[tuple[str, tuple[int, ...], int, int]] = []
    for _ in range(n_tensors):
        name = r.string("a tensor name")
        n_dims = r.u32()
        if n_dims == 0 or n_dims > MAX_DIMS:
            raise GGUFError(
                f"tensor {name!r} has {n_dims} dimensions (1 to {MAX_DIMS} allowed): the file is damaged"
            )
        shape = tuple(r.u64() for _ in range(n_dims))
        ggml_type = r.u32()
        offset = r.u64()
        raw.append((name, shape, ggml_type, offset))

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise GGUFError(
            f"general.alignment is {alignment!r}, not a power of two: the file is damaged"
        )
    data_offset = (r.pos + alignment - 1) // alignment * alignment

    tensors = []
    for name, shape, ggml_type, offset in raw:
        try:
            qtype = GGMLQuantizationType(ggml_type)
            block, type_size = GGML_QUANT_SIZES[qtype]
        except (ValueError, KeyError):
            raise GGUFError(
                f"tensor {name!r} has tensor type {ggml_type}, which this version of Hearth does not "
                "know (made by a newer llama.cpp?)"
            ) from None
        n_el = 1
        for d in shape:
            n_el *= d
        if n_el > 1 << 48:
            raise GGUFError(f"tensor {name!r} declares {n_el:,} elements: the file is damaged")
        if shape[0] % block:
            raise GGUFError(
                f"tensor {name!r} has rows of {shape[0]} values, not a multiple of the "
                f"{qtype.name} block of {block}: the file is damaged"
            )
        if offset % alignment:
            raise GGUFError(f"tensor {name!r} starts at an unaligned offset: the file is damaged")
        tensors.append(TensorInfo(name, shape, ggml_type, offset, n_el, n_el // block * type_size))

    return GGUFHeader(version, metadata, tensors, data_offset, alignment, size, header_size=r.pos)
