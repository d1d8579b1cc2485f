"""How Hearth talks to the Hub: huggingface_hub set up, repo ids checked, failures in one line.

``configure`` prepares huggingface_hub before any request: telemetry off, no implicit token, time
limits, the proxy. A repo id is checked before any request (``check_repo_id``). A failure of a
request becomes the one-line ``HubError`` the user reads (``as_hub_error``): sentences that say
what happened and what to do, never an exception's class name. ``transient`` says which are worth
another try (a server error, a 429, a silent server).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from typing import Any

from app.core.errors import CodedError
from app.core.hub.download import connection_problem, retry_after

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
            f"The name {shown!r} is not a valid Hub repository id: write it as publisher/name "
            "(letters, digits, '-', '_' and '.', no '--' or '..', up to 96 characters each).",
        )
    if repo.endswith(".git"):
        raise HubError(
            "invalid",
            f"The name {repo!r} is not a valid Hub repository id: leave out the .git at its end.",
        )
    return repo


OFFLINE_TAIL = "everything else in Hearth works offline."


def answered_error(status: int | None, times: int = 1) -> HubError:
    """A 429 or server error that persisted (``times`` tries), as the sentence the user reads."""
    tries = f" {times} times in a row" if times > 1 else ""
    if status == 429:
        return HubError(
            "unavailable",
            f"The Hugging Face Hub is limiting requests: it answered 429 (too many requests)"
            f"{tries}. Wait a few minutes, then try again (a Hugging Face token in Hub settings "
            f"raises the limit); {OFFLINE_TAIL}",
        )
    return HubError(
        "unavailable",
        f"The Hugging Face Hub is having trouble: it answered with a server error ({status})"
        f"{tries}. Try again in a few minutes; {OFFLINE_TAIL}",
    )


def stopped_answering(times: int) -> HubError:
    tries = f" ({times} tries)" if times > 1 else ""
    return HubError(
        "offline",
        f"The Hugging Face Hub stopped answering{tries}. Check the connection and try again in a "
        f"few minutes; {OFFLINE_TAIL}",
    )


def transient(exc: BaseException) -> tuple[int | None, float | None] | None:
    """Whether ``exc`` is worth another try: the status the Hub answered (None for a server
    that stopped answering) and the wait it asked for; None if it is not worth it (a refused
    connection is not: the Hub is out of reach, say so at once)."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int) and (status == 429 or status >= 500):
            headers = getattr(response, "headers", None) or {}
            wait = retry_after(headers.get("retry-after"), API_RETRY_AFTER_CAP)
            return status, wait
        return None
    if isinstance(exc, httpx2.ConnectTimeout):
        return None
    if isinstance(exc, (httpx2.TimeoutException, httpx2.RemoteProtocolError, httpx2.ReadError)):
        return None, None
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
            f"The model {repo} is gated: accept its terms on huggingface.co, then add a Hugging "
            "Face token with access in Hub settings.",
        )
    if isinstance(exc, (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError)):
        return HubError(
            "not_found",
            f"The repository {repo} was not found on the Hub (or it is private). Check its name, "
            "or search again: it may have been renamed or removed.",
        )
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            return HubError(
                "gated",
                f"The model {repo} needs a Hugging Face token with access to it: accept its "
                "terms on huggingface.co, then add the token in Hub settings.",
            )
        if isinstance(status, int) and (status == 429 or status >= 500):
            return answered_error(status)
        return HubError(
            "http",
            f"The Hugging Face Hub answered with an error ({status or 'no status'}). Try again "
            "later; if it goes on, check the Hub address in Hub settings.",
        )
    if isinstance(exc, HFValidationError):  # what check_repo_id let through
        return HubError(
            "invalid",
            f"The name {repo!r} is not a valid Hub repository id: write it as publisher/name.",
        )
    if isinstance(exc, OfflineModeIsEnabled):
        return HubError(
            "offline",
            "Hub access is switched off because HF_HUB_OFFLINE is set. Unset it and start "
            "Hearth again to search and download models.",
        )
    # Connection refused, DNS failure, timeout.
    if type(exc).__module__.startswith(("httpx", "httpcore")) or isinstance(exc, OSError):
        return HubError(
            "offline",
            f"The Hugging Face Hub cannot be reached: {connection_problem(exc)}. Check the internet "
            f"connection (and the proxy or Hub address in Hub settings), then try again; "
            f"{OFFLINE_TAIL}",
        )
    if isinstance(exc, json.JSONDecodeError):  # not the Hub's JSON (a wrong address)
        return HubError(
            "http",
            "The Hugging Face Hub sent an answer Hearth could not read. Try again later; if it "
            "goes on, check the Hub address in Hub settings.",
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
