"""`hearth search`, `files`, `download` and `token`: the Hugging Face Hub from the terminal."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from app.cli.common import (
    EXIT_BUSY,
    EXIT_ENGINE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    engine_hardware,
)
from app.core import paths
from app.core.library.index import open_library
from app.core.settings import load_settings
from app.core.units import format_eta, format_params, human_bytes

if TYPE_CHECKING:
    from app.core.hub.queue import Download


def add_parsers(sub: Any) -> None:
    se = sub.add_parser("search", help="search GGUF models on the Hugging Face Hub")
    se.add_argument("query", metavar="QUERY", nargs="?", default="")
    se.add_argument("--sort", choices=["downloads", "likes", "recent"], default="downloads")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--json", action="store_true", help="print a JSON list")

    fi = sub.add_parser("files", help="a Hub repository's GGUF files by quant, with fit verdicts")
    fi.add_argument("repo", metavar="REPO")
    fi.add_argument("--ctx", type=int, help="context length for the verdicts")
    fi.add_argument("--json", action="store_true", help="print a JSON list of quant groups")

    dl = sub.add_parser("download", help="download a model from the Hub (run again to resume)")
    dl.add_argument("target", metavar="REPO[:QUANT|/FILE]")
    dl.add_argument(
        "--dir",
        help="put the files under DIR/<publisher>/<repo>/ (default: the app's model folder)",
    )

    tok = sub.add_parser(
        "token", help="the Hugging Face token for gated models (kept in the OS keyring)"
    )
    tok.add_argument("action", choices=["set", "forget", "status"], nargs="?", default="status")


def _hub():
    from app.core.hub.client import open_hub

    settings, _ = load_settings()
    return open_hub(settings.hub_endpoint, settings.proxy)


def _hub_call(fn: Any) -> Any:
    from app.core.hub.connection import HubError

    try:
        return fn()
    except HubError as exc:
        # Out of reach, or server errors that persisted: network-ish, worth trying later.
        network = exc.code in ("offline", "unavailable")
        raise CliError(str(exc), EXIT_ENGINE if network else EXIT_INPUT) from None


def cmd_search(args: argparse.Namespace) -> int:
    hub = _hub()
    hits = _hub_call(lambda: hub.search(args.query, args.sort, args.limit))
    if args.json:
        print(json.dumps([h.to_dict() for h in hits]))
        return EXIT_OK
    for h in hits:
        print(
            f"{h.repo:60}  {h.downloads:>10,} downloads  {h.likes:>6,} likes  {format_params(h.parameters, space=''):>6}  "
            f"{(h.updated or '')[:10]}"
        )
    if not hits:
        print("no GGUF models match")
    return EXIT_OK


def _repo_with_verdicts(hub: Any, repo: str, n_ctx: int | None) -> Any:
    from app.core.fit.hardware import devices_for
    from app.core.fit.placement import FitOptions
    from app.core.hub.fit import estimate_groups

    settings, _ = load_settings()
    files = _hub_call(lambda: hub.repo(repo))
    hw = engine_hardware()
    opts = FitOptions.from_load(settings.load)
    if n_ctx:
        opts.n_ctx = n_ctx
    estimate_groups(hub, files, devices_for(hw), hw.flags, opts)
    return files


def cmd_files(args: argparse.Namespace) -> int:
    hub = _hub()
    files = _repo_with_verdicts(hub, args.repo, args.ctx)
    if args.json:
        print(json.dumps([g.to_dict() for g in files.groups]))
        return EXIT_OK
    if not files.groups:
        print(f"{args.repo} has no GGUF files")
    for g in files.groups:
        mark = "  <- recommended" if g.recommended else ""
        bpw = f"{g.bits_per_weight:.2f} bpw" if g.bits_per_weight else ""
        print(
            f"{g.quant:12} {human_bytes(g.size_bytes):>10}  {bpw:>9}  {len(g.files)} file(s)  "
            f"{g.verdict or 'unknown'}{mark}"
        )
    for p in files.projectors:
        print(
            f"{'projector':12} {human_bytes(p.size):>10}  {p.path} (vision, downloaded with the model)"
        )
    if files.gated:
        print("note: this repository is gated; downloads need a Hugging Face token with access")
    return EXIT_OK


def _parse_target(target: str) -> tuple[str, str | None]:
    """``REPO``, ``REPO:QUANT`` or ``REPO/FILE`` as (repo, the quant or file or None)."""
    parts = target.split("/")
    if ":" in target:
        repo, _, which = target.partition(":")
    elif len(parts) > 2:
        repo, which = "/".join(parts[:2]), "/".join(parts[2:])
    else:
        repo, which = target, None
    if repo.count("/") != 1:
        raise CliError(
            f"{target!r} is not REPO, REPO:QUANT or REPO/FILE (a repo looks like publisher/name)"
        )
    return repo, which


def cmd_download(args: argparse.Namespace) -> int:
    from app.core.hub.files import choose
    from app.core.hub.partial import partial_bytes
    from app.core.hub.queue import DONE, PAUSED, load_queue

    repo, which = _parse_target(args.target)
    settings, _ = load_settings()
    folder = Path(args.dir).expanduser() if args.dir else settings.models_path()
    # The app's queue, read (and repaired when damaged) as the app does: a damaged one is
    # reported here too, and its paused downloads found again.
    _, warning = load_queue(paths.data_dir() / "downloads.json", settings.models_path())
    if warning:
        print(f"hearth: warning: {warning}", file=sys.stderr)
    hub = _hub()
    files = (
        _repo_with_verdicts(hub, repo, None) if which is None else _hub_call(lambda: hub.repo(repo))
    )
    group = _hub_call(lambda: choose(files, which))
    dl = _run_download(hub, files.repo, group.quant, hub.jobs_for(files, group, folder))
    if dl.state == PAUSED:
        job = dl.jobs[dl.current]
        print(
            f"paused at {human_bytes(partial_bytes(job))} of {human_bytes(job.size)}: "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if dl.state != DONE:
        if dl.error_code == "gated" and not hub.token and sys.stdin.isatty():
            print(f"hearth: {dl.error}", file=sys.stderr)
            if _ask_token():
                return cmd_download(args)
        code = (
            EXIT_INPUT
            if dl.error_code in ("gated", "not_found", "disk_full", "hash_mismatch")
            else EXIT_BUSY
            if dl.error_code == "busy"
            else EXIT_ENGINE
        )
        raise CliError(dl.error or "the download failed", code)
    lib = open_library(settings.models_path())
    for p in dl.model_paths:
        lib.add_file(p)  # shown even where it was removed from the library before
    for p in dl.paths:
        print(f"downloaded and verified {p}")
    return EXIT_OK


def _run_download(hub: Any, repo: str, quant: str, jobs: list[Any]) -> Download:
    """One model through the app's download queue (kept nowhere: the partial files are what a
    second run resumes from), its progress on stderr; Ctrl+C pauses it cleanly."""
    from app.core.hub.queue import ACTIVE, RUNNING, DownloadQueue

    progress = ProgressLine(sys.stderr)
    over = threading.Event()

    def changed(d: Download) -> None:
        if d.state == RUNNING:
            progress.show(d)
        elif d.state not in ACTIVE:
            progress.end()
            over.set()

    queue = DownloadQueue(None, lambda: hub, changed)
    interrupted = threading.Event()
    # Ctrl+C only asks; the pause itself is made here, outside the signal handler.
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    try:
        dl = queue.add(repo, quant, jobs)
        while not over.wait(0.1):
            if interrupted.is_set():
                queue.pause(dl.id)
    finally:
        signal.signal(signal.SIGINT, previous)
        queue.close()
    return dl


class ProgressLine:
    """The file being downloaded as a bar redrawn in place on a terminal (bytes, speed, time
    left), or a line per 10% elsewhere; drawn from the queue's reports on its thread."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.tty = out.isatty()
        self.file = -1  # the index of the file shown
        self.step = -1  # the last 10% step printed (not on a terminal)
        self.drawn_at = 0.0

    def show(self, d: Download) -> None:
        if not d.meter.samples:
            return  # the start of the download, before any byte of this run arrived
        if d.current != self.file:
            self.end()
            self.file, self.step = d.current, -1
        job = d.jobs[d.current]
        total = job.size
        done = min(max(d.done_bytes - sum(j.size for j in d.jobs[: d.current]), 0), total)
        pct = done * 100 // max(total, 1)
        name = Path(job.filename).name
        if not self.tty:
            if pct // 10 != self.step:
                self.step = pct // 10
                print(f"{name}: {pct}% of {human_bytes(total)}", file=self.out, flush=True)
            return
        now = time.monotonic()
        if now - self.drawn_at < 0.1 and done < total:
            return
        self.drawn_at = now
        eta = format_eta(d.meter.eta(total - done))
        print(
            f"\r{name[:36]:36} [{'#' * (pct // 4):25}] {pct:3d}% "
            f"{human_bytes(done):>9}/{human_bytes(total)}  {human_bytes(d.meter.speed)}/s  "
            f"ETA {eta:>7}",
            end="",
            file=self.out,
            flush=True,
        )

    def end(self) -> None:
        """The bar drawn so far is left on its own line."""
        if self.tty and self.file >= 0:
            print(file=self.out, flush=True)
        self.file = -1


def _ask_token() -> bool:
    import getpass

    from app.core.hub.token import save_token

    token = getpass.getpass("Hugging Face token (empty to stop): ").strip()
    if not token:
        return False
    print(f"token saved in {save_token(token)}", file=sys.stderr)
    return True


def cmd_token(args: argparse.Namespace) -> int:
    from app.core.hub import token as secrets

    if args.action == "set":
        token = (
            sys.stdin.readline().strip()
            if not sys.stdin.isatty()
            else __import__("getpass").getpass("Hugging Face token: ").strip()
        )
        if not token:
            raise CliError("no token given (paste it, or pipe it in: hearth token set < file)")
        print(f"token saved in {secrets.save_token(token)}")
    elif args.action == "forget":
        secrets.forget_token()
        print("token forgotten")
    else:
        where = secrets.token_source()
        print(f"a token is set ({where})" if where else "no token is set")
    return EXIT_OK


COMMANDS = {"search": cmd_search, "files": cmd_files, "download": cmd_download, "token": cmd_token}
