"""The header reader at its limits: short and long arrays, nested arrays, headers larger than the
read buffer, values that end exactly at the end of the file, and the words of each refusal.

Variants of ``app/core/gguf/header.py`` that read every file the same (found with
``bench/mutation.py``):

- ``arch_get`` without an architecture looking up ``"None.<key>"``: no file has that key.
- ``skip`` taking the seek path when the bytes wanted are exactly the bytes buffered, or leaving
  the buffer position at 1 after a seek: the next fill starts from an empty buffer either way.
- ``_fill`` refilling when it holds exactly the bytes wanted: it reads nothing more.
- ``decode("utf-8")`` spelled ``decode()`` / ``"UTF-8"``: the same codec.
- ``self._size or 1`` in the truncation message: a size of 0 is refused before (under 24 bytes).
- a lower bound of 25 bytes for a tensor entry instead of 24: a real entry takes at least 32
  (name length, dimension count, one dimension, type, offset), so only a damaged file can tell,
  and it is refused either way (as truncated, in one of two sentences).
- a reader starting at buffer position 1: its first fill starts from an empty buffer anyway.
- the inclusive limits (``>=`` for ``>``) of MAX_STRING (64 MiB), MAX_ARRAY (2^26 items),
  MAX_TENSORS (2^20), MAX_KV (2^16) and 2^48 elements in a tensor: generous bounds against hostile files; one more or less
  changes nothing a real file holds (and a file at the limit is refused anyway, as truncated).
"""

from __future__ import annotations

import io
import struct

import pytest

from app.core.gguf.header import ArrayInfo, GGUFError, read_header
from tests import gguf_factory as F

U8, I32, Q4_0 = 0, 5, 2


def arr(key: str, item_type: int, count: int, body: bytes) -> bytes:
    """A metadata array with a raw body (for items gguf_factory does not write)."""
    return F.s(key) + struct.pack("<IIQ", F.ARRAY, item_type, count) + body


def read(data: bytes, size: int | None = -1):
    return read_header(io.BytesIO(data), len(data) if size == -1 else size)


def error(data: bytes, size: int | None = -1) -> str:
    with pytest.raises(GGUFError) as info:
        read(data, size)
    return str(info.value)


def test_missing_keys_give_the_default() -> None:
    h = read(F.small_model_bytes())
    assert h.get("general.nope", 5) == 5
    assert h.arch_get("nope", 7) == 7
    assert h.arch_get("context_length", 7) == 512


def test_short_arrays_are_kept_and_long_ones_counted() -> None:
    ints = [i - 40 for i in range(64)]
    strings = [f"s{i}" for i in range(64)]
    h = read(
        F.header(
            [
                F.kv_array("a.ints", I32, ints),
                F.kv_array("a.more_ints", F.U32, list(range(65))),
                F.kv_array("a.strings", F.STRING, strings),
                F.kv_array("a.more_strings", F.STRING, [*strings, "s64"]),
                F.kv_array("a.few", F.U32, [1, 2, 3]),
            ],
            [],
        )
    )
    assert h.get("a.ints") == ints
    assert h.get("a.more_ints") == ArrayInfo(F.U32, 65)
    assert h.get("a.strings") == strings
    assert h.get("a.more_strings") == ArrayInfo(F.STRING, 65)
    assert h.get("a.few") == [1, 2, 3]


def nested(depth: int) -> bytes:
    """An array of one array of ... of [7, 8] (u8), ``depth`` arrays deep."""
    body = struct.pack("<IQ", U8, 2) + bytes([7, 8])
    for _ in range(depth - 1):
        body = struct.pack("<IQ", F.ARRAY, 1) + body
    return F.s("a.nested") + struct.pack("<I", F.ARRAY) + body


def test_arrays_nest_three_deep_and_no_deeper() -> None:
    assert read(F.header([nested(3)], [])).get("a.nested") == [[[7, 8]]]
    assert error(F.header([nested(4)], [])) == "metadata key 'a.nested' nests arrays too deeply"


def test_values_ending_exactly_at_the_end_of_the_file_are_read() -> None:
    """A vocabulary-only file has no tensors: its last array ends the file."""
    empty_strings = arr("a.empty_strings", F.STRING, 100, struct.pack("<Q", 0) * 100)
    h = read(F.header([empty_strings], []))
    assert h.get("a.empty_strings") == ArrayInfo(F.STRING, 100)
    empty_arrays = arr("a.empty_arrays", F.ARRAY, 3, struct.pack("<IQ", U8, 0) * 3)
    assert read(F.header([empty_arrays], [])).get("a.empty_arrays") == [[], [], []]
    h = read(F.header([F.kv_array("a.bytes", F.U32, list(range(100)))], []))
    assert h.get("a.bytes") == ArrayInfo(F.U32, 100)


def test_a_header_larger_than_the_read_buffer_is_read_whole() -> None:
    """Chat templates and vocabularies make headers of many megabytes."""
    template = "{{ messages }}" + "x" * (3 << 19)  # 1.5 MiB, past the 1 MiB read buffer
    data = F.header([F.kv("tokenizer.chat_template", F.STRING, template)], [])
    assert read(data).chat_template == template
    # A long vocabulary whose last entry is 2 MiB: skipped, ending exactly at the end of the file.
    vocab = [F.s(f"t{i}") for i in range(99)] + [F.s(b"y" * (2 << 20))]
    data = F.header([arr("tokenizer.ggml.tokens", F.STRING, 100, b"".join(vocab))], [])
    assert read(data).get("tokenizer.ggml.tokens") == ArrayInfo(F.STRING, 100)
    assert error(data[:-1]) == "the file ends inside the header: it is truncated"


def test_invalid_utf8_in_a_string_is_replaced() -> None:
    data = F.header([F.kv("general.name", F.STRING, b"caf\xe9 model")], [])
    assert read(data).get("general.name") == "caf\ufffd model"


@pytest.mark.parametrize(
    ("kvs", "message"),
    [
        (
            [F.s("general.name") + struct.pack("<IQ", F.STRING, 1 << 60)],
            "metadata key 'general.name' declares a 1,152,921,504,606,846,976-byte string "
            "(limit 67,108,864): the file is damaged",
        ),
        (
            [arr("a.names", F.STRING, 2, F.s("ok") + struct.pack("<Q", 1 << 60))],
            "an item of 'a.names' declares a 1,152,921,504,606,846,976-byte string "
            "(limit 67,108,864): the file is damaged",
        ),
        (
            [arr("a.vocab", F.STRING, 65, F.s("ok") + struct.pack("<Q", 1 << 60))],
            "a string in 'a.vocab' declares 1,152,921,504,606,846,976 bytes: the file is damaged",
        ),
        (
            [arr("a.odd", 99, 1, b"")],
            "metadata key 'a.odd' has an array of unknown type 99",
        ),
        (
            [F.s("a.odd") + struct.pack("<I", 99)],
            "metadata key 'a.odd' has unknown value type 99",
        ),
    ],
    ids=["string", "short-array-string", "long-array-string", "array-type", "value-type"],
)
def test_damaged_values_are_refused_in_words(kvs: list[bytes], message: str) -> None:
    assert error(F.header(kvs, []) + b"\0" * 64, size=None) == message


@pytest.mark.parametrize(
    ("kv", "what"),
    [
        (arr("a.tokens", F.STRING, 1_000_000, b""), "1,000,000 strings in 'a.tokens'"),
        (arr("a.scores", F.U32, 1_000_000, b""), "1,000,000 items in 'a.scores'"),
        (arr("a.lists", F.ARRAY, 1_000_000, b""), "1,000,000 arrays in 'a.lists'"),
        (F.s("general.name") + struct.pack("<IQ", F.STRING, 5000), "5,000 string bytes"),
    ],
    ids=["strings", "items", "arrays", "string"],
)
def test_counts_that_cannot_fit_in_the_file_are_refused_before_reading(
    kv: bytes, what: str
) -> None:
    data = F.header([kv], []) + b"\0" * 100
    assert error(data) == (
        f"the file ends after {len(data)} B, inside its header ({what} cannot fit in the "
        "bytes left): it is truncated or damaged"
    )


def test_counts_with_the_top_bit_set_are_not_read_as_negative() -> None:
    data = F.header([], [], n_tensors=(1 << 64) - 1) + b"\0" * 64
    assert error(data) == (
        "the header declares 18,446,744,073,709,551,615 tensors (limit 1,048,576): "
        "the file is damaged"
    )
    data = F.header([], [], version=(1 << 32) - 1) + b"\0" * 64
    assert error(data) == "GGUF version 4294967295 is not supported (Hearth reads versions 2 and 3)"


def test_version_2_files_are_read() -> None:
    h = read(F.header([F.kv("general.name", F.STRING, "old")], [], version=2))
    assert (h.version, h.get("general.name")) == (2, "old")


def test_the_refusals_of_a_file_that_is_not_a_whole_gguf_header() -> None:
    assert error(b"# This is a text file pretending to be a model\n") == (
        "it does not start with the GGUF signature (found b'# Th'): it is not a GGUF model file"
    )
    data = F.small_model_bytes()
    assert error(data[:60], size=None) == (
        "the file ends at byte 60 inside the header: it is truncated (an incomplete download?)"
    )
    data = F.header([], [], n_kv=1000) + b"\0" * 100
    assert error(data) == (
        f"the file ends after {len(data)} B, inside its header (1,000 metadata entries cannot "
        "fit in the bytes left): it is truncated or damaged"
    )


def aligned(alignment: int) -> bytes:
    return F.kv("general.alignment", F.U32, alignment)


def test_the_files_alignment_places_the_data() -> None:
    for pad in range(70):  # header lengths at every remainder of the alignment
        for alignment in (1, 32, 64):
            kvs = [aligned(alignment), F.kv("general.name", F.STRING, "x" * pad)]
            data = F.header(kvs, [F.tensor("a", (32,), F.F16_TYPE, 0)])
            h = read(data, size=None)
            assert h.alignment == alignment
            assert h.header_size == len(data)
            assert h.data_offset == -(-len(data) // alignment) * alignment
    t = F.tensor("b", (32,), F.F16_TYPE, 64)
    assert read(F.header([aligned(64)], [t]), size=None).tensors[0].offset == 64
    t = F.tensor("b", (32,), F.F16_TYPE, 32)
    assert "unaligned" in error(F.header([aligned(64)], [t]), size=None)


@pytest.mark.parametrize("value", [48, 0, "abc"])
def test_an_alignment_that_is_not_a_power_of_two_is_refused(value: int | str) -> None:
    kv = F.kv("general.alignment", F.STRING if isinstance(value, str) else F.U32, value)
    assert error(F.header([kv], [])) == (
        f"general.alignment is {value!r}, not a power of two: the file is damaged"
    )


def test_the_header_says_what_it_read() -> None:
    tensors = [
        F.tensor("m", (64, 3), Q4_0, 0),  # 192 values in 6 blocks of 18 bytes
        F.tensor("cube", (32, 2, 2, 2), F.F16_TYPE, 128),  # four dimensions
    ]
    head = F.header([F.kv("general.architecture", F.STRING, "llama")], tensors)
    data = head + b"\0" * ((-len(head)) % 32 + 256)
    h = read(data)
    assert (h.version, h.source_size, h.header_size, h.alignment) == (3, len(data), len(head), 32)
    assert [(t.shape, t.n_elements, t.n_bytes) for t in h.tensors] == [
        ((64, 3), 192, 108),
        ((32, 2, 2, 2), 256, 512),
    ]


def test_the_smallest_possible_entries_ending_the_file_are_read() -> None:
    tiny = F.s("") + struct.pack("<IB", U8, 1)  # 13 bytes: an empty key and one byte
    assert read(F.header([tiny] * 10, [])).get("") == 1


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        (
            F.tensor("x", (33, 2), Q4_0, 0),
            "tensor 'x' has rows of 33 values, not a multiple of the Q4_0 block of 32: "
            "the file is damaged",
        ),
        (
            F.tensor("x", (1 << 24, 1 << 25), F.F16_TYPE, 0),
            "tensor 'x' declares 562,949,953,421,312 elements: the file is damaged",
        ),
        (
            F.tensor("x.weight", (32,), 250, 0),
            "tensor 'x.weight' has tensor type 250, which this version of Hearth does not know "
            "(made by a newer llama.cpp?)",
        ),
        (
            F.s("x") + struct.pack("<I", 5),
            "tensor 'x' has 5 dimensions (1 to 4 allowed): the file is damaged",
        ),
        (
            struct.pack("<Q", 1 << 60),
            "a tensor name declares a 1,152,921,504,606,846,976-byte string (limit 67,108,864): "
            "the file is damaged",
        ),
    ],
    ids=["rows", "elements", "type", "dims", "name"],
)
def test_damaged_tensor_entries_are_refused_in_words(tensor: bytes, message: str) -> None:
    assert error(F.header([], [tensor]) + b"\0" * 64, size=None) == message


def test_damaged_counts_and_keys_are_refused_in_words() -> None:
    data = F.header([], [], n_tensors=1000) + b"\0" * 100
    assert error(data) == (
        f"the file ends after {len(data)} B, inside its header (1,000 tensors cannot fit in the "
        "bytes left): it is truncated or damaged"
    )
    data = F.header([struct.pack("<Q", 1 << 60)], []) + b"\0" * 64
    assert error(data, size=None) == (
        "a metadata key declares a 1,152,921,504,606,846,976-byte string (limit 67,108,864): "
        "the file is damaged"
    )


class CountingReader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, n: int | None = -1) -> bytes:
        out = super().read(n)
        self.bytes_read += len(out)
        return out


def test_the_tensor_data_is_never_read() -> None:
    """A model of many gigabytes: only its header (in reads of 1 MiB) is read."""
    head = F.header([F.kv("general.name", F.STRING, "big")], [F.tensor("w", (256,), 1, 0)])
    stream = CountingReader(head + b"\0" * (8 << 20))
    assert read_header(stream, len(stream.getvalue())).get("general.name") == "big"
    assert stream.bytes_read <= 1 << 20
