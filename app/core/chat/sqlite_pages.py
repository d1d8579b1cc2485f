"""The SQLite file format read directly, for files SQLite itself refuses (sqlite.org/fileformat2.html).

Pages, b-tree pages and their cells, records with their overflow chains, the freelist; nothing is
trusted: a bad pointer, count or length raises ValueError (or skips one record) instead of
reading past what is there.
"""

from __future__ import annotations

import struct
from typing import Any


class Pages:
    """The database file as pages; ``page(n)`` is 1-based and raises ValueError past the end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        header_ok = data[:16] == b"SQLite format 3\x00"
        size = struct.unpack(">H", data[16:18])[0] if len(data) >= 18 else 0
        size = 65536 if size == 1 else size
        if header_ok and size >= 512 and size & (size - 1) == 0:
            self.size = size
            self.usable = size - data[20]
        else:
            self.size = _guess_page_size(data)
            self.usable = self.size
        self.count = len(data) // self.size
        self.freelist = _freelist(self) if header_ok else set()

    def page(self, n: int) -> bytes:
        if not 1 <= n <= self.count:
            raise ValueError(f"page {n} is past the end")
        return self.data[(n - 1) * self.size : n * self.size]


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = 0
    for k in range(9):
        if i + k >= len(buf):
            raise ValueError("varint runs past the end")
        byte = buf[i + k]
        if k == 8:
            return ((value << 8) | byte) & 0xFFFFFFFFFFFFFFFF, i + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, i + k + 1
    raise AssertionError("unreachable")


def _record(payload: bytes) -> list[Any]:
    """Decode one record (header of serial types, then the values)."""
    header_len, i = _varint(payload, 0)
    if not 1 <= header_len <= len(payload):
        raise ValueError("bad record header")
    types = []
    while i < header_len:
        t, i = _varint(payload, i)
        types.append(t)
    if i != header_len:
        raise ValueError("bad record header")
    values: list[Any] = []
    pos = header_len
    for t in types:
        if t == 0:
            values.append(None)
        elif 1 <= t <= 6:
            n = (1, 2, 3, 4, 6, 8)[t - 1]
            if pos + n > len(payload):
                raise ValueError("value past the end")
            values.append(int.from_bytes(payload[pos : pos + n], "big", signed=True))
            pos += n
        elif t == 7:
            if pos + 8 > len(payload):
                raise ValueError("value past the end")
            values.append(struct.unpack(">d", payload[pos : pos + 8])[0])
            pos += 8
        elif t in (8, 9):
            values.append(t - 8)
        elif t >= 12:
            n = (t - 12) // 2
            if pos + n > len(payload):
                raise ValueError("value past the end")
            raw = payload[pos : pos + n]
            values.append(raw.decode("utf-8") if t % 2 else raw)
            pos += n
        else:
            raise ValueError(f"reserved serial type {t}")
    return values


def _btree_header(pages: Pages, n: int) -> tuple[bytes, int, int, list[int]]:
    """A b-tree page's bytes, type, right child (interior) and cell offsets; ValueError if bad."""
    page = pages.page(n)
    start = 100 if n == 1 else 0
    kind = page[start]
    if kind not in (2, 5, 10, 13):
        raise ValueError(f"page {n} is not a b-tree page")
    header = 12 if kind in (2, 5) else 8
    cells = struct.unpack(">H", page[start + 3 : start + 5])[0]
    first = start + header
    if first + 2 * cells > pages.usable:
        raise ValueError(f"page {n} has too many cells")
    offsets = [
        struct.unpack(">H", page[first + 2 * k : first + 2 * k + 2])[0] for k in range(cells)
    ]
    if any(not first + 2 * cells <= o < pages.usable for o in offsets):
        raise ValueError(f"page {n} points outside itself")
    right = struct.unpack(">I", page[start + 8 : start + 12])[0] if header == 12 else 0
    return page, kind, right, offsets


def leaf_cells(pages: Pages, n: int) -> list[tuple[int, list[Any]]]:
    """The (rowid, values) of each record on table leaf page ``n``; a bad record is skipped."""
    page, kind, _right, offsets = _btree_header(pages, n)
    if kind != 13:
        raise ValueError(f"page {n} is not a table leaf")
    out = []
    u = pages.usable
    max_local = u - 35
    min_local = (u - 12) * 32 // 255 - 23
    for off in offsets:
        try:
            size, i = _varint(page, off)
            rowid, i = _varint(page, i)
            if rowid >= 1 << 63:
                rowid -= 1 << 64
            if size > len(pages.data):
                raise ValueError("record larger than the file")
            if size <= max_local:
                payload = page[i : i + size]
            else:
                local = min_local + (size - min_local) % (u - 4)
                local = local if local <= max_local else min_local
                payload = page[i : i + local] + _overflow(
                    pages, page[i + local : i + local + 4], size - local
                )
            if len(payload) != size:
                raise ValueError("record cut short")
            out.append((rowid, _record(payload)))
        except (ValueError, UnicodeDecodeError, struct.error):
            continue
    return out


def _overflow(pages: Pages, pointer: bytes, remaining: int) -> bytes:
    parts = []
    nxt = struct.unpack(">I", pointer)[0] if len(pointer) == 4 else 0
    seen: set[int] = set()
    while remaining > 0:
        if nxt in seen:
            raise ValueError("overflow chain loops")
        seen.add(nxt)
        page = pages.page(nxt)
        chunk = page[4 : 4 + min(remaining, pages.usable - 4)]
        parts.append(chunk)
        remaining -= len(chunk)
        nxt = struct.unpack(">I", page[:4])[0]
    return b"".join(parts)


def _freelist(pages: Pages) -> set[int]:
    """Pages on the freelist (old, deleted content): never read back as live rows."""
    out: set[int] = set()
    trunk = struct.unpack(">I", pages.data[32:36])[0]
    while trunk and trunk not in out:
        try:
            page = pages.page(trunk)
        except ValueError:
            break
        out.add(trunk)
        count = struct.unpack(">I", page[4:8])[0]
        for k in range(min(count, (pages.usable - 8) // 4)):
            out.add(struct.unpack(">I", page[8 + 4 * k : 12 + 4 * k])[0])
        trunk = struct.unpack(">I", page[:4])[0]
    return out


def _guess_page_size(data: bytes) -> int:
    """The page size at which the most pages parse as b-tree pages (for a damaged header)."""
    best, best_score = 4096, -1
    for size in (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536):
        probe = Pages.__new__(Pages)
        probe.data, probe.size, probe.usable = data, size, size
        probe.count = len(data) // size
        score = 0
        for n in range(1, min(probe.count, 2000) + 1):
            try:
                _btree_header(probe, n)
                score += 1
            except ValueError:
                pass
        if score > best_score:
            best, best_score = size, score
    return best


def walk(pages: Pages, root: int, leaves: list[int], reached: set[int]) -> bool:
    """Collect the table leaf pages under ``root``; False if a damaged page cut a branch off."""
    whole = True
    stack = [root]
    while stack:
        n = stack.pop()
        if n in reached:
            whole = False  # a page reached twice: a damaged pointer
            continue
        reached.add(n)
        try:
            page, kind, right, offsets = _btree_header(pages, n)
        except ValueError:
            whole = False
            continue
        if kind == 13:
            leaves.append(n)
        elif kind == 5:
            children = [struct.unpack(">I", page[o : o + 4])[0] for o in offsets] + [right]
            stack.extend(reversed(children))
        else:
            whole = False
    return whole
