"""Library scan speed: the first scan of 500 GGUF files and a rescan when nothing changed.

The files are small but real GGUF headers (a 1,000-entry vocabulary, 60 tensors, a chat template),
spread over nested folders, as a library of downloaded models is.

    python bench/bench_library.py [--files 500]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.core.library.index import Library
from tests import gguf_factory as F


def model_bytes(i: int) -> bytes:
    kvs = [
        F.kv("general.architecture", F.STRING, "llama"),
        F.kv("general.name", F.STRING, f"Bench Model {i}"),
        F.kv("llama.context_length", F.U32, 8192),
        F.kv("llama.block_count", F.U32, 30),
        F.kv(
            "tokenizer.chat_template",
            F.STRING,
            "{% for m in messages %}{{ m['content'] }}{% endfor %}" * 20,
        ),
        F.kv_array("tokenizer.ggml.tokens", F.STRING, [f"tok{j}" for j in range(1000)]),
    ]
    tensors = [F.tensor(f"blk.{j // 2}.w{j % 2}", (256,), F.F16_TYPE, j * 512) for j in range(60)]
    head = F.header(kvs, tensors)
    return head + b"\0" * ((-len(head)) % 32) + b"\1" * (60 * 512)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "models"
        for i in range(args.files):
            folder = root / f"publisher{i % 25}" / f"repo{i % 100}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"Model-{i}-Q4_K_M.gguf").write_bytes(model_bytes(i))
        lib = Library(Path(tmp) / "library.sqlite3", Path(tmp) / "app")
        lib.add_folder(root)
        t0 = time.perf_counter()
        first = lib.scan()
        first_s = time.perf_counter() - t0
        rescans = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            again = lib.scan()
            rescans.append(time.perf_counter() - t0)
            assert again.read == 0 and again.reused == args.files
        victim = next(root.rglob("*.gguf"))
        os.utime(victim, ns=(time.time_ns(), time.time_ns()))
        t0 = time.perf_counter()
        one = lib.scan()
        one_s = time.perf_counter() - t0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    print(f"| {'scan of ' + str(args.files) + ' files':<33} | seconds | headers read |")
    print("|-----------------------------------|---------|--------------|")
    print(f"| first scan                        | {first_s:7.3f} | {first.read:12} |")
    print(f"| rescan, nothing changed (median)  | {statistics.median(rescans):7.3f} | {0:12} |")
    print(f"| rescan, one file touched          | {one_s:7.3f} | {one.read:12} |")
    print("target: rescan of unchanged files under 1 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
