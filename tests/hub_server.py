"""A local server on 127.0.0.1 that answers the Hugging Face Hub endpoints Hearth uses.

Search (``/api/models``), model info with file sizes and LFS SHA-256 (``/api/models/<repo>``),
file resolution with redirects and HEAD metadata (``/<repo>/resolve/<rev>/<path>``), and a
"CDN" that serves real files with HTTP Range. Faults can be switched on per file: the connection
drops after some bytes, wrong bytes are served, the server stalls or sends slowly, answers an
error status (429 with Retry-After, 503...) or ignores Range. Faults on the API (``ApiFault``):
an error status or a stall on matching requests. Gated repositories answer 401 with the Hub's
``X-Error-Code`` header unless a token is sent.

Searches behave as the Hub's do where clients depend on it: ``filter`` keeps the repos carrying
every tag asked for, and ``expand`` returns only the properties asked for (besides ``_id`` and
``id``; an unknown one is refused with 400); without it a listing carries the Hub's short default
set, which has no ``gguf``, ``lastModified`` or ``gated``. Every request is logged with its time
and its Authorization header.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Fault:
    drop_after: int | None = None  # close the connection after this many bytes (once per request)
    drops: int = 1  # how many requests drop
    corrupt: bool = False  # flip bytes in what is served
    stall_after: int | None = None  # stop sending (keep the connection) after this many bytes
    throttle: float = 0.0  # seconds of pause after each 256 KiB sent (a slow link)
    statuses: list[int] = field(default_factory=list)  # answer these first, one per request
    retry_after: str | None = None  # the Retry-After header sent with those answers
    ignore_range: bool = False  # answer a Range request with 200 and the whole file
    # Once the connection has dropped (``drop_after``), answer these, one per request.
    statuses_after_drop: list[int] = field(default_factory=list)


@dataclass
class ApiFault:
    """Requests to ``/api/...`` paths starting with ``prefix``: the next ``times`` of them answer
    ``status`` (with ``retry_after``), or, with ``stall``, say nothing until the server stops."""

    prefix: str = "/api/"
    status: int = 500
    times: int = 1
    retry_after: str | None = None
    stall: bool = False


@dataclass
class RepoFile:
    path: str
    data_path: Path | None = None  # served from this file
    data: bytes | None = None  # or these bytes
    fault: Fault = field(default_factory=Fault)
    listed_size: int | None = None  # the size the Hub lists (for quants only listed, never fetched)

    def size(self) -> int:
        if self.listed_size is not None:
            return self.listed_size
        return self.data_path.stat().st_size if self.data_path else len(self.data or b"")

    def read(self, start: int, end: int) -> bytes:
        if self.data_path:
            with self.data_path.open("rb") as f:
                f.seek(start)
                return f.read(end - start)
        return (self.data or b"")[start:end]


@dataclass
class Repo:
    repo_id: str
    files: list[RepoFile]
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2026-10-01T12:00:00.000Z"
    gated: bool = False
    parameters: int | None = None
    architecture: str | None = None
    card: str = "# A model\n\nThis is the model card."
    sha: str = "0123456789abcdef0123456789abcdef01234567"
    tags: list[str] = field(default_factory=lambda: ["gguf"])


class HubState:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.token = "hf_test_token"
        self.requests: list[str] = []
        self.request_times: list[float] = []  # time.monotonic() of each request, as requests
        self.request_auth: list[str | None] = []  # the Authorization header of each, as requests
        self.stalled_at: dict[str, float] = {}  # file path -> time.monotonic() its stall began
        self.api_faults: list[ApiFault] = []
        self._sha: dict[str, str] = {}
        self.drops_done: dict[str, int] = {}
        self.ranges: dict[str, list[str | None]] = {}  # file path -> Range header of each GET
        self.served: dict[str, int] = {}  # file path -> bytes sent
        self.lock = threading.Lock()
        self.closed = threading.Event()

    def add(self, repo: Repo) -> Repo:
        self.repos[repo.repo_id] = repo
        return repo

    def sha256(self, f: RepoFile) -> str:
        if f.listed_size is not None:
            return hashlib.sha256(f.path.encode()).hexdigest()
        key = str(f.data_path) if f.data_path else hashlib.sha1(f.data or b"").hexdigest()
        if key not in self._sha:
            h = hashlib.sha256()
            if f.data_path:
                with f.data_path.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
            else:
                h.update(f.data or b"")
            self._sha[key] = h.hexdigest()
        return self._sha[key]


def _model_json(state: HubState, repo: Repo, blobs: bool) -> dict[str, Any]:
    siblings = []
    for f in repo.files:
        s: dict[str, Any] = {"rfilename": f.path}
        if blobs:
            s.update(
                size=f.size(),
                blobId=state.sha256(f)[:40],
                lfs={"sha256": state.sha256(f), "size": f.size(), "pointerSize": 134},
            )
        siblings.append(s)
    d: dict[str, Any] = {
        "_id": repo.repo_id,
        "id": repo.repo_id,
        "modelId": repo.repo_id,
        "author": repo.repo_id.split("/")[0],
        "sha": repo.sha,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "lastModified": repo.last_modified,
        "gated": "manual" if repo.gated else False,
        "private": False,
        "tags": list(repo.tags),
        "siblings": siblings,
        "trendingScore": 0,
        "pipeline_tag": "text-generation",
        "library_name": "gguf" if "gguf" in repo.tags else "transformers",
        "createdAt": "2025-01-01T00:00:00.000Z",
    }
    if repo.parameters:
        d["gguf"] = {
            "total": repo.parameters,
            "architecture": repo.architecture,
            "context_length": 8192,
        }
    return d


# What the Hub's ``expand`` accepts (huggingface_hub's ExpandModelProperty_T).
EXPANDABLE = frozenset(
    [
        "author",
        "cardData",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "widgetData",
        "resourceGroup",
        "xetEnabled",
    ]
)
# What a listing carries when nothing is expanded (the Hub's short form).
LISTED = [
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
]


def _param(q: dict[str, list[str]], name: str) -> list[str]:
    """A list parameter, sent as ``name=a&name=b`` (huggingface_hub) or ``name[]=a``."""
    return q.get(name, []) + q.get(f"{name}[]", [])


def _only(d: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: d[k] for k in ["_id", "id", *keys] if k in d}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: HubState

    def log_message(self, *args: Any) -> None:
        pass

    def _send(
        self,
        code: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, obj: Any, code: int = 200) -> None:
        self._send(code, json.dumps(obj).encode(), {"Content-Type": "application/json"})

    def _error(self, code: int, error_code: str, message: str, head: bool = False) -> None:
        self._send(
            code,
            json.dumps({"error": message}).encode(),
            {
                "Content-Type": "application/json",
                "X-Error-Code": error_code,
                "X-Error-Message": message,
            },
            head=head,
        )

    def _bad_expand(self, q: dict[str, list[str]]) -> bool:
        """Refuse an ``expand`` the Hub does not know, with its 400; True when refused."""
        unknown = [e for e in _param(q, "expand") if e not in EXPANDABLE]
        if unknown:
            self._json({"error": f'"expand" must be one of {sorted(EXPANDABLE)}'}, 400)
        return bool(unknown)

    def _authorized(self, repo: Repo) -> bool:
        return not repo.gated or self.headers.get("authorization") == f"Bearer {self.state.token}"

    def do_HEAD(self) -> None:
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, head: bool) -> None:
        st = self.state
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        p = urllib.parse.unquote(url.path)
        with st.lock:
            st.requests.append(f"{self.command} {self.path}")
            st.request_times.append(time.monotonic())
            st.request_auth.append(self.headers.get("authorization"))
            api_fault = next(
                (f for f in st.api_faults if f.times > 0 and p.startswith(f.prefix)), None
            )
            if api_fault is not None:
                api_fault.times -= 1
        if api_fault is not None:
            if api_fault.stall:
                st.closed.wait()  # connected, and not a byte in answer
                return None
            headers = {"Retry-After": api_fault.retry_after} if api_fault.retry_after else {}
            return self._send(api_fault.status, b'{"error": "fault"}', headers, head)
        if p == "/api/models":
            return self._search(q)
        if p.startswith("/api/models/"):
            rest = p[len("/api/models/") :]
            parts = rest.split("/")
            repo_id = "/".join(parts[:2])
            repo = st.repos.get(repo_id)
            if repo is None:
                return self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
            if repo.gated and not self._authorized(repo) and len(parts) > 2:
                return self._error(401, "GatedRepo", "Access to this model is restricted")
            if self._bad_expand(q):
                return None
            info = _model_json(st, repo, "blobs" in q)
            expand = _param(q, "expand")
            return self._json(_only(info, expand) if expand else info)
        if "/resolve/" in p:
            repo_id, _, tail = p.lstrip("/").partition("/resolve/")
            _rev, _, path = tail.partition("/")
            repo = st.repos.get(repo_id)
            if repo is None:
                return self._error(404, "RepoNotFound", "Repository not found", head)
            if path == "README.md":  # a gated repo's card is public, as on the Hub
                return self._send(200, repo.card.encode(), {"Content-Type": "text/markdown"}, head)
            if not self._authorized(repo):
                return self._error(401, "GatedRepo", "Access to this model is restricted", head)
            f = next((f for f in repo.files if f.path == path), None)
            if f is None:
                return self._error(404, "EntryNotFound", f"{path} not found", head)
            sha = st.sha256(f)
            return self._send(
                302,
                b"",
                {
                    # A CDN on another host name, as the Hub's redirects go to.
                    "Location": f"http://localhost:{self.server.server_address[1]}/cdn/{urllib.parse.quote(repo_id, safe='')}/{urllib.parse.quote(path, safe='')}",
                    "X-Repo-Commit": repo.sha,
                    "X-Linked-Size": str(f.size()),
                    "X-Linked-Etag": f'"{sha}"',
                    "ETag": f'"{sha}"',
                },
                head,
            )
        if url.path.startswith("/cdn/"):
            _, _, rest = url.path.partition("/cdn/")  # still quoted: the repo id holds a "/"
            repo_id, _, path = rest.partition("/")
            repo = st.repos.get(urllib.parse.unquote(repo_id))
            f = (
                next((f for f in repo.files if f.path == urllib.parse.unquote(path)), None)
                if repo
                else None
            )
            if f is None or f.listed_size is not None:  # listed-only files have no bytes here
                return self._send(404, b"not found")
            return self._serve_file(f, head)
        return self._send(404, b"not found")

    def _search(self, q: dict[str, list[str]]) -> None:
        if self._bad_expand(q):
            return
        repos = list(self.state.repos.values())
        search = (q.get("search") or [""])[0].lower()
        if search:
            repos = [r for r in repos if search in r.repo_id.lower()]
        for tag in _param(q, "filter"):  # every tag asked for
            repos = [r for r in repos if tag in r.tags]
        sort = (q.get("sort") or ["downloads"])[0]
        key = {
            "downloads": lambda r: r.downloads,
            "likes": lambda r: r.likes,
            "lastModified": lambda r: r.last_modified,
            "last_modified": lambda r: r.last_modified,
        }
        repos.sort(key=key.get(sort, key["downloads"]), reverse=True)
        limit = int((q.get("limit") or ["50"])[0])
        expand = _param(q, "expand")
        self._json(
            [_only(_model_json(self.state, r, False), expand or LISTED) for r in repos[:limit]]
        )

    def _serve_file(self, f: RepoFile, head: bool) -> None:
        size = f.size()
        start, end = 0, size
        rng = self.headers.get("range")
        fault = f.fault
        if not head:
            with self.state.lock:
                self.state.ranges.setdefault(f.path, []).append(rng)
                if (
                    fault.statuses_after_drop
                    and self.state.drops_done.get(f.path, 0) >= fault.drops
                ):
                    fault.statuses += fault.statuses_after_drop
                    fault.statuses_after_drop = []
                status = fault.statuses.pop(0) if fault.statuses else None
            if status is not None:
                extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return self._send(status, b"fault", extra)
        code = 200
        if rng and not fault.ignore_range:
            a, _, b = rng.removeprefix("bytes=").partition("-")
            start = int(a)
            end = int(b) + 1 if b else size
            if start >= size:
                return self._send(416, b"", {"Content-Range": f"bytes */{size}"})
            code = 206
        self.send_response(code)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start))
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if head:
            return
        drop_at = None
        if fault.drop_after is not None:
            with self.state.lock:
                done = self.state.drops_done.get(f.path, 0)
                if done < fault.drops and start < fault.drop_after:
                    self.state.drops_done[f.path] = done + 1
                    drop_at = fault.drop_after
        pos = start
        while pos < end:
            chunk_end = min(end, pos + (256 << 10))
            if drop_at is not None and chunk_end > drop_at:
                chunk_end = drop_at
            if fault.stall_after is not None and pos >= fault.stall_after:
                # A stalled server: the connection stays open and nothing arrives, until the
                # fault is cleared or the server stops.
                with self.state.lock:
                    self.state.stalled_at.setdefault(f.path, time.monotonic())
                while fault.stall_after is not None and not self.state.closed.is_set():
                    time.sleep(0.05)
                return
            data = f.read(pos, chunk_end)
            if fault.corrupt:
                data = bytes(b ^ 0xFF for b in data[:16]) + data[16:]
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return
            with self.state.lock:
                self.state.served[f.path] = self.state.served.get(f.path, 0) + len(data)
            pos = chunk_end
            if fault.throttle:
                time.sleep(fault.throttle)
            if drop_at is not None and pos >= drop_at:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # the connection drops mid-file
                return


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-transfer is what the fault tests do


class HubServer:
    """``with HubServer() as hub:`` serves on a free port; ``hub.url`` is the endpoint."""

    def __init__(self) -> None:
        self.state = HubState()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.closed.set()
        self.httpd.shutdown()
        self.httpd.server_close()


SMOL_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA_REPO = "google/gemma-3-270m-GGUF"  # gated here, as Google's models are on the Hub
GEMMA_FILE = "gemma-3-270m-Q4_K_M.gguf"
QUANTS_REPO = "bartowski/SmolLM2-135M-Instruct-GGUF"
VISION_REPO = "ggml-org/SmolVLM-Test-GGUF"
SMOL_CARD = """---
license: apache-2.0
tags: [gguf]
---
# SmolLM2 135M Instruct

A **small** instruct model. Use it with `llama.cpp`.
"""


def add_standard_repos(state: HubState, smol: Path, gemma: Path, mmproj: bytes) -> None:
    """The repos the tests use: the two real test models, a many-quant repo, a vision repo."""
    GB = 1000**3
    state.add(
        Repo(
            SMOL_REPO,
            [RepoFile(SMOL_FILE, smol)],
            downloads=50_000,
            likes=120,
            last_modified="2026-09-01T10:00:00.000Z",
            parameters=134_515_008,
            architecture="llama",
            card=SMOL_CARD,
        )
    )
    state.add(
        Repo(
            GEMMA_REPO,
            [RepoFile(GEMMA_FILE, gemma)],
            downloads=9_000,
            likes=300,
            last_modified="2026-11-01T10:00:00.000Z",
            gated=True,
            parameters=268_098_176,
            architecture="gemma3",
        )
    )
    state.add(
        Repo(
            QUANTS_REPO,
            [
                RepoFile("SmolLM2-135M-Instruct-Q4_1.gguf", smol),  # real: its header is read
                RepoFile("SmolLM2-135M-Instruct-Q8_0.gguf", listed_size=144_811_200),
                RepoFile("SmolLM2-135M-Instruct-f16.gguf", listed_size=270_895_296),
                RepoFile("SmolLM2-135M-Instruct-Q2_K-00001-of-00002.gguf", listed_size=44_000_000),
                RepoFile("SmolLM2-135M-Instruct-Q2_K-00002-of-00002.gguf", listed_size=44_000_000),
                RepoFile(
                    "huge/SmolLM2-135M-Instruct-Q3_K_L-00001-of-00002.gguf", listed_size=40 * GB
                ),
                RepoFile(
                    "huge/SmolLM2-135M-Instruct-Q3_K_L-00002-of-00002.gguf", listed_size=40 * GB
                ),
                RepoFile("README.md", data=b"# quants"),
            ],
            downloads=70_000,
            likes=40,
            last_modified="2026-06-01T10:00:00.000Z",
            parameters=134_515_008,
            architecture="llama",
        )
    )
    state.add(
        Repo(
            VISION_REPO,
            [
                RepoFile("SmolLM2-135M-Instruct-Q4_1.gguf", smol),
                RepoFile("mmproj-SmolVLM-f16.gguf", data=mmproj),
            ],
            downloads=800,
            likes=2,
            last_modified="2026-10-15T10:00:00.000Z",
            parameters=134_515_008,
            architecture="llama",
        )
    )
