"""A file on the Hub read like a local one, by HTTP range requests: a GGUF header without the
download."""

from __future__ import annotations

from typing import Any

from app.core.hub.connection import HubError


class RemoteFile:
    """A read-only, seekable view of a file on the Hub, fetched in blocks by HTTP range requests."""

    def __init__(
        self, session: Any, url: str, size: int, headers: dict[str, str], block: int = 1 << 20
    ) -> None:
        self.session, self.url, self.size, self.headers, self.block = (
            session,
            url,
            size,
            headers,
            block,
        )
        self.pos = 0
        self._cache: dict[int, bytes] = {}

    def tell(self) -> int:
        return self.pos

    def seek(self, pos: int, whence: int = 0) -> int:
        self.pos = pos if whence == 0 else self.pos + pos if whence == 1 else self.size + pos
        return self.pos

    def _block(self, index: int) -> bytes:
        if index not in self._cache:
            start = index * self.block
            end = min(self.size, start + self.block) - 1
            r = self.session.get(
                self.url,
                headers={**self.headers, "range": f"bytes={start}-{end}"},
                follow_redirects=True,
                timeout=15,
            )
            if r.status_code in (401, 403):
                raise HubError(
                    "gated",
                    "This model's files need a Hugging Face token with access: accept its terms "
                    "on huggingface.co, then add the token in Hub settings.",
                )
            if r.status_code not in (200, 206):
                raise HubError(
                    "http",
                    f"The Hugging Face Hub answered {r.status_code} when Hearth read a model "
                    "file's header. Try again later.",
                )
            data = r.content
            if r.status_code == 200:  # no range support: take our part of the whole file
                data = data[start : end + 1]
            self._cache[index] = data
        return self._cache[index]

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self.size - self.pos
        n = min(n, self.size - self.pos)
        out = bytearray()
        while n > 0:
            index, offset = divmod(self.pos, self.block)
            data = self._block(index)[offset : offset + n]
            if not data:
                break
            out += data
            self.pos += len(data)
            n -= len(data)
        return bytes(out)
