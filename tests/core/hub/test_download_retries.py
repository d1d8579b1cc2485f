"""A download that meets failures: retried on the back-off schedule the README gives, given up
after the last try with its bytes kept, and a silent server noticed within half a second."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from app.core.hub import download
from app.core.hub.partial import DownloadError, partial_bytes
from app.core.library.starter import sha256_file as sha256
from tests.core.hub.sentences import assert_user_sentence
from tests.core.hub.test_download import fault, smol_job
from tests.hub_server import SMOL_FILE

# README: "retried with back-off (1, 2, 4, 8, 15, 30 s…)"; eight retries, then it gives up.
SCHEDULE = (1, 2, 4, 8, 15, 30, 30, 30)
SCALE = 0.05  # the waits run 20 times faster here: the whole schedule in 6 s
SILENCE_NOTICED = 0.5  # README: "A server that goes silent is noticed within half a second"
SLACK = 0.25  # a request on this machine, under load


def _cdn_times(hub_server) -> list[float]:
    """When each request for the file's bytes reached the server (the redirects left out)."""
    st = hub_server.state
    return [t for line, t in zip(st.requests, st.request_times, strict=True) if "/cdn/" in line]


def test_failures_are_retried_on_the_schedule_then_given_up_with_the_bytes_kept(
    hub_server, smollm_path, tmp_path, monkeypatch
):
    real_sleep = download._sleep
    monkeypatch.setattr(download, "_sleep", lambda seconds, stop: real_sleep(seconds * SCALE, stop))
    f = fault(hub_server)
    f.drop_after, f.drops = 1 << 20, 1  # a dropped connection after the first MiB...
    f.statuses_after_drop = [503, 429, 502, 500, 503, 429, 504, 503]  # ...then errors only
    hub, job = smol_job(hub_server, tmp_path)
    with pytest.raises(DownloadError) as err:
        hub.download(job)  # the product's own schedule
    assert err.value.code == "network"
    assert_user_sentence(str(err.value))
    assert "The Hub kept answering 503 (a server error)" in str(err.value)
    assert "are kept: try again in a few minutes to resume from there" in str(err.value)
    assert partial_bytes(job) == 1 << 20 and job.meta.exists()  # kept for a later resume

    times = _cdn_times(hub_server)
    assert len(times) == len(SCHEDULE) + 1  # the first try and eight more
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for i, (gap, wait) in enumerate(zip(gaps, SCHEDULE, strict=True)):
        want = wait * SCALE
        assert want <= gap < want + SLACK, f"wait {i + 1}: {gap:.3f} s, the schedule says {want}"

    # Later, the Hub answers again: the download goes on from the byte kept.
    f.statuses.clear()
    path = hub.download(job)
    assert sha256(path) == sha256(smollm_path)
    assert hub_server.state.ranges[SMOL_FILE][-1] == f"bytes={1 << 20}-"
    assert hub_server.state.served[SMOL_FILE] == job.size  # not a byte fetched twice


def test_a_silent_server_is_noticed_within_half_a_second(hub_server, tmp_path):
    """While the server keeps the connection and sends nothing, the download looks at the stop
    flag at least every half second, and a pause asked for then takes effect as fast."""
    fault(hub_server).stall_after = 8 << 20
    hub, job = smol_job(hub_server, tmp_path)
    looks: list[float] = []
    flag: list[str] = []
    outcome: list[DownloadError] = []

    def stop() -> str | None:
        looks.append(time.monotonic())
        return flag[0] if flag else None

    def run() -> None:
        try:
            hub.download(job, None, stop)
        except DownloadError as exc:
            outcome.append(exc)

    t = threading.Thread(target=run)
    t.start()
    deadline = time.monotonic() + 30
    while SMOL_FILE not in hub_server.state.stalled_at and time.monotonic() < deadline:
        time.sleep(0.02)
    stalled = hub_server.state.stalled_at[SMOL_FILE]
    time.sleep(2.5)  # several rounds of silence: asked again, silent again
    asked = time.monotonic()
    flag.append("pause")
    t.join(5)
    took = time.monotonic() - asked
    assert not t.is_alive() and outcome and outcome[0].code == "paused"
    assert took < SILENCE_NOTICED + SLACK, f"the pause took {took:.2f} s"

    during = [stalled] + [x for x in looks if stalled < x < asked] + [asked]
    gaps = [b - a for a, b in itertools.pairwise(during)]
    assert len(gaps) >= 4  # the silence was looked at again and again, not waited out
    assert max(gaps) < SILENCE_NOTICED + SLACK, f"silent for {max(gaps):.2f} s unnoticed"
    assert partial_bytes(job) == 8 << 20 and job.meta.exists()
