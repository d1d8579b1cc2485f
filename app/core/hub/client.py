"""The Hugging Face Hub, through huggingface_hub: search, a repo's GGUF files, headers, downloads.

Nothing here runs unless the user opens the Hub page or asks for a download: huggingface_hub is
imported only then. ``open_hub`` applies the settings (endpoint for mirrors, else ``HF_ENDPOINT``;
proxy; the stored token) and keeps the library's telemetry off. A repo id is checked before any
request; a request to the Hub's API that meets a server error, a 429 or a silent server is tried
again after a pause (as long as Retry-After asks, within a cap).
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from app.core.errors import CodedError
from app.core.gguf.header import GGUFHeader, read_header
from app.core.gguf.names import is_projector_name, parse_name, split_of, unsplit
from app.core.gguf.quants import preset_for
from app.core.hub.download import FileJob, download_file, retry_after

# The Hub's rule for a model's id (huggingface_hub's validate_repo_id): publisher/name, each of
# letters, digits, "-", "_" and "."; neither starts or ends with "-" or "."; no "--" or "..".
_REPO_PART = r"(?![-.])[A-Za-z0-9_.-]{1,96}(?<![-.])"
_REPO_ID = re.compile(rf"{_REPO_PART}/{_REPO_PART}")
API_BACKOFF = (1.0, 3.0)  # pauses before the second and third try of a request to the API
API_RETRY_AFTER_CAP = 20.0  # the longest a Retry-After from the API is waited for
PROBE_TIMEOUT = 8.0


class HubError(CodedError):
    """The Hub could not answer; ``code``: offline, unavailable (server errors or 429 that
    persisted), not_found, gated, invalid (not a repo id), http."""


def check_repo_id(repo: str) -> str:
    """``repo`` if it is a valid ``publisher/name`` model id, else ``HubError("invalid")``."""
    if not isinstance(repo, str) or not _REPO_ID.fullmatch(repo) or "--" in repo or ".." in repo:
        shown = repo if isinstance(repo, str) else type(repo).__name__
        raise HubError(
            "invalid",
            f"{shown!r} is not a valid Hub repository id (publisher/name: letters, digits, "
            "'-', '_' and '.', no '--' or '..', up to 96 characters each)",
        )
    if repo.endswith(".git"):
        raise HubError("invalid", f"{repo!r} is not a valid Hub repository id (it ends in .git)")
    return repo


def _transient(exc: BaseException) -> tuple[str, float | None] | None:
    """Why ``exc`` is worth another try, and the wait the server asked for; None if it is not
    (a refused connection is not: the Hub is out of reach, say so at once)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int) and (status == 429 or status >= 500):
            headers = getattr(response, "headers", None) or {}
            wait = retry_after(headers.get("retry-after"), API_RETRY_AFTER_CAP)
            return f"the Hub answered {status}", wait
        return None
    if isinstance(exc, httpx2.ConnectTimeout):
        return None
    if isinstance(exc, (httpx2.TimeoutException, httpx2.RemoteProtocolError, httpx2.ReadError)):
        return "the Hub stopped answering", None
    return None


def _hub_error(exc: Exception, repo: str) -> HubError | None:
    """``exc`` as the one-line ``HubError`` the user reads; None for an unexpected one."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, GatedRepoError):
        return HubError(
            "gated",
            f"{repo} is gated: accept its terms on the Hub, then add a Hugging Face "
            "token in the Hub page's settings",
        )
    if isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError)):
        return HubError("not_found", f"{repo} was not found on the Hub (or it is private)")
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return HubError("gated", f"{repo} needs a Hugging Face token with access to it")
        lines = str(exc).strip().splitlines()  # the library's message runs over several lines
        return HubError("http", f"the Hub answered with an error: {lines[0] if lines else status}")
    if isinstance(exc, HFValidationError):  # what check_repo_id let through
        return HubError("invalid", f"{repo!r} is not a valid Hub repository id")
    if isinstance(exc, OfflineModeIsEnabled):
        return HubError("offline", "Hub access is switched off (HF_HUB_OFFLINE)")
    # Connection refused, DNS failure, timeout.
    if type(exc).__module__.startswith(("httpx", "httpcore")) or isinstance(exc, OSError):
        return HubError(
            "offline",
            f"the Hugging Face Hub cannot be reached ({type(exc).__name__}); "
            "everything else in Hearth works offline",
        )
    return None


def _before_request(request: Any) -> None:
    """What huggingface_hub's own client does before each request, through its public API (its
    hook is private): refuse when ``HF_HUB_OFFLINE`` is set, and tag the request with an id the
    Hub's logs can be searched by."""
    from huggingface_hub import is_offline_mode
    from huggingface_hub.errors import OfflineModeIsEnabled

    if is_offline_mode():
        raise OfflineModeIsEnabled(f"Cannot reach {request.url}: offline mode is enabled")
    if "x-amzn-trace-id" not in request.headers:
        request.headers["x-amzn-trace-id"] = request.headers.get("x-request-id") or str(
            uuid.uuid4()
        )


def configure(proxy: str | None = None) -> None:
    """Set up huggingface_hub before it is used: telemetry off, no implicit token, ``proxy``.

    The HTTP client gets time limits (the library's default has none, so a silent server would
    hang a search forever) and the proxy when one is set; otherwise the system's proxy variables
    apply.
    """
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"  # the token goes only where Hearth sends it
    import httpx2
    from huggingface_hub import constants, set_client_factory

    constants.HF_HUB_DISABLE_TELEMETRY = True

    def factory() -> Any:
        return httpx2.Client(
            event_hooks={"request": [_before_request]},
            follow_redirects=True,
            timeout=httpx2.Timeout(30.0, connect=10.0),
            proxy=proxy or None,
        )

    set_client_factory(factory)


def open_hub(endpoint: str = "", proxy: str = "") -> Hub:
    """A Hub client with the user's settings and stored token."""
    from app.core.hub.token import load_token

    configure(proxy or None)
    return Hub(load_token(), endpoint or None)


def default_endpoint() -> str:
    """``HF_ENDPOINT`` from the environment (a mirror), else the Hub itself."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


@dataclass
class RepoHit:
    repo: str
    downloads: int
    likes: int
    updated: str | None
    parameters: int | None
    gated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "downloads": self.downloads,
            "likes": self.likes,
            "updated": self.updated,
            "parameters": self.parameters,
        }


@dataclass
class HubFile:
    path: str
    size: int
    sha256: str | None


@dataclass
class QuantGroup:
    quant: str
    files: list[HubFile]
    parameters: int | None = None
    verdict: str | None = None
    recommended: bool = False
    fit: Any = None  # the FitResult, when estimated
    shape: Any = None  # the ModelShape it was estimated from

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def bits_per_weight(self) -> float | None:
        return round(self.size_bytes * 8 / self.parameters, 2) if self.parameters else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "quant": self.quant,
            "files": [f.path for f in self.files],
            "size_bytes": self.size_bytes,
            "bits_per_weight": self.bits_per_weight,
            "verdict": self.verdict,
            "recommended": self.recommended,
        }


@dataclass
class RepoFiles:
    repo: str
    revision: str
    gated: bool
    groups: list[QuantGroup] = field(default_factory=list)
    projectors: list[HubFile] = field(default_factory=list)
    parameters: int | None = None
    architecture: str | None = None
    context_length: int | None = None


def group_files(files: list[HubFile]) -> tuple[list[QuantGroup], list[HubFile]]:
    """GGUF files grouped by quant (split parts together); vision projectors apart."""
    groups: dict[str, QuantGroup] = {}
    projectors = []
    for f in sorted(files, key=lambda f: f.path):
        name = PurePosixPath(f.path).name
        if not name.lower().endswith(".gguf"):
            continue
        if is_projector_name(name):
            projectors.append(f)
            continue
        parsed = parse_name(name)
        quant = parsed.quant
        if quant is None:
            folder = PurePosixPath(f.path).parent.name  # "Q4_K_M/model-00001-of-00002.gguf"
            quant = (
                folder.upper()
                if preset_for(folder)
                else unsplit(name)[:-5]
                if name.endswith(".gguf")
                else name
            )
        split = split_of(f.path)
        key = f"{quant}|{split[0] if split else f.path}"
        group = groups.setdefault(key, QuantGroup(quant, []))
        group.files.append(f)
    ordered = sorted(groups.values(), key=lambda g: g.size_bytes)
    return ordered, projectors


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
        self.requests = 0

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
            if r.status_code not in (200, 206):
                raise HubError("http", f"the Hub answered {r.status_code} reading a header")
            data = r.content
            if r.status_code == 200:  # no range support: take our part of the whole file
                data = data[start : end + 1]
            self.requests += 1
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


class Hub:
    def __init__(
        self,
        token: str | None = None,
        endpoint: str | None = None,
        timeout: float = PROBE_TIMEOUT,
        backoff: tuple[float, ...] = API_BACKOFF,
    ) -> None:
        from huggingface_hub import HfApi

        self.token = token
        self.endpoint = (endpoint or default_endpoint()).rstrip("/")
        self.api = HfApi(endpoint=self.endpoint, token=token or False)
        self.timeout = timeout  # of the first, quick request
        self.backoff = backoff
        self._reached_at = 0.0

    def check_reachable(self) -> None:
        """One quick request: huggingface_hub retries a refused connection for ~23 s before it
        gives up, too long to tell the user the Hub is out of reach. A server that takes the
        connection and stays silent is asked again (``_wrap``)."""
        if time.monotonic() - self._reached_at < 15:
            return

        def probe() -> None:
            from huggingface_hub.utils import hf_raise_for_status

            r = self.session().get(
                f"{self.endpoint}/api/models",
                params={"limit": 1},
                headers=self.headers(),
                timeout=self.timeout,
            )
            if r.status_code == 429 or r.status_code >= 500:
                hf_raise_for_status(r)  # worth another try; any other answer: the Hub is there

        self._wrap(probe)
        self._reached_at = time.monotonic()

    def session(self) -> Any:
        from huggingface_hub import get_session

        return get_session()

    def headers(self) -> dict[str, str]:
        from app import __version__

        h = {"user-agent": f"hearth/{__version__}"}
        if self.token:
            h["authorization"] = f"Bearer {self.token}"
        return h

    def _wrap(self, fn: Callable[[], Any], repo: str = "", retry: bool = True) -> Any:
        """``fn()`` (a request that only reads), tried again on a server error, a 429 or a
        silent server (``retry``); its failure as a one-line ``HubError``."""
        tries = len(self.backoff) + 1 if retry else 1
        for attempt in range(tries):
            try:
                return fn()
            except Exception as exc:
                why = _transient(exc)
                if why is None:
                    error = _hub_error(exc, repo)
                    if error is None:
                        raise
                    raise error from None
                reason, wait = why
                if attempt == tries - 1:
                    times = f" {tries} times in a row" if tries > 1 else ""
                    raise HubError(
                        "offline" if "stopped" in reason else "unavailable",
                        f"{reason}{times}; try again later (everything else in Hearth works "
                        "offline)",
                    ) from None
                time.sleep(self.backoff[attempt] if wait is None else wait)
        raise AssertionError("not reached")

    # -- search ---------------------------------------------------------------------------------

    def search(
        self,
        query: str = "",
        sort: str = "downloads",
        limit: int = 50,
        min_params: int | None = None,
        max_params: int | None = None,
    ) -> list[RepoHit]:
        sort_key: Any = {"downloads": "downloads", "likes": "likes", "recent": "last_modified"}.get(
            sort, "downloads"
        )

        def run() -> list[Any]:
            return list(
                self.api.list_models(
                    filter="gguf",
                    search=query or None,
                    sort=sort_key,
                    limit=limit,
                    expand=["downloads", "likes", "lastModified", "gguf", "gated"],
                )
            )

        self.check_reachable()
        hits = []
        # huggingface_hub already retries the listing (429, 5xx, timeouts): not twice over.
        for m in self._wrap(run, query, retry=False):
            gguf = getattr(m, "gguf", None) or {}
            params = gguf.get("total") if isinstance(gguf, dict) else None
            params = params or parse_name(m.id.split("/")[-1] + ".gguf").parameters
            if min_params is not None and (params is None or params < min_params):
                continue
            if max_params is not None and (params is None or params > max_params):
                continue
            updated = getattr(m, "last_modified", None)
            hits.append(
                RepoHit(
                    m.id,
                    int(getattr(m, "downloads", 0) or 0),
                    int(getattr(m, "likes", 0) or 0),
                    updated.isoformat() if updated else None,
                    params,
                    bool(getattr(m, "gated", False)),
                )
            )
        return hits

    # -- a repo ---------------------------------------------------------------------------------

    def repo(self, repo: str, revision: str | None = None) -> RepoFiles:
        check_repo_id(repo)
        self.check_reachable()
        info = self._wrap(
            lambda: self.api.model_info(repo, revision=revision, files_metadata=True), repo
        )
        files = []
        for s in info.siblings or []:
            lfs = getattr(s, "lfs", None)
            sha = getattr(lfs, "sha256", None) if lfs is not None else None
            if sha is None and isinstance(lfs, dict):
                sha = lfs.get("sha256")
            files.append(HubFile(s.rfilename, int(s.size or 0), sha))
        groups, projectors = group_files(files)
        gguf = getattr(info, "gguf", None) or {}
        params = gguf.get("total") if isinstance(gguf, dict) else None
        if params is None:
            params = parse_name(repo.split("/")[-1] + ".gguf").parameters
        for g in groups:
            g.parameters = params or parse_name(PurePosixPath(g.files[0].path).name).parameters
        return RepoFiles(
            repo,
            info.sha or revision or "main",
            bool(getattr(info, "gated", False)),
            groups,
            projectors,
            params,
            gguf.get("architecture") if isinstance(gguf, dict) else None,
            gguf.get("context_length") if isinstance(gguf, dict) else None,
        )

    def file_url(self, repo: str, path: str, revision: str = "main") -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(check_repo_id(repo), path, revision=revision, endpoint=self.endpoint)

    def read_header(self, repo: str, file: HubFile, revision: str = "main") -> GGUFHeader:
        """The header of a remote GGUF file, read with HTTP range requests (no full download)."""
        remote = RemoteFile(
            self.session(), self.file_url(repo, file.path, revision), file.size, self.headers()
        )
        return self._wrap(lambda: read_header(remote, file.size), repo)  # type: ignore[arg-type]

    def model_card(self, repo: str, revision: str = "main") -> str:
        url = self.file_url(repo, "README.md", revision)

        def get() -> str:
            r = self.session().get(url, headers=self.headers(), follow_redirects=True, timeout=30)
            return r.text if r.status_code == 200 else ""

        return self._wrap(get, repo)

    # -- downloads ------------------------------------------------------------------------------

    def jobs_for(
        self, files: RepoFiles, group: QuantGroup, models_dir: Path, with_projector: bool = True
    ) -> list[FileJob]:
        publisher, name = files.repo.split("/", 1)
        folder = models_dir / publisher / name
        chosen = list(group.files) + (files.projectors[:1] if with_projector else [])
        return [
            FileJob(
                files.repo,
                f.path,
                f.size,
                f.sha256,
                folder / PurePosixPath(f.path).name,
                files.revision,
                self.file_url(files.repo, f.path, files.revision),
            )
            for f in chosen
        ]

    def download(
        self,
        job: FileJob,
        progress: Callable[[int, int], None] | None = None,
        stop: Callable[[], str | None] = lambda: None,
        **kwargs: Any,
    ) -> Path:
        return download_file(job, self.session(), self.headers(), progress, stop, **kwargs)

    def fetch(
        self,
        job: FileJob,
        progress: Callable[[int, int], None] | None = None,
        stop: Callable[[], str | None] = lambda: None,
    ) -> Path:
        """A queued file (queued earlier, perhaps before a restart) from this client's address:
        a mirror chosen since it was queued applies."""
        job.url = self.file_url(job.repo, job.filename, job.revision)
        return self.download(job, progress, stop)


def choose(files: RepoFiles, target: str | None) -> QuantGroup:
    """The group a ``REPO:QUANT`` or ``REPO/FILE`` request means (None: the recommended one)."""
    if not files.groups:
        raise HubError("not_found", f"{files.repo} has no GGUF files")
    if target is None:
        rec = [g for g in files.groups if g.recommended]
        if rec:
            return rec[0]
        raise HubError(
            "not_found", "no quant of this model fits this machine; name one (REPO:QUANT)"
        )
    want = target.upper()
    for g in files.groups:
        if g.quant.upper() == want or any(
            f.path == target or PurePosixPath(f.path).name == target for f in g.files
        ):
            return g
    have = ", ".join(g.quant for g in files.groups)
    raise HubError("not_found", f"{files.repo} has no {target!r}; it has {have}")
