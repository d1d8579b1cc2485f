"""How Hearth talks to the Hub: huggingface_hub set up, repo ids checked, failures in one line.

``configure`` prepares huggingface_hub before any request: telemetry off, no implicit token, time
limits, the proxy. A repo id is checked before any request (``check_repo_id``). A failure of a
request becomes the one-line ``HubError`` the user reads (``as_hub_error``), and ``transient``
says which are worth another try (a server error, a 429, a silent server).
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

from app.core.errors import CodedError
from app.core.hub.download import retry_after

# The Hub's rule for a model's id (huggingface_hub's validate_repo_id): publisher/name, each of
# letters, digits, "-", "_" and "."; neither starts or ends with "-" or "."; no "--" or "..".
_REPO_PART = r"(?![-.])[A-Za-z0-9_.-]{1,96}(?<![-.])"
_REPO_ID = re.compile(rf"{_REPO_PART}/{_REPO_PART}")
API_BACKOFF = (1.0, 3.0)  # pauses before the second and third try of a request to the API
API_RETRY_AFTER_CAP = 20.0  # the longest a Retry-After from the API is waited for


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


def transient(exc: BaseException) -> tuple[str, float | None] | None:
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


def as_hub_error(exc: Exception, repo: str) -> HubError | None:
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


def default_endpoint() -> str:
    """``HF_ENDPOINT`` from the environment (a mirror), else the Hub itself."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
