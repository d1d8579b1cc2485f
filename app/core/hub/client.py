"""The Hugging Face Hub, through huggingface_hub: search, a repo's GGUF files, headers, downloads.

Nothing here runs unless the user opens the Hub page or asks for a download: huggingface_hub is
imported only then. ``open_hub`` applies the settings (endpoint for mirrors, else ``HF_ENDPOINT``;
proxy; the stored token) and keeps the library's telemetry off. A repo id is checked before any
request; a request to the Hub's API that meets a server error, a 429 or a silent server is tried
again after a pause (as long as Retry-After asks, within a cap).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from app.core.fit.families import find_family
from app.core.gguf.header import GGUFHeader, read_header
from app.core.gguf.names import parse_name
from app.core.hub.connection import (
    API_BACKOFF,
    answered_error,
    as_hub_error,
    check_repo_id,
    configure,
    default_endpoint,
    stopped_answering,
    transient,
)
from app.core.hub.download import Progress, Stop, download_file
from app.core.hub.files import HubFile, QuantGroup, RepoFiles, estimated_overhead, group_files
from app.core.hub.partial import FileJob
from app.core.hub.remote_file import RemoteFile

PROBE_TIMEOUT = 8.0


def open_hub(endpoint: str = "", proxy: str = "") -> Hub:
    """A Hub client with the user's settings and stored token."""
    from app.core.hub.token import load_token

    configure(proxy or None)
    return Hub(load_token(), endpoint or None)


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


def _vocab_guess(repo: str, parameters: int | None) -> int | None:
    """The vocabulary size of a known model family (by the repo's name and size), before any
    header is read; the Hub's model info does not carry it."""
    parsed = parse_name(repo.split("/")[-1] + ".gguf")
    family = find_family(parsed.base_name, parameters or parsed.parameters)
    return family.n_vocab if family else None


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
                why = transient(exc)
                if why is None:
                    error = as_hub_error(exc, repo)
                    if error is None:
                        raise
                    raise error from None
                status, wait = why
                if attempt == tries - 1:
                    raise (
                        stopped_answering(tries)
                        if status is None
                        else answered_error(status, tries)
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
        vocab = _vocab_guess(repo, params)
        for g in groups:
            g.parameters = params or parse_name(PurePosixPath(g.files[0].path).name).parameters
            g.overhead_bytes = estimated_overhead(g.size_bytes, vocab)
        return RepoFiles(
            repo,
            info.sha or revision or "main",
            bool(getattr(info, "gated", False)),
            groups,
            projectors,
            params,
            gguf.get("architecture") if isinstance(gguf, dict) else None,
            gguf.get("context_length") if isinstance(gguf, dict) else None,
            vocab,
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
        progress: Progress | None = None,
        stop: Stop = lambda: None,
        **kwargs: Any,
    ) -> Path:
        return download_file(job, self.session(), self.headers(), progress, stop, **kwargs)

    def fetch(
        self,
        job: FileJob,
        progress: Progress | None = None,
        stop: Stop = lambda: None,
    ) -> Path:
        """A queued file (queued earlier, perhaps before a restart) from this client's address:
        a mirror chosen since it was queued applies."""
        job.url = self.file_url(job.repo, job.filename, job.revision)
        return self.download(job, progress, stop)
