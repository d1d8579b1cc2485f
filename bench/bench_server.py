"""The local API under several clients: aggregate generation speed at 1, 2 and 4 concurrent
streams through ``hearth serve --parallel 4`` against ``llama-server -np 4`` built from the same
vendored llama.cpp (next to llama-bench; see bench_engine.py), same model, threads and context.

Each client streams one chat reply of a fixed length (``ignore_eos``, greedy) through the
OpenAI-compatible route; the aggregate speed is all the tokens generated over the wall time from
the first request to the last token. Rounds alternate the two servers so machine noise hits both.

    python bench/bench_server.py [--model PATH] [--tokens 128] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bench_engine import ensure_llama_tool, machine, models_dir

LEVELS = (1, 2, 4)
THREADS = str(os.cpu_count() or 2)
CTX = 8192  # shared by the 4 slots: 2,048 each, on both servers
PROMPTS = ["Tell me a story.", "Describe the sea.", "Explain rain.", "Write about a city."]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_llama_server(version: str) -> Path:
    return ensure_llama_tool(version, "llama-server", ("-DLLAMA_BUILD_SERVER=ON",))


def _wait(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode}")
        try:
            if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{what} did not start")


def start_hearth(model: Path, port: int, home: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "app",
        "--basedir",
        home,
        "serve",
        str(model),
        "--port",
        str(port),
        "--parallel",
        "4",
        "--ctx",
        str(CTX),
        "--threads",
        THREADS,
        "--quiet",
        "--max-tokens",
        "100000",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_llama_server(exe: Path, model: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [
        str(exe),
        "-m",
        str(model),
        "--port",
        str(port),
        "-np",
        "4",
        "-c",
        str(CTX),
        "-t",
        THREADS,
        "-tb",
        THREADS,
        "--no-webui",
        "-lv",
        "0",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def one_stream(url: str, prompt: str, tokens: int, out: list[tuple[int, float]]) -> None:
    model = httpx.get(url + "/v1/models", timeout=10).json()["data"][0]["id"]
    body = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    n = 0
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=600) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                n = int(chunk["usage"]["completion_tokens"])
    out.append((n, time.monotonic()))


def aggregate(url: str, clients: int, tokens: int) -> float:
    done: list[tuple[int, float]] = []
    threads = [
        threading.Thread(target=one_stream, args=(url, PROMPTS[i % 4], tokens, done))
        for i in range(clients)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(n for n, _ in done)
    return total / (max(t for _, t in done) - started)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--tokens", type=int, default=128, help="tokens per reply")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    version = json.loads(
        (Path(__file__).resolve().parents[1] / "native" / "backends.json").read_text()
    )["llama_cpp_python_version"]
    exe = ensure_llama_server(version)
    results: dict[str, dict[int, list[float]]] = {
        "hearth": {n: [] for n in LEVELS},
        "llama-server": {n: [] for n in LEVELS},
    }
    with tempfile.TemporaryDirectory() as home:
        for _ in range(args.rounds):
            for name in ("hearth", "llama-server"):
                port = _port()
                proc = (
                    start_hearth(args.model, port, home)
                    if name == "hearth"
                    else start_llama_server(exe, args.model, port)
                )
                url = f"http://127.0.0.1:{port}"
                try:
                    _wait(url, proc, name)
                    aggregate(url, 1, 16)  # warm up
                    for n in LEVELS:
                        results[name][n].append(aggregate(url, n, args.tokens))
                finally:
                    proc.terminate()
                    proc.wait(20)
    print(
        f"machine: {machine()}; model {args.model.name}; {THREADS} threads; context {CTX} "
        f"shared by 4 slots; {args.tokens} tokens a reply; medians of {args.rounds} rounds"
    )
    print("| streams | llama-server -np 4 tok/s | Hearth --parallel 4 tok/s | ratio |")
    print("|---|---|---|---|")
    worst = 9.9
    for n in LEVELS:
        ref = statistics.median(results["llama-server"][n])
        ours = statistics.median(results["hearth"][n])
        worst = min(worst, ours / ref)
        print(f"| {n} | {ref:.1f} | {ours:.1f} | {ours / ref:.2f}x |")
    print(f"lowest ratio {worst:.2f}x (target >= 0.9x: {'met' if worst >= 0.9 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
