"""Download throughput: Hearth's verified download against a bare HTTP copy and huggingface_hub.

A local server that speaks the Hub's API serves the Gemma 3 270M test model (253 MB). Measured:
a bare streamed copy to disk (no hash: the ceiling on this machine), Hearth's download (SHA-256
while the bytes arrive, .part file under its lock, size checked on disk, atomic rename), huggingface_hub's hf_hub_download (which does
not verify the hash), and Hearth resuming from the middle (the first half is read once for the
hash). Reading a remote header by range requests is timed too.

    python bench/bench_download.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import GEMMA, MODELS_DIR, SMOLLM
from tests.gguf_factory import small_model_bytes
from tests.hub_server import GEMMA_REPO, HubServer, add_standard_repos


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    gemma = MODELS_DIR / GEMMA
    size = gemma.stat().st_size
    with HubServer() as srv, tempfile.TemporaryDirectory() as tmp:
        add_standard_repos(srv.state, MODELS_DIR / SMOLLM, gemma, small_model_bytes())
        srv.state.token = ""
        srv.state.repos[GEMMA_REPO].gated = False
        os.environ["HF_ENDPOINT"] = srv.url
        os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
        from huggingface_hub import hf_hub_download

        from app.core.hub.client import Hub
        from app.core.hub.connection import configure

        configure()
        hub = Hub(None, srv.url)
        files = hub.repo(GEMMA_REPO)
        session = hub.session()
        root = Path(tmp)

        def bare() -> None:
            url = hub.file_url(GEMMA_REPO, files.groups[0].files[0].path, files.revision)
            # A new file each time, as a download makes: rewriting one (O_TRUNC) makes ext4
            # write all of it out on close, which would slow the baseline.
            (root / "bare.bin").unlink(missing_ok=True)
            with (
                session.stream("GET", url, follow_redirects=True) as r,
                (root / "bare.bin").open("wb") as out,
            ):
                for piece in r.iter_bytes():
                    out.write(piece)

        def hearth() -> None:
            shutil.rmtree(root / "models", ignore_errors=True)
            job = hub.jobs_for(files, files.groups[0], root / "models")[0]
            hub.download(job)

        def hf() -> None:
            shutil.rmtree(root / "hf", ignore_errors=True)
            hf_hub_download(
                GEMMA_REPO,
                files.groups[0].files[0].path,
                cache_dir=root / "hf",
                revision=files.revision,
            )

        def resumed() -> None:
            shutil.rmtree(root / "models", ignore_errors=True)
            job = hub.jobs_for(files, files.groups[0], root / "models")[0]
            job.dest.parent.mkdir(parents=True)
            with gemma.open("rb") as src, job.part.open("wb") as out:
                out.write(src.read(size // 2))
            start = time.perf_counter()
            hub.download(job)
            resumed.seconds = time.perf_counter() - start  # type: ignore[attr-defined]

        rows = []
        for name, fn in [
            ("bare streamed copy (no hash)", bare),
            ("Hearth download (SHA-256 verified)", hearth),
            ("huggingface_hub hf_hub_download (no hash check)", hf),
        ]:
            fn()  # warm the page cache and the connection
            times = [timed(fn) for _ in range(args.rounds)]
            rows.append((name, statistics.median(times)))
        res = []
        for _ in range(args.rounds):
            resumed()
            res.append(resumed.seconds)  # type: ignore[attr-defined]
        rows.append(("Hearth resuming from 50%", statistics.median(res)))

        header_times, served = [], []
        f = files.groups[0].files[0]
        for _ in range(args.rounds):
            before = srv.state.served.get(f.path, 0)
            t = time.perf_counter()
            hub.read_header(GEMMA_REPO, f, files.revision)
            header_times.append(time.perf_counter() - t)
            served.append(srv.state.served.get(f.path, 0) - before)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"file: {GEMMA} ({size / 1e6:.1f} MB) from a Hub server on 127.0.0.1\n")
    print("| method | seconds (median) | MB/s |")
    print("|---|---|---|")
    for name, sec in rows:
        print(f"| {name} | {sec:.2f} | {size / sec / 1e6:.0f} |")
    print(
        f"\nremote header read: {statistics.median(header_times) * 1000:.0f} ms, "
        f"{statistics.median(served) / 1e6:.1f} MB fetched of {size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
