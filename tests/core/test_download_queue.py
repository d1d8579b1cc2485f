"""The download queue: progress, pause, resume after a restart, cancel, failures kept visible."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from pathlib import Path

from app.core.download_queue import CANCELLED, DONE, FAILED, PAUSED, RUNNING, DownloadQueue
from app.core.hub import Hub, configure
from tests.hub_server import SMOL_FILE, SMOL_REPO, VISION_REPO


def wait_for(cond, timeout: float = 30.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        done.wait(0.02)
    raise AssertionError("timed out")


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int, float, float | None]] = []
        self.completed: list[str] = []

    def listener(self, dl) -> None:
        self.events.append((dl.state, dl.done_bytes, dl.speed, dl.eta))

    def on_complete(self, dl) -> None:
        self.completed.append(dl.id)


def make_queue(hub_server, tmp_path: Path, rec: Recorder) -> tuple[Hub, DownloadQueue]:
    configure()
    hub = Hub(None, hub_server.url)
    queue = DownloadQueue(tmp_path / "downloads.json", hub.download, rec.listener, rec.on_complete)
    return hub, queue


def smol_fault(hub_server):
    return hub_server.state.repos[SMOL_REPO].files[0].fault


def test_a_model_downloads_with_progress_speed_and_eta(hub_server, smollm_path, tmp_path):
    rec = Recorder()
    hub, queue = make_queue(hub_server, tmp_path, rec)
    files = hub.repo(VISION_REPO)
    dl = queue.add(
        files.repo, files.groups[0].quant, hub.jobs_for(files, files.groups[0], tmp_path / "models")
    )
    wait_for(lambda: dl.state == DONE)
    assert rec.completed == [dl.id]
    assert [p.name for p in dl.paths] == [
        "SmolLM2-135M-Instruct-Q4_1.gguf",
        "mmproj-SmolVLM-f16.gguf",
    ]
    assert (
        hashlib.sha256(dl.paths[0].read_bytes()).hexdigest()
        == hashlib.sha256(smollm_path.read_bytes()).hexdigest()
    )
    running = [e for e in rec.events if e[0] == RUNNING]
    assert running and all(a[1] <= b[1] for a, b in itertools.pairwise(running))
    assert any(speed > 0 and eta is not None for _, _, speed, eta in running)
    assert dl.done_bytes == dl.total_bytes == sum(p.stat().st_size for p in dl.paths)
    queue.close()
    assert (
        json.loads((tmp_path / "downloads.json").read_text())["downloads"] == []
    )  # done: not kept


def test_pause_survives_a_restart_and_resumes_from_the_byte_reached(
    hub_server, smollm_path, tmp_path
):
    smol_fault(hub_server).stall_after = 20 << 20  # slow enough to pause mid-file
    rec = Recorder()
    hub, queue = make_queue(hub_server, tmp_path, rec)
    files = hub.repo(SMOL_REPO)
    dl = queue.add(files.repo, "Q4_1", hub.jobs_for(files, files.groups[0], tmp_path / "models"))
    wait_for(lambda: dl.done_bytes >= 20 << 20)
    queue.close()  # the app quits mid-download
    assert dl.state == PAUSED
    saved = json.loads((tmp_path / "downloads.json").read_text())["downloads"]
    assert [d["repo"] for d in saved] == [SMOL_REPO]

    smol_fault(hub_server).stall_after = None
    rec2 = Recorder()
    _, queue2 = make_queue(hub_server, tmp_path, rec2)  # the app starts again
    (back,) = queue2.items
    assert back.state == PAUSED and back.done_bytes == 20 << 20  # waits for the user: no request
    requests_before = len(hub_server.state.ranges[SMOL_FILE])
    queue2.resume(back.id)
    wait_for(lambda: back.state == DONE)
    assert hub_server.state.ranges[SMOL_FILE][requests_before:] == [f"bytes={20 << 20}-"]
    assert hashlib.sha256(back.paths[0].read_bytes()).hexdigest() == files.groups[0].files[0].sha256
    assert rec2.completed == [back.id]
    queue2.close()


def test_cancel_removes_the_partial_file(hub_server, tmp_path):
    smol_fault(hub_server).stall_after = 10 << 20
    rec = Recorder()
    hub, queue = make_queue(hub_server, tmp_path, rec)
    files = hub.repo(SMOL_REPO)
    jobs = hub.jobs_for(files, files.groups[0], tmp_path / "models")
    dl = queue.add(files.repo, "Q4_1", jobs)
    wait_for(lambda: dl.done_bytes >= 10 << 20)
    queue.cancel(dl.id)
    wait_for(lambda: dl.state == CANCELLED, 5)
    assert not jobs[0].part.exists() and not jobs[0].dest.exists()
    queue.close()
    assert json.loads((tmp_path / "downloads.json").read_text())["downloads"] == []


def test_a_failure_is_kept_with_its_reason_and_can_be_retried(hub_server, tmp_path):
    rec = Recorder()
    hub, queue = make_queue(hub_server, tmp_path, rec)
    files = hub.repo(SMOL_REPO)
    smol_fault(hub_server).corrupt = True
    dl = queue.add(files.repo, "Q4_1", hub.jobs_for(files, files.groups[0], tmp_path / "models"))
    wait_for(lambda: dl.state == FAILED)
    assert dl.error_code == "hash_mismatch" and "checksum" in dl.error
    assert rec.completed == []
    smol_fault(hub_server).corrupt = False
    queue.resume(dl.id)
    wait_for(lambda: dl.state == DONE)
    assert dl.error is None and rec.completed == [dl.id]
    queue.close()


def test_a_damaged_queue_file_loses_the_list_not_the_app(tmp_path):
    (tmp_path / "downloads.json").write_text("{not json")
    queue = DownloadQueue(tmp_path / "downloads.json", lambda *a: Path())
    assert queue.items == []
    queue.close()
