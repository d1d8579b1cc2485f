"""`hearth search`, `files`, `download` and `token` against a local Hub, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from tests.cli import hearth
from tests.hub_server import GEMMA_FILE, GEMMA_REPO, QUANTS_REPO, SMOL_FILE, SMOL_REPO


def _start(*args: str) -> subprocess.Popen[str]:
    """``hearth ARGS`` running in the background, its output captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _wait_for_bytes(part: Path, size: int, timeout: float = 60) -> None:
    """Until the partial file holds ``size`` bytes (the download is well under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (not part.exists() or part.stat().st_size < size):
        time.sleep(0.05)


def test_search_json(hub_server):
    proc = hearth("search", "smol", "--sort", "likes", "--json")
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert next(h["repo"] for h in hits) == SMOL_REPO  # most liked of the three
    assert all(set(h) == {"repo", "downloads", "likes", "updated", "parameters"} for h in hits)
    assert hits[0]["downloads"] == 50_000 and hits[0]["parameters"] == 134_515_008
    text = hearth("search", "gemma").stdout
    assert GEMMA_REPO in text and "268M" in text and "9,000 downloads" in text


def test_files_json_has_groups_verdicts_and_one_recommendation(hub_server):
    proc = hearth("files", QUANTS_REPO, "--json")
    assert proc.returncode == 0, proc.stderr
    groups = json.loads(proc.stdout)
    assert all(
        set(g) == {"quant", "files", "size_bytes", "bits_per_weight", "verdict", "recommended"}
        for g in groups
    )
    by = {g["quant"]: g for g in groups}
    assert len(by["Q2_K"]["files"]) == 2 and by["Q2_K"]["size_bytes"] == 88_000_000
    assert by["Q3_K_L"]["verdict"] == "no_fit"
    assert [g["quant"] for g in groups if g["recommended"]] == ["Q8_0"]
    text = hearth("files", QUANTS_REPO).stdout
    assert "Q8_0" in text and "recommended" in text and "2 file(s)" in text


def test_download_the_recommended_quant_into_the_library(hub_server, smollm_path):
    proc = hearth("download", SMOL_REPO)
    assert proc.returncode == 0, proc.stderr
    assert "downloaded and verified" in proc.stdout
    listed = json.loads(hearth("list", "--json").stdout)
    assert [Path(m["path"]).name for m in listed] == [SMOL_FILE]
    assert Path(listed[0]["path"]).parent.parts[-2:] == (
        "HuggingFaceTB",
        "SmolLM2-135M-Instruct-GGUF",
    )


def test_ctrl_c_pauses_and_running_again_resumes(hub_server, smollm_path, tmp_path):
    fault = hub_server.state.repos[SMOL_REPO].files[0].fault
    fault.stall_after = 24 << 20
    target = tmp_path / "dl"
    part = target / "HuggingFaceTB" / "SmolLM2-135M-Instruct-GGUF" / (SMOL_FILE + ".part")
    proc = _start("download", f"{SMOL_REPO}:Q4_1", "--dir", str(target))
    _wait_for_bytes(part, 24 << 20)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert "paused at 25.2 MB of 98.4 MB" in err and "run the same command again" in err
    assert part.stat().st_size == 24 << 20

    fault.stall_after = None
    again = hearth("download", f"{SMOL_REPO}:Q4_1", "--dir", str(target))
    assert again.returncode == 0, again.stderr
    assert hub_server.state.ranges[SMOL_FILE][-1] == f"bytes={24 << 20}-"
    assert (part.parent / SMOL_FILE).read_bytes() == smollm_path.read_bytes()
    # Downloaded outside the models folder, it is in the library all the same.
    assert any(
        Path(m["path"]).parent == part.parent for m in json.loads(hearth("list", "--json").stdout)
    )


def test_a_damaged_download_exits_non_zero_and_adds_nothing(hub_server, tmp_path):
    hub_server.state.repos[SMOL_REPO].files[0].fault.corrupt = True
    proc = hearth("download", f"{SMOL_REPO}/{SMOL_FILE}")
    assert proc.returncode == 2
    assert "does not match the Hub's checksum" in proc.stderr
    assert json.loads(hearth("list", "--json").stdout) == []


def test_gated_model_needs_a_token(hub_server, gemma_path, hearth_home):
    proc = hearth("download", f"{GEMMA_REPO}:Q4_K_M")
    assert proc.returncode == 2 and "token" in proc.stderr
    assert hearth("token").stdout.strip() == "no token is set"

    saved = hearth("token", "set", stdin=hub_server.state.token + "\n")
    assert saved.returncode == 0, saved.stderr
    token_file = hearth_home / "config" / "hf_token"
    assert saved.stdout.strip() == f"token saved in {token_file}"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600  # only the user can read it
    assert hearth("token").stdout.strip() == f"a token is set ({token_file})"

    proc = hearth("download", f"{GEMMA_REPO}:Q4_K_M")
    assert proc.returncode == 0, proc.stderr
    assert hearth("token", "forget").returncode == 0 and not token_file.exists()


def test_unknown_quant_and_unknown_repo(hub_server):
    proc = hearth("download", f"{SMOL_REPO}:Q5_K_M")
    assert proc.returncode == 2 and "has no 'Q5_K_M'; it has Q4_1" in proc.stderr
    proc = hearth("files", "nobody/nothing")
    assert proc.returncode == 2 and "was not found on the Hub" in proc.stderr
    proc = hearth("download", "not-a-repo")
    assert proc.returncode == 2 and "is not REPO" in proc.stderr


def test_offline_hub_is_reported_at_once(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    proc = hearth("search", "llama")
    assert proc.returncode == 1 and "cannot be reached" in proc.stderr
    assert "everything else in Hearth works offline" in proc.stderr
    assert time.monotonic() - started < 15
    assert hearth("list").returncode == 0  # the rest does not care


def test_two_downloads_of_the_same_file_at_once(hub_server, smollm_path, tmp_path):
    """Two real `hearth download` processes for one file: the second says the first has it and
    exits with its own code, touching nothing; the first finishes with the right bytes."""
    fault = hub_server.state.repos[SMOL_REPO].files[0].fault
    fault.throttle, fault.stall_after = 0.01, 16 << 20  # slow, then held until both have run
    target = tmp_path / "dl"
    part = target / "HuggingFaceTB" / "SmolLM2-135M-Instruct-GGUF" / (SMOL_FILE + ".part")
    args = ["download", f"{SMOL_REPO}:Q4_1", "--dir", str(target)]
    first = _start(*args)
    _wait_for_bytes(part, 16 << 20)
    second = hearth(*args)
    assert first.poll() is None  # they overlapped
    assert second.returncode == 75, second.stderr
    assert second.stderr.count("\n") == 1
    assert "already being downloaded by another Hearth" in second.stderr
    assert part.stat().st_size == 16 << 20
    fault.stall_after = None
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "downloaded and verified" in out
    assert (part.parent / SMOL_FILE).read_bytes() == smollm_path.read_bytes()
    assert sorted(p.name for p in part.parent.iterdir()) == [SMOL_FILE]
    again = hearth(*args)  # done: the same command finds it in place
    assert again.returncode == 0 and "downloaded and verified" in again.stdout


def test_an_invalid_repo_id_is_one_line_and_exit_2(hub_server):
    for args in (
        ["files", "../x"],
        ["files", "org/na me"],
        ["download", "org/x--y"],
        ["download", "../x:Q4_K_M"],
    ):
        proc = hearth(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "is not a valid Hub repository" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert hub_server.state.requests == []


def test_server_errors_on_the_api_are_retried_then_exit_1(hub_server):
    from tests.hub_server import ApiFault

    faults = hub_server.state.api_faults
    faults.append(ApiFault(f"/api/models/{SMOL_REPO}", 500))
    proc = hearth("files", SMOL_REPO, "--json")
    assert proc.returncode == 0, proc.stderr
    assert [g["quant"] for g in json.loads(proc.stdout)] == ["Q4_1"]

    faults.append(ApiFault(f"/api/models/{SMOL_REPO}", 500, times=99))
    for args in (["files", SMOL_REPO], ["download", f"{SMOL_REPO}:Q4_1"]):
        proc = hearth(*args)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.count("\n") == 1 and "500" in proc.stderr


def test_too_many_requests_on_the_file_is_waited_out(hub_server, smollm_path, tmp_path):
    fault = hub_server.state.repos[SMOL_REPO].files[0].fault
    fault.statuses, fault.retry_after = [429], "1"
    proc = hearth("download", f"{SMOL_REPO}:Q4_1", "--dir", str(tmp_path / "dl"))
    assert proc.returncode == 0, proc.stderr
    (path,) = (tmp_path / "dl").rglob("*.gguf")
    assert path.read_bytes() == smollm_path.read_bytes()


def test_a_damaged_download_queue_is_reported(hub_server, tmp_path):
    from app.core import paths

    state = paths.data_dir() / "downloads.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("[1, 2, 3]")
    proc = hearth("download", f"{SMOL_REPO}:Q4_1", "--dir", str(tmp_path / "dl"))
    assert proc.returncode == 0, proc.stderr
    assert "hearth: warning: " in proc.stderr and "downloads.json" in proc.stderr
    assert list(state.parent.glob("downloads.json.damaged-*"))


def test_progress_is_shown_per_file_from_the_queue_reports(tmp_path):
    """A bar redrawn in place on a terminal, a line per 10% elsewhere; each file on its own."""
    import io

    from app.cli.hub import ProgressLine
    from app.core.hub.partial import FileJob
    from app.core.hub.queue import RUNNING, Download

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    jobs = [
        FileJob("a/b", f"m-0000{i}-of-00002.gguf", size, None, tmp_path / f"m{i}")
        for i, size in ((1, 1000), (2, 500))
    ]
    shown = {}
    for out in (Terminal(), io.StringIO()):
        progress, dl = ProgressLine(out), Download("a/b", "Q2_K", jobs, state=RUNNING)
        progress.show(dl)  # the start, before any byte: nothing yet
        for second, done in enumerate([100, 500, 1000, 1200, 1500]):
            dl.current, dl.done_bytes = int(done > 1000), done
            dl.meter.add(done, second)
            progress.drawn_at = 0.0  # as if the last draw were long ago
            progress.show(dl)
        progress.end()
        shown[out.isatty()] = out.getvalue()
    assert shown[False].splitlines() == [
        "m-00001-of-00002.gguf: 10% of 1.0 kB",
        "m-00001-of-00002.gguf: 50% of 1.0 kB",
        "m-00001-of-00002.gguf: 100% of 1.0 kB",
        "m-00002-of-00002.gguf: 40% of 500 B",
        "m-00002-of-00002.gguf: 100% of 500 B",
    ]
    first, second, rest = shown[True].split("\n")
    assert first.count("\r") == 3 and first.endswith("100%    1.0 kB/1.0 kB  450 B/s  ETA    0:00")
    assert second.count("\r") == 2 and "m-00002-of-00002.gguf" in second and rest == ""


def test_hf_token_is_used_when_no_token_is_stored(hub_server, gemma_path, monkeypatch):
    """README: the token is kept in the keyring or a file; "HF_TOKEN from the environment is
    used when nothing is stored". A stored token comes first."""
    monkeypatch.setenv("HF_TOKEN", hub_server.state.token)
    assert hearth("token").stdout.strip() == "a token is set (HF_TOKEN)"
    assert hearth("token", "set", stdin="hf_stored_without_access\n").returncode == 0
    proc = hearth("download", f"{GEMMA_REPO}:Q4_K_M")
    assert proc.returncode == 2 and "needs permission" in proc.stderr  # the stored one was sent
    sent = set(hub_server.state.request_auth)
    assert "Bearer hf_stored_without_access" in sent
    assert f"Bearer {hub_server.state.token}" not in sent

    assert hearth("token", "forget").returncode == 0
    proc = hearth("download", f"{GEMMA_REPO}:Q4_K_M")
    assert proc.returncode == 0, proc.stderr
    auth = dict(zip(hub_server.state.requests, hub_server.state.request_auth, strict=True))
    resolve = [a for line, a in auth.items() if "/resolve/" in line and GEMMA_FILE in line]
    assert resolve == [f"Bearer {hub_server.state.token}"]


# `hearth download` as a user runs it, but with every back-off wait 50 times shorter.
_FAST_WAITS = """
import sys
from app.core.hub import download
real_sleep = download._sleep
download._sleep = lambda seconds, stop: real_sleep(seconds * 0.02, stop)
from app.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_download_that_keeps_failing_gives_up_with_exit_1_and_resumes_later(
    hub_server, smollm_path, tmp_path
):
    fault = hub_server.state.repos[SMOL_REPO].files[0].fault
    fault.drop_after, fault.drops = 3 << 20, 1
    fault.statuses_after_drop = [503] * 20
    folder = tmp_path / "dl"
    proc = subprocess.run(
        [sys.executable, "-c", _FAST_WAITS, "download", f"{SMOL_REPO}:Q4_1", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("hearth: error: The Hub kept answering 503 (a server error). 3.1 MB of ")
    assert last.endswith("are kept: try again in a few minutes to resume from there.")
    cdn = [line for line in hub_server.state.requests if "/cdn/" in line]
    assert len(cdn) == 9  # the first try and the eight retries of the schedule
    part = folder / SMOL_REPO / (SMOL_FILE + ".part")
    assert part.stat().st_size == 3 << 20  # kept for later
    assert not (folder / SMOL_REPO / SMOL_FILE).exists()

    fault.statuses.clear()  # the Hub is back: the same command goes on from the byte kept
    proc = hearth("download", f"{SMOL_REPO}:Q4_1", "--dir", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert (folder / SMOL_REPO / SMOL_FILE).read_bytes() == smollm_path.read_bytes()
    assert hub_server.state.ranges[SMOL_FILE][-1] == f"bytes={3 << 20}-"
    assert not part.exists()
