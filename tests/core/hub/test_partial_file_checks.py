"""A download's partial file and its description: what a later run accepts as a job to resume,
discarding while another Hearth writes, the checks before the rename, stopping, and the words of
each.

Variants of ``app/core/hub/partial.py`` found with ``bench/mutation.py`` and left alive:

- the wording of ``log.warning`` lines (or a broken format string in one): the log line changes,
  nothing the user is told or any file does.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from app.core.file_lock import FileLock
from app.core.hub.partial import DownloadError, FileJob, PartialFile, discard_partial

DATA = b"0123456789" * 100


def make_job(tmp_path: Path, data: bytes = DATA, sha: str | None = "") -> FileJob:
    digest = hashlib.sha256(data).hexdigest() if sha == "" else sha
    return FileJob("org/repo", "model-Q4_K_M.gguf", len(data), digest, tmp_path / "model.gguf")


def test_a_job_survives_its_description_on_disk(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.revision, job.url = "abc123", "https://example.invalid/model.gguf"
    d = job.to_dict()
    assert d["dest"] == str(job.dest)
    assert FileJob.from_dict(d) == job


def test_a_description_without_revision_or_url_is_a_main_branch_job(tmp_path: Path) -> None:
    d = make_job(tmp_path).to_dict()
    del d["revision"], d["url"]
    job = FileJob.from_dict(d)
    assert (job.revision, job.url, job.sha256) == ("main", "", make_job(tmp_path).sha256)
    d["sha256"] = None
    assert FileJob.from_dict(d).sha256 is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"repo": 5}, "repo, filename and dest must be text"),
        ({"filename": None}, "repo, filename and dest must be text"),
        ({"dest": ["x"]}, "repo, filename and dest must be text"),
        ({"repo": ""}, "repo, filename and dest must not be empty"),
        ({"filename": ""}, "repo, filename and dest must not be empty"),
        ({"dest": ""}, "repo, filename and dest must not be empty"),
        ({"revision": 3}, "revision and url must be text"),
        ({"url": None}, "revision and url must be text"),
        ({"size": True}, "size must be a whole number of bytes"),
        ({"size": "1000"}, "size must be a whole number of bytes"),
        ({"size": -1}, "size must be a whole number of bytes"),
        ({"size": 1.5}, "size must be a whole number of bytes"),
        ({"sha256": 12}, "sha256 must be text"),
    ],
)
def test_a_damaged_description_is_refused_with_its_reason(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    d = {**make_job(tmp_path).to_dict(), **change}
    with pytest.raises(ValueError) as info:
        FileJob.from_dict(d)
    assert str(info.value) == reason


def test_a_description_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^not an object$"):
        FileJob.from_dict(["org/repo"])  # type: ignore[arg-type]


def test_an_empty_file_is_a_valid_job(tmp_path: Path) -> None:
    d = {**make_job(tmp_path).to_dict(), "size": 0}
    assert FileJob.from_dict(d).size == 0


def test_discarding_removes_the_partial_file_and_its_description(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.part.write_bytes(DATA[:100])
    job.meta.write_text("{}")
    assert discard_partial(job) is True
    assert not job.part.exists() and not job.meta.exists()
    assert discard_partial(job) is True  # nothing left to remove


def test_a_partial_file_another_hearth_writes_is_not_discarded(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.part.write_bytes(DATA[:100])
    job.meta.write_text("{}")
    with FileLock(job.lock):
        assert discard_partial(job) is False
    assert job.part.exists() and job.meta.exists()


def test_discarding_in_a_folder_that_is_gone(tmp_path: Path) -> None:
    assert discard_partial(make_job(tmp_path / "gone")) is True


def test_cancelling_when_the_partial_file_is_already_gone(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    transfer = PartialFile(job)
    with pytest.raises(DownloadError) as info:
        transfer.stop("cancel")
    assert (info.value.code, str(info.value)) == (
        "cancelled",
        "The download of model-Q4_K_M.gguf was cancelled.",
    )


def test_pausing_says_how_far_the_download_got(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.part.write_bytes(DATA[:700])
    transfer = PartialFile(job)
    with pytest.raises(DownloadError) as info:
        transfer.stop("pause")
    transfer.close()
    assert (info.value.code, str(info.value)) == (
        "paused",
        "The download of model-Q4_K_M.gguf is paused at 700 B.",
    )
    assert job.part.stat().st_size == 700


def test_a_partial_file_removed_before_the_rename_is_not_put_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job = make_job(tmp_path)
    transfer = PartialFile(job)
    out = transfer.start_writing(from_zero=False)
    out.write(DATA)
    transfer.wrote(DATA)
    job.part.unlink()
    with caplog.at_level(logging.WARNING), pytest.raises(DownloadError) as info:
        transfer.verify()
    assert info.value.code == "hash_mismatch"
    assert str(info.value) == (
        "The partial file of model-Q4_K_M.gguf was moved or replaced while it downloaded, so "
        "nothing was put in place. Try again to download it afresh."
    )
    assert f"{job.part}: the partial file was moved or replaced" in caplog.text
