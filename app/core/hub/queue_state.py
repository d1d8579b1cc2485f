"""What a download is, kept across restarts: the ``Download`` record and the queue's file.

A ``Download`` is one model (a quant group: its parts, and the vision projector when chosen), with
its progress and the speed and time left measured over the last seconds (``Meter``).
The queue file, ``downloads.json``, is read as untrusted input: entries of the wrong shape are
dropped and the good ones kept; a damaged file is set aside
(``downloads.json.damaged-<date>-<time>``), the paused downloads are found again from the
``.part.json`` files in the models folder (each describes one file), and a warning says what
happened.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import Any

from app.core import paths
from app.core.gguf.names import is_projector_name, split_names, split_of
from app.core.hub.files import HubFile, group_files
from app.core.hub.partial import FileJob, discard_partial, partial_bytes


class DownloadState(str, Enum):
    """Where a download stands; the value is what ``downloads.json`` and the window's rows hold."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    FAILED = "failed"
    DONE = "done"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


QUEUED, RUNNING, PAUSED, FAILED, DONE, CANCELLED = DownloadState
ACTIVE = (QUEUED, RUNNING)
KEPT = (QUEUED, RUNNING, PAUSED, FAILED)  # saved across restarts
STATES = (*KEPT, DONE, CANCELLED)


class Meter:
    """Speed over the last few seconds of progress reports, and the ETA it gives."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self.samples: list[tuple[float, int]] = []
        self.speed = 0.0

    def add(self, done: int, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > self.window:
            self.samples.pop(0)
        t0, b0 = self.samples[0]
        if now - t0 > 0.2:
            self.speed = max(0.0, (done - b0) / (now - t0))
        return self.speed

    def reset(self) -> None:
        self.samples.clear()
        self.speed = 0.0

    def eta(self, remaining: int) -> float | None:
        return remaining / self.speed if self.speed > 0 else None


@dataclass
class Download:
    repo: str
    quant: str
    jobs: list[FileJob]
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: DownloadState = QUEUED
    error: str | None = None
    error_code: str | None = None
    done_bytes: int = 0
    paths: list[Path] = field(default_factory=list)  # the verified files, when done
    current: int = 0  # the file being fetched (an index into jobs)
    meter: Meter = field(default_factory=Meter)
    _stop: str | None = None

    @property
    def speed(self) -> float:
        """Bytes per second over the last few seconds (0 unless running)."""
        return self.meter.speed if self.state == RUNNING else 0.0

    @property
    def total_bytes(self) -> int:
        return sum(j.size for j in self.jobs)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current speed (None while unknown)."""
        if self.state != RUNNING:
            return None
        return self.meter.eta(self.total_bytes - self.done_bytes)

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 0.0

    @property
    def title(self) -> str:
        return f"{self.repo} · {self.quant}"

    @property
    def model_paths(self) -> list[Path]:
        """The verified chat-model files (the vision projector left out)."""
        return [p for p in self.paths if not is_projector_name(p.name)]

    def measure(self) -> int:
        """Bytes on disk already (complete files and partial ones)."""
        total = 0
        for j in self.jobs:
            total += j.size if j.dest.exists() else partial_bytes(j)
        self.done_bytes = total
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "repo": self.repo,
            "quant": self.quant,
            "state": self.state.value,
            "error": self.error,
            "error_code": self.error_code,
            "jobs": [j.to_dict() for j in self.jobs],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Download:
        """The download ``d`` describes; ``ValueError`` when it is not what ``to_dict`` writes."""
        if not isinstance(d, dict):
            raise ValueError("not an object")
        repo, quant, dl_id, state = d.get("repo"), d.get("quant"), d.get("id"), d.get("state")
        if not all(isinstance(v, str) and v for v in (repo, quant, dl_id)):
            raise ValueError("repo, quant and id must be text")
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        jobs = d.get("jobs")
        if not isinstance(jobs, list) or not jobs:
            raise ValueError("jobs must be a list of files")
        error, code = d.get("error"), d.get("error_code")
        dl = cls(
            str(repo),
            str(quant),
            [FileJob.from_dict(j) for j in jobs],
            str(dl_id),
            DownloadState(state),
            error if isinstance(error, str) else None,
            code if isinstance(code, str) else None,
        )
        if dl.state in ACTIVE:  # the app closed while it ran or waited
            dl.state = PAUSED
            dl.error = "paused when Hearth closed"
        dl.measure()
        return dl


def delete_partials(dl: Download) -> None:
    """The partial files go, except one another Hearth is writing right now."""
    for j in dl.jobs:
        discard_partial(j)


def load_queue(
    state_file: Path, models_dir: Path | None = None
) -> tuple[list[Download], str | None]:
    """The downloads kept in ``state_file``, and a warning for the user when it was damaged.

    A damaged file (not JSON, not a queue, or with entries that cannot be read) is set aside,
    the good entries are kept, and the paused downloads in ``models_dir`` are found again from
    their ``.part.json`` files; the repaired queue is saved.
    """
    try:
        text = state_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], None
    except ValueError:  # not text
        text, problem = "", "was damaged"
    except OSError as exc:
        text, problem = "", f"could not be read ({exc.strerror or exc})"
    else:
        problem = ""
    items: list[Download] = []
    bad = 0
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = None
    entries = data.get("downloads") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        problem = problem or "was damaged"
        entries = []
    for entry in entries:
        try:
            dl = Download.from_dict(entry)
        except (ValueError, TypeError, OSError):
            bad += 1
            continue
        if any(d.id == dl.id for d in items):
            bad += 1
            continue
        items.append(dl)
    if not problem and not bad:
        return items, None
    if bad and not problem:
        problem = f"was damaged ({bad} {'entry' if bad == 1 else 'entries'} could not be read)"
    aside = paths.damaged_name(state_file)
    try:
        os.replace(state_file, aside)
        with contextlib.suppress(OSError):
            os.chmod(aside, 0o600)
        where = f"the damaged file is kept as {aside}"
    except OSError:
        where = f"the file at {state_file} is left as it is"
    found = rediscover(models_dir, items) if models_dir is not None else []
    items.extend(found)
    write_queue(state_file, items)
    n = len(found)
    again = (
        "no other partial downloads were found"
        if not n
        else f"{n} paused download{'s were' if n > 1 else ' was'} found again from the partial "
        "files in the models folder"
    )
    return items, f"The download queue {problem}: {where}; {again}."


def rediscover(models_dir: Path, known: list[Download]) -> list[Download]:
    """Paused downloads described by ``.part.json`` files under ``models_dir`` (each holds one
    file's job) that ``known`` does not have, one per model: a quant's parts together, a
    vision projector with its repo's model."""
    have = {j.dest for d in known for j in d.jobs}
    jobs: dict[tuple[str, Path], list[FileJob]] = {}  # by repo and folder
    try:
        metas = sorted(models_dir.rglob("*.part.json"))
    except OSError:
        metas = []
    for meta in metas:
        try:
            job = FileJob.from_dict(json.loads(meta.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        # Where the description lies says where the file goes (the folder may have moved).
        job.dest = meta.with_name(meta.name.removesuffix(".part.json"))
        if job.dest in have or not job.part.is_file():
            continue
        have.add(job.dest)
        jobs.setdefault((job.repo, job.dest.parent), []).append(job)
    found = []
    for (repo, _folder), repo_jobs in jobs.items():
        by_path = {j.filename: j for j in repo_jobs}
        groups, projectors = group_files([HubFile(j.filename, j.size, j.sha256) for j in repo_jobs])
        extra = [by_path[p.path] for p in projectors]
        for g in groups:
            found.append(Download(repo, g.quant, [by_path[f.path] for f in g.files] + extra))
            extra = []  # the projector goes with the first model of its repo
        if extra:  # only a projector was left half-way
            found.append(Download(repo, PurePosixPath(extra[0].filename).stem, extra))
    for dl in found:
        dl.state, dl.error = PAUSED, "found again from its partial files"
        missing = _missing_parts(dl)
        if missing:
            dl.error += (
                f"; {missing} of its parts {'was' if missing == 1 else 'were'} never started: "
                "download the model again from the Hub page for the rest"
            )
        dl.measure()
    return found


def _missing_parts(dl: Download) -> int:
    """How many parts of a split model (``-00002-of-00003.gguf``) are neither among ``dl``'s
    files nor complete beside them."""
    for job in dl.jobs:
        split = split_of(job.dest.name)
        if split is None:
            continue
        stem, _part, total = split
        names = set(split_names(stem, total)) - {j.dest.name for j in dl.jobs}
        return sum(1 for n in names if not (job.dest.parent / n).is_file())
    return 0


def write_queue(state_file: Path, items: list[Download]) -> bool:
    data = {"version": 1, "downloads": [d.to_dict() for d in items if d.state in KEPT]}
    try:
        paths.write_private(state_file, json.dumps(data, indent=1))
    except OSError:
        return False  # a full disk: the .part files still let the user resume by adding it again
    return True
