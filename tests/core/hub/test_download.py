"""Downloads from a local Hub: verified, resumed from the byte reached, and never half-there."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.core.hub.client import Hub
from app.core.hub.connection import configure
from app.core.hub.partial import DownloadError, FileJob, partial_bytes
from app.core.library.index import open_library
from app.core.library.starter import sha256_file as sha256
from tests.core.hub.sentences import assert_user_sentence
from tests.hub_server import GEMMA_REPO, SMOL_FILE, SMOL_REPO, Fault

FAST = (0.05,) * 8  # back-off for tests: retry at once


def smol_job(hub_server, folder: Path, token: str | None = None) -> tuple[Hub, FileJob]:
    configure()
    hub = Hub(token, hub_server.url)
    files = hub.repo(SMOL_REPO)
    return hub, hub.jobs_for(files, files.groups[0], folder)[0]


def fault(hub_server, repo: str = SMOL_REPO, path: str = SMOL_FILE) -> Fault:
    return next(f for f in hub_server.state.repos[repo].files if f.path == path).fault


def test_download_lands_verified_under_publisher_and_repo(hub_server, smollm_path, tmp_path):
    hub, job = smol_job(hub_server, tmp_path)
    seen = []
    path = hub.download(job, lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "HuggingFaceTB" / "SmolLM2-135M-Instruct-GGUF" / SMOL_FILE
    assert sha256(path) == sha256(smollm_path) == job.sha256
    assert not job.part.exists() and not job.meta.exists()
    assert seen[-1] == (job.size, job.size) and all(
        a <= b for (a, _), (b, _) in itertools.pairwise(seen)
    )
    # A second run finds the file complete and fetches nothing.
    before = len(hub_server.state.ranges[SMOL_FILE])
    assert hub.download(job) == path
    assert len(hub_server.state.ranges[SMOL_FILE]) == before


def test_dropped_connection_resumes_from_the_byte_reached(hub_server, smollm_path, tmp_path):
    fault(hub_server).drop_after, fault(hub_server).drops = 30 << 20, 1
    hub, job = smol_job(hub_server, tmp_path)
    path = hub.download(job, backoff=FAST)
    assert sha256(path) == sha256(smollm_path)
    ranges = hub_server.state.ranges[SMOL_FILE]
    assert ranges == [None, f"bytes={30 << 20}-"]  # once from zero, then from where it broke
    assert hub_server.state.served[SMOL_FILE] == job.size  # not a byte fetched twice


def test_wrong_bytes_are_rejected_and_nothing_joins_the_library(hub_server, tmp_path):
    fault(hub_server).corrupt = True
    models = tmp_path / "models"
    hub, job = smol_job(hub_server, models)
    with pytest.raises(DownloadError) as err:
        hub.download(job)
    assert err.value.code == "hash_mismatch"
    assert "does not match the Hub's checksum" in str(err.value) and "deleted" in str(err.value)
    assert not job.dest.exists() and not job.part.exists() and not job.meta.exists()
    lib = open_library(models)
    lib.scan()
    assert lib.entries() == []


def test_too_little_space_stops_before_the_first_byte(hub_server, tmp_path):
    hub, job = smol_job(hub_server, tmp_path)
    with pytest.raises(DownloadError) as err:
        hub.download(job, free_space=lambda p: 50_000_000)
    assert err.value.code == "disk_full"
    assert "not enough disk space" in str(err.value) and "50.0 MB are free" in str(err.value)
    assert SMOL_FILE not in hub_server.state.ranges and partial_bytes(job) == 0


def test_disk_filling_up_on_the_way_keeps_the_partial_file(hub_server, smollm_path, tmp_path):
    hub, job = smol_job(hub_server, tmp_path)
    calls = []

    def shrinking(_path: Path) -> int:  # plenty at the start, nothing after the first 64 MiB
        calls.append(1)
        return 10**12 if len(calls) == 1 else 1000

    with pytest.raises(DownloadError) as err:
        hub.download(job, free_space=shrinking)
    assert err.value.code == "disk_full" and "is full" in str(err.value)
    kept = partial_bytes(job)
    assert kept >= 64 << 20 and not job.dest.exists()
    path = hub.download(job)  # room again: resumes
    assert sha256(path) == sha256(smollm_path)
    assert hub_server.state.ranges[SMOL_FILE][-1] == f"bytes={kept}-"


def test_a_real_write_failure_is_disk_full_and_resumable(hub_server, smollm_path, tmp_path):
    """The file system refuses a write (a file-size limit gives EFBIG, as a full disk gives
    ENOSPC): the download stops with the disk message and keeps what it wrote."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from app.core.hub.partial import DownloadError
        from app.core.hub.client import Hub
        from app.core.hub.connection import configure
        configure()
        hub = Hub(None, {hub_server.url!r})
        files = hub.repo({SMOL_REPO!r})
        job = hub.jobs_for(files, files.groups[0], Path({str(tmp_path)!r}))[0]
        try:
            hub.download(job)
        except DownloadError as exc:
            print(exc.code)
            print(exc)
        """
    )

    def limit() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40 << 20, 40 << 20))

    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        env=dict(os.environ),
    )
    code, message = ([*proc.stdout.splitlines(), "", ""])[:2]
    assert code == "disk_full", proc.stdout + proc.stderr
    assert "are kept" in message and "try again to resume from there" in message
    hub, job = smol_job(hub_server, tmp_path)
    assert partial_bytes(job) == 40 << 20
    assert sha256(hub.download(job)) == sha256(smollm_path)
    assert hub_server.state.ranges[SMOL_FILE][-1] == f"bytes={40 << 20}-"


def test_a_gated_repo_asks_for_a_token(hub_server, gemma_path, tmp_path):
    configure()
    hub = Hub(None, hub_server.url)
    files = hub.repo(GEMMA_REPO)
    assert files.gated
    job = hub.jobs_for(files, files.groups[0], tmp_path)[0]
    with pytest.raises(DownloadError) as err:
        hub.download(job)
    assert err.value.code == "gated" and "token" in str(err.value)
    assert not job.dest.exists()
    wrong = Hub("hf_wrong", hub_server.url)
    with pytest.raises(DownloadError):
        wrong.download(job)
    hub = Hub(hub_server.state.token, hub_server.url)
    assert sha256(hub.download(job)) == sha256(gemma_path)


def test_a_file_gone_from_the_repo_is_not_found(hub_server, tmp_path):
    hub, job = smol_job(hub_server, tmp_path)
    job.url = job.url.replace(SMOL_FILE, "SmolLM2-135M-Instruct.Q9_9.gguf")
    with pytest.raises(DownloadError) as err:
        hub.download(job)
    assert err.value.code == "not_found"
    assert not job.part.exists() or partial_bytes(job) == 0


@pytest.mark.parametrize("how", ["pause", "cancel"])
def test_stop_is_honoured_within_a_second_when_the_server_stalls(hub_server, tmp_path, how):
    fault(hub_server).stall_after = 8 << 20
    hub, job = smol_job(hub_server, tmp_path)
    reached = threading.Event()
    flag: list[str] = []
    outcome: list[DownloadError] = []

    def progress(done: int, _total: int) -> None:
        if done >= 8 << 20:
            reached.set()

    def run() -> None:
        try:
            hub.download(job, progress, lambda: flag[0] if flag else None)
        except DownloadError as exc:
            outcome.append(exc)

    t = threading.Thread(target=run)
    t.start()
    assert reached.wait(30)
    time.sleep(1.5)  # the server has said nothing for a while
    asked = time.monotonic()
    flag.append(how)
    t.join(5)
    took = time.monotonic() - asked
    assert not t.is_alive() and took < 1.0, f"stopping took {took:.2f} s"
    assert outcome[0].code == ("paused" if how == "pause" else "cancelled")
    if how == "pause":
        assert partial_bytes(job) == 8 << 20 and job.meta.exists()
    else:
        assert not job.part.exists() and not job.meta.exists()


def test_a_second_downloader_of_the_same_file_is_refused(hub_server, smollm_path, tmp_path):
    """One writer per file: while a download runs (here held up by a stalled server), another
    download of the same file stops at once with the reason, and touches nothing."""
    fault(hub_server).stall_after = 8 << 20
    hub, job = smol_job(hub_server, tmp_path)
    reached = threading.Event()
    first: list[object] = []

    def run() -> None:
        try:
            first.append(hub.download(job, lambda d, _t: d >= 8 << 20 and reached.set()))
        except DownloadError as exc:
            first.append(exc)

    t = threading.Thread(target=run)
    t.start()
    assert reached.wait(30)
    for _ in range(100):  # the first one's bytes on disk once the server falls silent
        if partial_bytes(job) == 8 << 20:
            break
        time.sleep(0.05)
    gets = len(hub_server.state.ranges[SMOL_FILE])
    files = hub.repo(SMOL_REPO)
    second = hub.jobs_for(files, files.groups[0], tmp_path)[0]
    with pytest.raises(DownloadError) as err:
        hub.download(second, backoff=FAST)
    assert err.value.code == "busy"
    assert "already being downloaded by another Hearth" in str(err.value)
    assert partial_bytes(job) == 8 << 20  # the second one wrote nothing
    assert len(hub_server.state.ranges[SMOL_FILE]) <= gets + 1  # the first one's retries only
    fault(hub_server).stall_after = None
    t.join(60)
    assert first == [job.dest] and sha256(job.dest) == sha256(smollm_path)
    assert not job.lock.exists() and not job.part.exists() and not job.meta.exists()
    assert hub.download(second) == job.dest  # once it is done, asking again finds it there


def test_bytes_written_by_someone_else_never_reach_the_library(hub_server, tmp_path):
    """What is verified is the file on disk: bytes another program appends to the partial
    file (here just as the last byte arrived) are caught before the rename."""
    hub, job = smol_job(hub_server, tmp_path)

    def meddle(done: int, total: int) -> None:
        if done == total:
            with job.part.open("ab") as f:
                f.write(b"\0" * (4 << 20))

    with pytest.raises(DownloadError) as err:
        hub.download(job, meddle)
    assert err.value.code == "hash_mismatch" and "deleted" in str(err.value)
    assert not job.dest.exists() and not job.part.exists() and not job.meta.exists()


def test_a_server_that_ignores_range_starts_again_from_zero(hub_server, smollm_path, tmp_path):
    f = fault(hub_server)
    f.drop_after, f.drops, f.ignore_range = 30 << 20, 1, True
    hub, job = smol_job(hub_server, tmp_path)
    path = hub.download(job, backoff=FAST)
    assert sha256(path) == sha256(smollm_path)
    assert hub_server.state.ranges[SMOL_FILE] == [None, f"bytes={30 << 20}-"]
    assert hub_server.state.served[SMOL_FILE] == (30 << 20) + job.size  # all of it, once more


def test_too_many_requests_waits_as_long_as_the_server_asks(hub_server, smollm_path, tmp_path):
    f = fault(hub_server)
    f.statuses, f.retry_after = [429], "2"
    hub, job = smol_job(hub_server, tmp_path)
    path = hub.download(job, backoff=FAST)
    assert sha256(path) == sha256(smollm_path)
    gets = [
        t
        for r, t in zip(hub_server.state.requests, hub_server.state.request_times, strict=True)
        if r.startswith("GET /cdn/")
    ]
    assert len(gets) == 2 and gets[1] - gets[0] >= 1.9  # Retry-After: 2, not the 0.05 s back-off


def test_server_errors_on_the_file_are_retried(hub_server, smollm_path, tmp_path):
    fault(hub_server).statuses = [503, 500, 429]
    hub, job = smol_job(hub_server, tmp_path)
    assert sha256(hub.download(job, backoff=FAST)) == sha256(smollm_path)


def test_retries_are_logged_without_the_token(hub_server, smollm_path, tmp_path, caplog):
    fault(hub_server).statuses = [503, 500]
    hub, job = smol_job(hub_server, tmp_path, token=hub_server.state.token)
    with caplog.at_level("INFO", logger="app.core.hub"):
        hub.download(job, backoff=FAST)
    retries = [r.getMessage() for r in caplog.records if "try " in r.getMessage()]
    assert len(retries) == 2
    assert "the server answered 503 after" in retries[0] and "try 1 of 9" in retries[0]
    assert "the server answered 500" in retries[1] and "try 2 of 9" in retries[1]
    assert hub_server.state.token not in caplog.text and "authorization" not in caplog.text.lower()


def test_retry_after_in_seconds_or_as_a_date_within_a_cap():
    from email.utils import formatdate

    from app.core.hub.download import retry_after

    now = 1_800_000_000.0
    assert retry_after("7", 60, now) == 7
    assert retry_after("3600", 60, now) == 60  # capped
    assert retry_after(formatdate(now + 20, usegmt=True), 60, now) == pytest.approx(20, abs=1)
    assert retry_after(formatdate(now - 20, usegmt=True), 60, now) == 0  # already past
    assert retry_after(None, 60, now) is None
    assert retry_after("soon", 60, now) is None
    assert retry_after("-5", 60, now) == 0
    assert retry_after("nan", 60, now) is None


@pytest.mark.parametrize("how", ["gated", "forbidden", "too_many_requests"])
def test_a_refused_download_leaves_nothing_behind(hub_server, gemma_path, tmp_path, how):
    models = tmp_path / "models"
    configure()
    if how == "gated":
        hub = Hub(None, hub_server.url)
        files = hub.repo(GEMMA_REPO)
        job = hub.jobs_for(files, files.groups[0], models)[0]
    else:
        hub, job = smol_job(hub_server, models)
        fault(hub_server).statuses = [403] if how == "forbidden" else [429] * 20
    with pytest.raises(DownloadError) as err:
        hub.download(job, backoff=FAST)
    assert err.value.code == {"gated": "gated", "forbidden": "gated"}.get(how, "network")
    assert [p.name for p in models.rglob("*") if p.is_file()] == []  # no .part.json, no lock


def test_download_failures_are_sentences_that_say_what_to_do(hub_server, tmp_path):
    """What a failed download's row says: what happened and what to do, never an exception's
    class name (the connection refused, the Hub kept answering 503, the file gone from the repo,
    a gated model without a token)."""
    hub, job = smol_job(hub_server, tmp_path)
    real_url = job.url
    with socket.socket() as s:  # a port nothing listens on: the Hub out of reach
        s.bind(("127.0.0.1", 0))
        job.url = f"http://127.0.0.1:{s.getsockname()[1]}/x"
    with pytest.raises(DownloadError) as err:
        hub.download(job, backoff=(0.05,))
    text = str(err.value)
    assert err.value.code == "network"
    assert_user_sentence(text)
    assert "The connection to the Hub kept failing (the connection was refused)" in text
    assert "are kept: try again" in text

    job.url = real_url
    fault(hub_server).statuses = [503] * 3
    with pytest.raises(DownloadError) as err:
        hub.download(job, backoff=(0.05,))
    assert_user_sentence(str(err.value))
    assert "kept answering 503 (a server error)" in str(err.value)

    fault(hub_server).statuses = []
    job.url = job.url.replace(SMOL_FILE, "SmolLM2-135M-Instruct.Q9_9.gguf")
    with pytest.raises(DownloadError) as err:
        hub.download(job)
    assert_user_sentence(str(err.value))
    assert "no longer in" in str(err.value) and "Open the repository again" in str(err.value)

    configure()
    files = Hub(None, hub_server.url).repo(GEMMA_REPO)
    gated = hub.jobs_for(files, files.groups[0], tmp_path)[0]
    with pytest.raises(DownloadError) as err:
        hub.download(gated)
    assert_user_sentence(str(err.value))
