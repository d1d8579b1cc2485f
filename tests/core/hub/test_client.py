"""Searching the Hub and reading a repo's quants, headers and fit verdicts from a local Hub."""

from __future__ import annotations

import socket

import pytest

from app.core.fit.placement import Device, FitOptions
from app.core.hub.client import Hub
from app.core.hub.connection import HubError, configure
from app.core.hub.files import HubFile, group_files
from app.core.hub.fit import estimate_groups, hit_verdict
from tests.core.hub.sentences import assert_user_sentence
from tests.hub_server import GEMMA_REPO, QUANTS_REPO, SMOL_FILE, SMOL_REPO, VISION_REPO

GiB = 1 << 30
BIG_CPU = [Device("CPU", "cpu", 24 * GiB, 20 * GiB)]


@pytest.fixture
def hub(hub_server) -> Hub:
    configure()
    return Hub(None, hub_server.url)


def test_search_sorts_and_filters(hub, hub_server):
    by_downloads = [h.repo for h in hub.search("")]
    assert by_downloads == [QUANTS_REPO, SMOL_REPO, GEMMA_REPO, VISION_REPO]
    assert next(h.repo for h in hub.search("", sort="likes")) == GEMMA_REPO
    assert [h.repo for h in hub.search("", sort="recent")] == [
        GEMMA_REPO,
        VISION_REPO,
        SMOL_REPO,
        QUANTS_REPO,
    ]
    smol = hub.search("smol")
    assert {h.repo for h in smol} == {SMOL_REPO, QUANTS_REPO, VISION_REPO}
    hit = next(h for h in smol if h.repo == SMOL_REPO)
    assert (hit.downloads, hit.likes, hit.parameters) == (50_000, 120, 134_515_008)
    assert hit.updated.startswith("2026-09-01")
    small = hub.search("", max_params=200_000_000)
    assert GEMMA_REPO not in {h.repo for h in small} and len(small) == 3
    assert [h.repo for h in hub.search("", min_params=200_000_000)] == [GEMMA_REPO]
    # huggingface_hub's own side requests (telemetry, its agent registry) never happen.
    assert all(
        r.split()[1].startswith(("/api/models", "/cdn/")) or "/resolve/" in r
        for r in hub_server.state.requests
    )


def test_search_results_say_whether_they_fit(hub):
    opts = FitOptions(n_ctx=4096)
    verdicts = {
        h.repo: hit_verdict(h.repo, h.parameters, BIG_CPU, set(), opts) for h in hub.search("")
    }
    assert set(verdicts.values()) == {"cpu_only"}
    tiny = [Device("CPU", "cpu", 4 * GiB, 3 * GiB)]
    assert (
        hit_verdict("meta-llama/Llama-3.1-70B-Instruct-GGUF", 70_600_000_000, tiny, set(), opts)
        == "no_fit"
    )
    assert hit_verdict("x/unknown-size", None, tiny, set(), opts) is None


def test_quants_are_grouped_with_exact_sizes(hub):
    files = hub.repo(QUANTS_REPO)
    groups = {g.quant: g for g in files.groups}
    assert set(groups) == {"Q2_K", "Q4_1", "Q8_0", "F16", "Q3_K_L"}
    assert [f.path for f in groups["Q2_K"].files] == [
        "SmolLM2-135M-Instruct-Q2_K-00001-of-00002.gguf",
        "SmolLM2-135M-Instruct-Q2_K-00002-of-00002.gguf",
    ]
    assert groups["Q2_K"].size_bytes == 88_000_000
    assert groups["Q4_1"].size_bytes == 98_362_432
    assert groups["Q3_K_L"].size_bytes == 80 * 1000**3
    assert [g.size_bytes for g in files.groups] == sorted(g.size_bytes for g in files.groups)
    assert all(len(f.sha256 or "") == 64 for g in files.groups for f in g.files)
    assert files.parameters == 134_515_008 and not files.gated and files.projectors == []


def test_grouping_of_real_hub_layouts():
    names = [
        "Qwen2.5-72B-Instruct-Q4_K_M/Qwen2.5-72B-Instruct-Q4_K_M-00001-of-00002.gguf",
        "Qwen2.5-72B-Instruct-Q4_K_M/Qwen2.5-72B-Instruct-Q4_K_M-00002-of-00002.gguf",
        "Qwen2.5-72B-Instruct-Q2_K.gguf",
        "Q8_0/Qwen2.5-72B-Instruct-00001-of-00003.gguf",
        "Q8_0/Qwen2.5-72B-Instruct-00002-of-00003.gguf",
        "Q8_0/Qwen2.5-72B-Instruct-00003-of-00003.gguf",
        "mmproj-Qwen2.5-72B-f16.gguf",
        "README.md",
        "imatrix.dat",
        # ggml-org/Qwen3.6-27B-GGUF and bartowski's repos: a draft head beside each quant, and
        # the importance matrix as a GGUF file; neither is a quant of the model
        "mtp-Qwen2.5-72B-Instruct-Q8_0.gguf",
        "dflash-Qwen2.5-72B-Instruct-Q8_0.gguf",
        "Qwen2.5-72B-Instruct-imatrix.gguf",
    ]
    groups, projectors = group_files([HubFile(n, 10, None) for n in names])
    assert {g.quant: len(g.files) for g in groups} == {"Q4_K_M": 2, "Q2_K": 1, "Q8_0": 3}
    assert [p.path for p in projectors] == ["mmproj-Qwen2.5-72B-f16.gguf"]


def test_a_remote_header_is_read_with_range_requests(hub, hub_server):
    files = hub.repo(SMOL_REPO)
    f = files.groups[0].files[0]
    header = hub.read_header(SMOL_REPO, f, files.revision)
    assert header.architecture == "llama" and len(header.tensors) == 272
    served = hub_server.state.served[SMOL_FILE]
    assert served < 8 << 20 and served < f.size / 10  # the header, not the model
    assert all(r and r.startswith("bytes=") for r in hub_server.state.ranges[SMOL_FILE])


def test_verdicts_and_the_recommended_quant(hub):
    opts = FitOptions(n_ctx=4096)
    files = hub.repo(QUANTS_REPO)
    groups = {g.quant: g for g in estimate_groups(hub, files, BIG_CPU, set(), opts)}
    assert groups["Q3_K_L"].verdict == "no_fit"
    assert {groups[q].verdict for q in ("Q2_K", "Q4_1", "Q8_0", "F16")} == {"cpu_only"}
    # Plenty of room: the best quant up to Q8_0 (F16 costs speed for nothing you can see).
    assert [q for q, g in groups.items() if g.recommended] == ["Q8_0"]
    assert "shape read from the header" in groups["Q8_0"].fit.assumptions[0]

    # A GPU with room for Q4_1 but not Q8_0: "fits" means fully on the GPU, so Q4_1 is the one.
    huge = [*BIG_CPU, Device("GPU", "gpu", 64 * GiB, 64 * GiB, "CUDA")]
    groups = {g.quant: g for g in estimate_groups(hub, files, huge, set(), opts)}
    on_gpu = {q: g.fit.devices[1].total_bytes for q, g in groups.items()}
    assert on_gpu["Q2_K"] < on_gpu["Q4_1"] < on_gpu["Q8_0"] < on_gpu["F16"]
    room = (on_gpu["Q4_1"] + on_gpu["Q8_0"]) // 2 + 256 * (1 << 20)  # plus the kept margin
    gpu = [*BIG_CPU, Device("GPU", "gpu", room, room, "CUDA")]
    groups = {g.quant: g for g in estimate_groups(hub, files, gpu, set(), opts)}
    assert groups["Q4_1"].verdict == "gpu_full" and groups["Q8_0"].verdict == "gpu_partial"
    assert [q for q, g in groups.items() if g.recommended] == ["Q4_1"]

    # Nothing fits fully: nothing is recommended.
    tiny = [Device("CPU", "cpu", 1 * GiB, 256 << 20)]
    groups = estimate_groups(hub, files, tiny, set(), opts)
    assert {g.verdict for g in groups} == {"no_fit"} and not any(g.recommended for g in groups)


def test_a_gated_repo_lists_files_and_falls_back_to_the_name(hub):
    files = hub.repo(GEMMA_REPO)
    assert files.gated
    (group,) = estimate_groups(hub, files, BIG_CPU, set(), FitOptions())
    assert group.verdict == "cpu_only" and group.recommended
    assert group.fit.grade == "name"  # the header needs the token; the name still serves


def test_vision_projectors_come_with_the_model(hub, tmp_path):
    files = hub.repo(VISION_REPO)
    assert [p.path for p in files.projectors] == ["mmproj-SmolVLM-f16.gguf"]
    jobs = hub.jobs_for(files, files.groups[0], tmp_path)
    assert [j.dest.name for j in jobs] == [
        "SmolLM2-135M-Instruct-Q4_1.gguf",
        "mmproj-SmolVLM-f16.gguf",
    ]
    assert len(hub.jobs_for(files, files.groups[0], tmp_path, with_projector=False)) == 1


def test_model_card(hub):
    card = hub.model_card(SMOL_REPO)
    assert "# SmolLM2 135M Instruct" in card


def test_unknown_repo_and_offline_hub(hub):
    with pytest.raises(HubError) as err:
        hub.repo("nobody/nothing-GGUF")
    assert err.value.code == "not_found"
    assert_user_sentence(str(err.value))
    assert "nobody/nothing-GGUF was not found" in str(err.value)
    assert "Check its name" in str(err.value)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    offline = Hub(None, f"http://127.0.0.1:{port}")
    with pytest.raises(HubError) as err:
        offline.search("llama")
    assert err.value.code == "offline" and "cannot be reached" in str(err.value)
    assert_user_sentence(str(err.value))
    assert str(err.value).startswith(
        "The Hugging Face Hub cannot be reached: the connection was refused. Check the internet "
        "connection"
    )


def test_the_hub_s_failures_are_sentences_that_say_what_to_do(hub, hub_server):
    from tests.hub_server import ApiFault

    faults = hub_server.state.api_faults
    faults.append(ApiFault("/api/models", 429, times=99, retry_after="0"))
    with pytest.raises(HubError) as err:
        hub.repo(SMOL_REPO)
    assert err.value.code == "unavailable"
    assert_user_sentence(str(err.value))
    assert "too many requests" in str(err.value) and "Wait a few minutes" in str(err.value)
    faults[:] = [ApiFault("/api/models", 503, times=99, retry_after="0")]
    with pytest.raises(HubError) as err:
        hub.repo(SMOL_REPO)
    assert_user_sentence(str(err.value))
    assert "server error (503)" in str(err.value) and "Try again" in str(err.value)
    faults.clear()
    for bad in ("../x", "org/x.git"):
        with pytest.raises(HubError) as err:
            hub.repo(bad)
        assert_user_sentence(str(err.value))


def test_hf_hub_offline_switches_hub_access_off(hub, hub_server, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError) as err:
        hub.search("llama")
    assert err.value.code == "offline" and "HF_HUB_OFFLINE" in str(err.value)
    assert hub_server.state.requests == []  # nothing was sent


def test_the_proxy_setting_is_used(hub_server):
    """With a proxy set, every request goes through it (here the local server acts as the proxy
    for a Hub address that does not resolve)."""
    configure(proxy=hub_server.url)
    try:
        hub = Hub(None, "http://hub.invalid")
        assert [h.repo for h in hub.search("gemma")] == [GEMMA_REPO]
        files = hub.repo(SMOL_REPO)
        header = hub.read_header(SMOL_REPO, files.groups[0].files[0], files.revision)
        assert header.architecture == "llama"
        targets = [r.split()[1] for r in hub_server.state.requests]
        assert targets and all(
            t.startswith(("http://hub.invalid/", "http://localhost:")) for t in targets
        )
    finally:
        configure()


@pytest.mark.parametrize("repo", ["../x", "org/na me", "org/x--y", "org/x..y", "a/b/c", ""])
def test_an_invalid_repo_id_is_refused_in_one_line_before_going_online(hub, hub_server, repo):
    with pytest.raises(HubError) as err:
        hub.repo(repo)
    assert err.value.code == "invalid"
    assert "is not a valid Hub repository" in str(err.value) and "\n" not in str(err.value)
    assert hub_server.state.requests == []


def test_server_errors_on_the_api_are_retried(hub, hub_server):
    from tests.hub_server import ApiFault

    hub_server.state.api_faults.append(ApiFault(f"/api/models/{SMOL_REPO}", 500))
    assert hub.repo(SMOL_REPO).groups[0].files[0].path == SMOL_FILE
    hub_server.state.api_faults.append(ApiFault(f"/api/models/{SMOL_REPO}", 429, 1, "1"))
    assert hub.repo(SMOL_REPO).groups[0].files[0].path == SMOL_FILE

    hub_server.state.api_faults.append(ApiFault(f"/api/models/{SMOL_REPO}", 503, times=99))
    with pytest.raises(HubError) as err:
        hub.repo(SMOL_REPO)
    assert err.value.code == "unavailable"
    assert "503" in str(err.value) and "\n" not in str(err.value)


def test_a_stall_on_the_first_request_is_tried_again(hub_server):
    from tests.hub_server import ApiFault

    configure()
    hub = Hub(None, hub_server.url, timeout=1.0)
    hub_server.state.api_faults.append(ApiFault("/api/", stall=True))
    assert SMOL_REPO in {h.repo for h in hub.search("smol")}
    assert len(hub_server.state.requests) >= 3  # the stalled probe, the probe again, the search
