"""A download's partial file and its description: what a later run accepts as a job to resume,
discarding while another Hearth writes, the checks before the rename, stopping, and the words of
each.

Variants of ``app/core/hub/partial.py`` found with ``bench/mutation.py`` and left alive:

- the wording of ``log.warning`` lines (or a broken format string in one): the log line changes,
  nothing the user is told or any file does.
- the description written with another ``encoding``: ``json.dumps`` writes ASCII.
- ``O_BINARY`` looked up under another name: it exists on Windows only; elsewhere it is 0.
- the partial file opened unbuffered, or read back in one piece when resuming: the same bytes
  and hash; only speed and memory differ, which these tests do not measure.
- ``discard_partial`` unlinking the description without ``missing_ok``: a missing one raises
  FileNotFoundError, which it takes as "nothing left", after the partial file is gone.
- the size in the "came out N bytes long" sentence taken from the file even when the bytes
  counted differ from the expected size: the count and the file agree after a flush.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from pathlib import Path

import pytest

from app.core.file_lock import FileLock
from app.core.hub.partial import DownloadError, FileJob, PartialFile, discard_partial, write_all

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


def test_discarding_removes_a_description_left_without_its_partial_file(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.meta.write_text("{}")
    assert discard_partial(job) is True
    assert not job.meta.exists()


def test_the_description_written_at_the_start_describes_the_job(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    transfer = PartialFile(job)
    transfer.start_writing(from_zero=False)
    transfer.close()
    assert FileJob.from_dict(json.loads(job.meta.read_text(encoding="utf-8"))) == job


def test_starting_again_from_zero_empties_the_partial_file(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    job.part.write_bytes(DATA[:700])
    transfer = PartialFile(job)
    assert transfer.done == 700
    out = transfer.start_writing(from_zero=True)  # the server sent the whole file
    assert (out.tell(), transfer.done, job.part.stat().st_size) == (0, 0, 0)
    transfer.close()


class Trickle:
    """A file that takes a few bytes per write, or none (``None``) now and then."""

    def __init__(self) -> None:
        self.data = b""
        self.calls = 0

    def write(self, b: memoryview) -> int | None:
        self.calls += 1
        if self.calls % 3 == 1:
            return None
        self.data += bytes(b[:3])
        return min(3, len(b))


def test_every_byte_is_written_to_a_file_that_takes_a_few_at_a_time() -> None:
    out = Trickle()
    write_all(out, DATA[:100])  # type: ignore[arg-type]
    assert out.data == DATA[:100]


class FullDisk:
    def __init__(self, err: int) -> None:
        self.err = err

    def flush(self) -> None:
        raise OSError(self.err, os.strerror(self.err))


def test_a_full_disk_on_flush_is_said_as_such(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    transfer = PartialFile(job)
    transfer.out = FullDisk(errno.ENOSPC)  # type: ignore[assignment]
    with pytest.raises(DownloadError) as info:
        transfer.flush()
    assert info.value.code == "disk_full"
    assert str(info.value) == (
        f"The disk holding {tmp_path} is full. 0 B of model-Q4_K_M.gguf are kept: free some "
        "space, then try again to resume from there."
    )
    transfer.out = FullDisk(errno.EIO)  # type: ignore[assignment]
    with pytest.raises(OSError) as raw:
        transfer.flush()
    assert raw.value.errno == errno.EIO and not isinstance(raw.value, DownloadError)
    transfer.out = None


def test_a_partial_file_something_else_wrote_to_is_deleted(tmp_path: Path) -> None:
    job = make_job(tmp_path)
    transfer = PartialFile(job)
    out = transfer.start_writing(from_zero=False)
    out.write(DATA)
    transfer.wrote(DATA)
    transfer.flush()
    with job.part.open("ab") as other:
        other.write(b"x" * 200)
    with pytest.raises(DownloadError) as info:
        transfer.verify()
    assert info.value.code == "hash_mismatch"
    assert str(info.value) == (
        "The download of model-Q4_K_M.gguf came out 1,200 bytes long instead of 1,000 (did "
        "something else write to its partial file?), so it was deleted. Try again to download it "
        "afresh."
    )
    assert not job.part.exists() and not job.meta.exists()


def test_a_partial_file_with_every_byte_is_kept_for_the_checks(tmp_path: Path) -> None:
    """The app closed after the last byte, before the rename: nothing is downloaded again."""
    job = make_job(tmp_path)
    job.part.write_bytes(DATA)
    transfer = PartialFile(job)
    assert transfer.done == len(DATA) and job.part.stat().st_size == len(DATA)
    transfer.start_writing(from_zero=False)
    transfer.verify()
    transfer.close()


def test_the_partial_file_is_readable_by_others_and_not_executable(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        transfer = PartialFile(make_job(tmp_path))
        transfer.start_writing(from_zero=False)
        transfer.close()
    finally:
        os.umask(old)
    assert make_job(tmp_path).part.stat().st_mode & 0o777 == 0o644


def test_a_download_that_does_not_match_the_hubs_checksum_is_deleted(tmp_path: Path) -> None:
    job = make_job(tmp_path, sha="AB" * 32)
    transfer = PartialFile(job)
    out = transfer.start_writing(from_zero=False)
    out.write(DATA)
    transfer.wrote(DATA)
    with pytest.raises(DownloadError) as info:
        transfer.verify()
    digest = hashlib.sha256(DATA).hexdigest()
    assert info.value.code == "hash_mismatch"
    assert str(info.value) == (
        f"The download of model-Q4_K_M.gguf does not match the Hub's checksum (SHA-256 "
        f"{digest[:12]}…, expected ABABABABABAB…): it was damaged on the way and has been "
        "deleted. Try again to download it afresh."
    )
    assert not job.part.exists() and not job.meta.exists()
