"""The download queue: progress, pause, resume after a restart, cancel, failures kept visible."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from pathlib import Path

import pytest

from app.core.hub.client import Hub
from app.core.hub.connection import configure
from app.core.hub.partial import DownloadError, FileJob
from app.core.hub.queue import CANCELLED, DONE, FAILED, PAUSED, RUNNING, DownloadQueue
from tests.hub_server import QUANTS_REPO, SMOL_FILE, SMOL_REPO, VISION_REPO


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
    queue = DownloadQueue(
        tmp_path / "downloads.json",
        lambda: hub,
        rec.listener,
        rec.on_complete,
        models_dir=tmp_path / "models",
    )
    return hub, queue


def smol_fault(hub_server):
    return hub_server.state.repos[SMOL_REPO].files[0].fault


def test_a_model_downloads_with_progress_speed_and_eta(hub_server, smollm_path, tmp_path):
    rec = Recorder()
    # a link of about 60 MB/s: long enough for progress, speed and time left to be measured
    # however fast the machine reads from localhost
    hub_server.state.repos[VISION_REPO].files[0].fault.throttle = 0.004
    hub, queue = make_queue(hub_server, tmp_path, rec)
    files = hub.repo(VISION_REPO)
    dl = queue.add(
        files.repo, files.groups[0].quant, hub.jobs_for(files, files.groups[0], tmp_path / "models")
    )
    wait_for(lambda: bool(rec.completed))  # told once the state is done and saved
    assert dl.state == DONE and rec.completed == [dl.id]
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
    wait_for(lambda: bool(rec.completed))
    assert dl.state == DONE and dl.error is None and rec.completed == [dl.id]
    queue.close()


def test_a_download_running_in_another_hearth_is_not_touched(hub_server, smollm_path, tmp_path):
    """The CLI (here a thread of its own) is downloading the file the queue is asked for: the
    row says so, and Try again once it is done finds the file in place."""
    smol_fault(hub_server).stall_after = 8 << 20
    rec = Recorder()
    hub, queue = make_queue(hub_server, tmp_path, rec)
    files = hub.repo(SMOL_REPO)
    (other,) = hub.jobs_for(files, files.groups[0], tmp_path / "models")
    reached = threading.Event()
    elsewhere = threading.Thread(
        target=hub.download, args=(other, lambda d, _t: d >= 8 << 20 and reached.set())
    )
    elsewhere.start()
    assert reached.wait(30)
    dl = queue.add(files.repo, "Q4_1", hub.jobs_for(files, files.groups[0], tmp_path / "models"))
    wait_for(lambda: dl.state == FAILED)
    assert dl.error_code == "busy" and "already being downloaded by another Hearth" in dl.error
    smol_fault(hub_server).stall_after = None
    elsewhere.join(60)
    queue.resume(dl.id)
    wait_for(lambda: dl.state == DONE)
    assert hashlib.sha256(dl.paths[0].read_bytes()).hexdigest() == files.groups[0].files[0].sha256
    queue.close()


def paused_partial(hub: Hub, repo: str, models: Path, keep: int = 20 << 20) -> list[FileJob]:
    """A model's download left paused: its first ``keep`` bytes in ``.part``, and ``.part.json``,
    written by a real download that was paused there."""
    files = hub.repo(repo)
    jobs = hub.jobs_for(files, files.groups[0], models)

    def stop() -> str | None:
        return "pause" if jobs[0].part.exists() and jobs[0].part.stat().st_size >= keep else None

    with pytest.raises(DownloadError):
        hub.download(jobs[0], stop=stop)
    return jobs


DAMAGED = {
    "bad JSON": "{not json",
    "a list": "[1, 2, 3]",
    "null": "null",
    "downloads not a list": '{"version": 1, "downloads": 5}',
    "empty": "",
}


@pytest.mark.parametrize("content", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_queue_file_is_set_aside_and_paused_downloads_found_again(
    hub_server, smollm_path, tmp_path, content
):
    configure()
    hub = Hub(None, hub_server.url)
    (job,) = paused_partial(hub, SMOL_REPO, tmp_path / "models")
    kept = job.part.stat().st_size
    assert kept >= 20 << 20 and job.meta.exists()
    state = tmp_path / "downloads.json"
    state.write_text(content)

    rec = Recorder()
    _, queue = make_queue(hub_server, tmp_path, rec)
    (aside,) = tmp_path.glob("downloads.json.damaged-*")
    assert aside.read_text() == content  # kept as it was, for a look
    assert queue.warning is not None and "damaged" in queue.warning and aside.name in queue.warning
    assert "1 paused download" in queue.warning and "\n" not in queue.warning
    (back,) = queue.items
    assert (back.repo, back.quant, back.state, back.done_bytes) == (SMOL_REPO, "Q4_1", PAUSED, kept)
    assert json.loads(state.read_text())["downloads"][0]["repo"] == SMOL_REPO  # saved repaired

    before = len(hub_server.state.ranges[SMOL_FILE])
    queue.resume(back.id)
    wait_for(lambda: back.state == DONE)
    assert hub_server.state.ranges[SMOL_FILE][before:] == [f"bytes={kept}-"]
    assert hashlib.sha256(back.paths[0].read_bytes()).hexdigest() == job.sha256
    queue.close()
    _, again = make_queue(hub_server, tmp_path, Recorder())  # a sound file: no warning now
    assert again.warning is None and again.items == []
    again.close()


def test_entries_of_the_wrong_shape_are_dropped_and_the_good_ones_kept(
    hub_server, smollm_path, tmp_path
):
    configure()
    hub = Hub(None, hub_server.url)
    (job,) = paused_partial(hub, SMOL_REPO, tmp_path / "models", keep=4 << 20)
    smol_fault(hub_server).stall_after = 8 << 20  # the queue's run pauses before the end
    rec = Recorder()
    _, queue = make_queue(hub_server, tmp_path, rec)
    good = queue.add(SMOL_REPO, "Q4_1", [job])
    queue.pause(good.id)
    wait_for(lambda: good.state == PAUSED)
    queue.close()
    state = tmp_path / "downloads.json"
    data = json.loads(state.read_text())
    entry = data["downloads"][0]
    data["downloads"] = [
        1,
        None,
        {"repo": SMOL_REPO},
        {**entry, "jobs": "all of them"},
        {**entry, "id": 7},
        {**entry, "jobs": [{**entry["jobs"][0], "size": "big"}]},
        {**entry, "jobs": [{**entry["jobs"][0], "dest": None}]},
        {**entry, "state": ["paused"]},
        entry,
    ]
    state.write_text(json.dumps(data))

    _, queue = make_queue(hub_server, tmp_path, Recorder())
    (kept,) = queue.items  # the good entry, and its partial file not counted twice
    assert (kept.id, kept.state, kept.done_bytes) == (entry["id"], PAUSED, job.part.stat().st_size)
    assert queue.warning is not None and "8 entries" in queue.warning
    assert len(list(tmp_path.glob("downloads.json.damaged-*"))) == 1
    assert len(json.loads(state.read_text())["downloads"]) == 1
    queue.close()


def test_partial_files_are_regrouped_by_model(hub_server, tmp_path):
    """Found again from ``.part.json`` alone: a split quant's parts make one download, a vision
    projector goes with its model, and a description whose ``.part`` is gone is left out."""
    configure()
    hub = Hub(None, hub_server.url)
    models = tmp_path / "models"
    quants = hub.repo(QUANTS_REPO)
    q2k = next(g for g in quants.groups if g.quant == "Q2_K")
    q3kl = next(g for g in quants.groups if g.quant == "Q3_K_L")
    vision = hub.repo(VISION_REPO)
    q8 = next(g for g in quants.groups if g.quant == "Q8_0")
    jobs = [
        *hub.jobs_for(quants, q2k, models),
        *hub.jobs_for(quants, q3kl, models)[:1],  # the second part never started
        *hub.jobs_for(vision, vision.groups[0], models),
        *hub.jobs_for(quants, q8, models),
    ]
    for j in jobs:
        j.dest.parent.mkdir(parents=True, exist_ok=True)
        j.meta.write_text(json.dumps(j.to_dict()))
        j.part.write_bytes(b"\0" * 1000)
    jobs[-1].part.unlink()  # Q8_0: only its description is left
    (tmp_path / "downloads.json").write_text("[]")

    _, queue = make_queue(hub_server, tmp_path, Recorder())
    found = {(d.repo, d.quant): [j.dest.name for j in d.jobs] for d in queue.items}
    assert found == {
        (QUANTS_REPO, "Q2_K"): [
            "SmolLM2-135M-Instruct-Q2_K-00001-of-00002.gguf",
            "SmolLM2-135M-Instruct-Q2_K-00002-of-00002.gguf",
        ],
        (QUANTS_REPO, "Q3_K_L"): ["SmolLM2-135M-Instruct-Q3_K_L-00001-of-00002.gguf"],
        (VISION_REPO, "Q4_1"): ["SmolLM2-135M-Instruct-Q4_1.gguf", "mmproj-SmolVLM-f16.gguf"],
    }
    assert all(d.state == PAUSED and d.done_bytes == 1000 * len(d.jobs) for d in queue.items)
    notes = {d.quant: d.error for d in queue.items}
    assert notes["Q2_K"] == "found again from its partial files"
    assert "1 of its parts was never started" in (notes["Q3_K_L"] or "")
    assert "3 paused downloads" in (queue.warning or "")
    queue.close()
