"""Resuming a paused download from a server that answers a Range request with the whole file."""

from __future__ import annotations

import pytest

from app.core.hub.partial import DownloadError, partial_bytes
from app.core.library.starter import sha256_file as sha256
from tests.core.hub.test_download import FAST, fault, smol_job
from tests.hub_server import SMOL_FILE

PAUSE_AT = 20 << 20


def pause_partway(hub, job) -> int:
    """Download until ``PAUSE_AT`` bytes have arrived, then pause; returns the bytes kept."""
    flag: list[str] = []

    def progress(done: int, _total: int) -> None:
        if done >= PAUSE_AT:
            flag.append("pause")

    with pytest.raises(DownloadError) as err:
        hub.download(job, progress, lambda: flag[0] if flag else None)
    assert err.value.code == "paused"
    kept = partial_bytes(job)
    assert PAUSE_AT <= kept < job.size and job.meta.exists()
    return kept


def test_a_paused_download_resumed_from_a_server_that_ignores_range(
    hub_server, smollm_path, tmp_path
):
    hub, job = smol_job(hub_server, tmp_path)
    kept = pause_partway(hub, job)
    fault(hub_server).ignore_range = True  # the answer is 200 and the file from byte 0
    served = hub_server.state.served[SMOL_FILE]
    path = hub.download(job, backoff=FAST)
    assert path.stat().st_size == job.size
    assert sha256(path) == sha256(smollm_path) == job.sha256
    assert not job.part.exists() and not job.meta.exists()
    assert hub_server.state.ranges[SMOL_FILE][-1] == f"bytes={kept}-"
    assert hub_server.state.served[SMOL_FILE] - served == job.size  # the whole file, once


def test_a_resume_told_to_wait_then_answered_with_the_whole_file(hub_server, smollm_path, tmp_path):
    """A 429 with Retry-After first, then a 200 that ignores the Range: still one whole file."""
    hub, job = smol_job(hub_server, tmp_path)
    kept = pause_partway(hub, job)
    f = fault(hub_server)
    f.statuses, f.retry_after, f.ignore_range = [429], "1", True
    path = hub.download(job, backoff=FAST)
    assert sha256(path) == sha256(smollm_path) == job.sha256
    assert hub_server.state.ranges[SMOL_FILE][-2:] == [f"bytes={kept}-", f"bytes={kept}-"]
    gets = [
        t
        for r, t in zip(hub_server.state.requests, hub_server.state.request_times, strict=True)
        if r.startswith("GET /cdn/")
    ]
    assert gets[-1] - gets[-2] >= 0.9  # the Retry-After, not the short back-off
