"""What a search asks the Hub for, against a local Hub that answers ``filter`` and ``expand`` as
the real one does: only GGUF repositories, with the properties the results are made of."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

import pytest

from app.core.hub.client import Hub
from app.core.hub.connection import configure
from tests.hub_server import GEMMA_REPO, SMOL_REPO, Repo, RepoFile

PLAIN_REPO = "acme/Popular-Transformers-7B"  # safetensors only: no GGUF file to offer
NO_SIZE_REPO = "acme/Mystery-GGUF"  # no size in its name: only the Hub's gguf metadata has it


@pytest.fixture
def hub(hub_server) -> Hub:
    state = hub_server.state
    state.add(
        Repo(
            PLAIN_REPO,
            [RepoFile("model.safetensors", data=b"weights")],
            downloads=10_000_000,  # the most downloaded of all
            tags=["transformers", "safetensors", "text-generation"],
            parameters=7_000_000_000,
        )
    )
    state.add(
        Repo(
            NO_SIZE_REPO,
            [RepoFile("mystery.Q4_K_M.gguf", listed_size=2_000_000_000)],
            downloads=5,
            last_modified="2026-03-04T05:06:07.000Z",
            parameters=3_210_000_000,
            architecture="llama",
        )
    )
    configure()
    return Hub(None, hub_server.url)


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_local_hub_answers_filter_and_expand_as_the_hub_does(hub, hub_server):
    """The test Hub itself: without this, a search that forgot to ask for GGUF repositories or
    for the properties it reads would pass here and fail on the Hub."""
    base = f"{hub_server.url}/api/models"
    status, listed = _get(base)
    assert status == 200 and isinstance(listed, list)
    assert PLAIN_REPO in {m["id"] for m in listed}
    assert all("gguf" not in m and "lastModified" not in m and "gated" not in m for m in listed)

    _, gguf_only = _get(f"{base}?filter=gguf")
    assert PLAIN_REPO not in {m["id"] for m in gguf_only}
    assert {NO_SIZE_REPO, SMOL_REPO} <= {m["id"] for m in gguf_only}
    _, both = _get(f"{base}?filter=gguf&filter=safetensors")
    assert both == []  # every filter must match

    for query in ("expand=downloads&expand=gguf", "expand[]=downloads&expand[]=gguf"):
        _, expanded = _get(f"{base}?search=mystery&{query}")
        assert expanded == [
            {
                "_id": NO_SIZE_REPO,
                "id": NO_SIZE_REPO,
                "downloads": 5,
                "gguf": {"total": 3_210_000_000, "architecture": "llama", "context_length": 8192},
            }
        ]
    repo_path = urllib.parse.quote(GEMMA_REPO)
    _, info = _get(f"{hub_server.url}/api/models/{repo_path}?expand=gated")
    assert info == {"_id": GEMMA_REPO, "id": GEMMA_REPO, "gated": "manual"}
    status, refused = _get(f"{base}?expand=last_modified")  # not a property the Hub knows
    assert status == 400 and "expand" in refused["error"]


def test_a_search_lists_gguf_repositories_only(hub, hub_server):
    hits = [h.repo for h in hub.search("")]
    assert PLAIN_REPO not in hits  # the most downloaded, but nothing Hearth can run
    assert hits[0] == "bartowski/SmolLM2-135M-Instruct-GGUF" and NO_SIZE_REPO in hits
    assert [h.repo for h in hub.search("popular")] == []


def test_search_results_carry_the_properties_they_are_made_of(hub, hub_server):
    """Size, last update and gating come only from what the search expands."""
    (hit,) = hub.search("mystery")
    assert hit.parameters == 3_210_000_000  # from the Hub's gguf metadata, not the name
    assert hit.updated == "2026-03-04T05:06:07+00:00"
    assert hit.downloads == 5 and not hit.gated
    (gemma,) = hub.search("gemma")
    assert gemma.gated and gemma.likes == 300
    # Filtering by size uses the same figure.
    assert NO_SIZE_REPO in {h.repo for h in hub.search("", min_params=3_000_000_000)}
