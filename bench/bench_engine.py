"""Engine throughput: the Hearth worker against llama_cpp.Llama in-process and llama-bench.

Same model, same threads: prompt processing (pp, a fresh ~512-token prompt, nothing reused) and
generation (tg, 128 greedy tokens) through (1) llama.cpp's own llama-bench, built once from the
vendored llama.cpp of the installed llama-cpp-python's sdist with the wheel's CMake flags and
cached in <cache>/llama-bench/<version>/, (2) llama_cpp.Llama called in this process and (3) the
worker process through BlockingEngine, as the app uses it. Each round runs the three one after
another (never two models loaded at once; the order alternates between rounds) and ratios are
paired by round, so that a machine whose speed drifts favours none. Then the worker's time to
first token at turns 1 and 10 of a conversation (the KV cache is reused, so turn 10 should cost
about what turn 1 does). With --thinking, only that conversation, with a copy of the model whose
template opens a think block and drops earlier thinking, as Qwen3's and DeepSeek-R1's do: each
reply thinks, the answer alone goes back into the history (as the app sends it), and the turns'
prompt and reused tokens show how much of the KV cache survives the dropped thinking. Every
measurement waits for other programs to leave the CPU alone and
is repeated if they did not. Targets are reported, not asserted. From the repository root:

    .venv/bin/python bench/bench_engine.py [--model PATH] [--both] [--json FILE] [--skip-llama-bench]
    .venv/bin/python bench/bench_engine.py --thinking [--model PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from app.engine.client import BlockingEngine

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

THREADS, PP, TG, N_CTX, BATCH = 2, 512, 128, 2048, 512
TURNS, REPLY_TOKENS, CHATS = 10, 48, 3
TARGET_INPROC, TARGET_BENCH, TARGET_TTFT = 0.97, 0.90, 1.3
GREEDY = {"temperature": 0, "seed": 1}  # the worker keeps the app's other sampling defaults
FILLER = (
    "The keeper of the old lighthouse wrote every evening in a thick notebook about the weather, "
    "the ships that passed, the birds on the rocks and the slow change of the seasons."
)
QUESTIONS = (
    ["Hi! Can you help me plan a small vegetable garden?"]
    + [
        f"How do I grow {plant}?"
        for plant in ("tomatoes", "lettuce", "carrots", "beans", "basil", "peas", "onions", "mint")
    ]
    + ["Thanks! Can you sum the plan up in three lines?"]
)
THINK_TOKENS = 64  # a thinking reply's cap: each turn stays quick
# ChatML whose generation prompt opens a think block and which drops the thinking (everything up
# to </think>) from earlier assistant messages, as Qwen3's and DeepSeek-R1's templates do.
THINKING_CHATML = (
    "{% for message in messages %}{% set content = message['content'] %}"
    "{% if message['role'] == 'assistant' and '</think>' in content %}"
    "{% set content = content.split('</think>')[-1].lstrip() %}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + content + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n<think>\\n' }}{% endif %}"
)
Messages = list[dict[str, str]]
_KEEP: list[Any] = []  # the runtime whose log callback llama.cpp keeps for the whole run


def cache_root() -> Path:
    env = os.environ.get("HEARTH_DEV_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hearth-dev"


def models_dir() -> Path:
    env = os.environ.get("HEARTH_TEST_MODELS")
    return Path(env).expanduser() if env else cache_root() / "models"


def machine() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


# -- other programs' CPU use (a 2-core machine is easily disturbed) ---------------------------


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds all programs used, CPU seconds this process and its children used)."""
    t = psutil.cpu_times()
    busy = t.user + t.nice + t.system + t.irq + t.softirq
    me = psutil.Process()
    c = me.cpu_times()
    own = c.user + c.system + c.children_user + c.children_system
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            ct = child.cpu_times()
            own += ct.user + ct.system
    return busy, own


def measure_others(fn: Callable[[], dict]) -> dict:
    """Run ``fn``; add ``other_cores``: CPU cores other programs used meanwhile, on average."""
    (busy0, own0), t0 = _cpu_seconds(), time.monotonic()
    result = fn()
    (busy1, own1), wall = _cpu_seconds(), time.monotonic() - t0
    result["other_cores"] = round(max(0.0, (busy1 - busy0) - (own1 - own0)) / wall, 3)
    return result


def _pause() -> dict:
    time.sleep(1)
    return {}


def measure_quietly(fn: Callable[[], dict], wait_s: float, busy: float = 0.1) -> dict:
    """Run ``fn`` once other programs leave the CPU alone (waiting up to ``wait_s``); again
    (up to 5 times) if they took more than ``busy`` cores meanwhile."""
    deadline = time.monotonic() + wait_s
    for _ in range(5):
        said = False
        while (idle := measure_others(_pause))[
            "other_cores"
        ] > busy and time.monotonic() < deadline:
            if not said:
                print(f"  other programs use {idle['other_cores']:.1f} cores; waiting", flush=True)
                said = True
        result = measure_others(fn)
        if result["other_cores"] <= busy:
            break
        print(f"  disturbed ({result['other_cores']:.1f} cores used by others); again", flush=True)
    return result


# -- llama-bench -------------------------------------------------------------------------------


def ensure_llama_bench(version: str) -> tuple[Path | None, float | None]:
    """The llama-bench binary for ``version`` (built on first use) and the build time if built."""
    dest = cache_root() / "llama-bench" / version
    exe = dest / "build" / "bin" / "llama-bench"
    if exe.exists():
        return exe, None
    sdist = cache_root() / "sdist" / f"llama_cpp_python-{version}.tar.gz"
    if not sdist.exists():
        print(f"fetching the llama-cpp-python {version} source package ...", flush=True)
        pip = f"-m pip download --no-deps --no-binary :all: llama-cpp-python=={version} -d"
        subprocess.run([sys.executable, *pip.split(" "), str(sdist.parent)], check=True)
    src = dest / "src" / f"llama_cpp_python-{version}" / "vendor" / "llama.cpp"
    if not (src / "CMakeLists.txt").exists():
        prefix = f"llama_cpp_python-{version}/vendor/llama.cpp/"
        with tarfile.open(sdist) as tar:
            tar.extractall(dest / "src", [m for m in tar.getmembers() if m.name.startswith(prefix)])
    print(f"building llama-bench {version} from {src} (once; several minutes) ...", flush=True)
    started = time.monotonic()
    flags = "-DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON -DGGML_NATIVE=ON"
    flags += " -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF"
    flags += " -DLLAMA_OPENSSL=OFF"  # the same build as the wheel's; no network code needed
    jobs = str(os.cpu_count() or 2)
    for cmd in (
        ["cmake", "-S", str(src), "-B", str(dest / "build"), *flags.split()],
        ["cmake", "--build", str(dest / "build"), "--target", "llama-bench", "-j", jobs],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"llama-bench build failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
            return None, None
    took = time.monotonic() - started
    print(f"built llama-bench in {took:.0f} s", flush=True)
    return exe, took


def ensure_llama_tool(version: str, target: str, configure: tuple[str, ...] = ()) -> Path:
    """Another llama.cpp program (``llama-perplexity``, ``llama-server``), built once in
    llama-bench's build tree; ``configure``: cmake options it needs first."""
    bench_exe, _ = ensure_llama_bench(version)
    if bench_exe is None:
        raise SystemExit("llama.cpp could not be built")
    build = bench_exe.parent.parent
    exe = build / "bin" / target
    if not exe.exists():
        print(f"building {target} (once; minutes) ...", flush=True)
        if configure:
            subprocess.run(["cmake", *configure, "."], cwd=build, check=True, capture_output=True)
        jobs = str(os.cpu_count() or 2)
        cmd = ["cmake", "--build", ".", "--target", target, "-j", jobs]
        subprocess.run(cmd, cwd=build, check=True, capture_output=True)
    return exe


def run_llama_bench(exe: Path, model: Path, fa: str) -> dict:
    args = f"-t {THREADS} -p {PP} -n {TG} -b {BATCH} -ub {BATCH} -fa {fa} -r 1 -o json"
    cmd = [str(exe), "-m", str(model), *args.split()]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return {"pp" if t["n_gen"] == 0 else "tg": float(t["avg_ts"]) for t in json.loads(done.stdout)}


# -- the Python paths ----------------------------------------------------------------------------


def build_prompts(model: Path) -> tuple[Messages, list[int], Messages, list[int]]:
    """The pp and tg conversations and their tokens, rendered and tokenized by Hearth's own
    runtime so that the in-process path evaluates exactly the tokens the worker does."""
    from app.core.options import LoadOptions
    from app.engine.runtime import Runtime

    rt = Runtime()
    _KEEP.append(rt)
    rt.load(str(model), LoadOptions(n_ctx=256, n_threads=THREADS))
    assert rt.loaded is not None
    render = rt.loaded.template.render

    def tokens(msgs: Messages) -> list[int]:
        return rt.tokenize(render(msgs, add_generation_prompt=True))

    def pp_messages(n: int) -> Messages:
        words = FILLER.split()
        return [{"role": "user", "content": " ".join(words[i % len(words)] for i in range(n))}]

    lo, hi = 1, 2 * PP  # the most words whose prompt has at most PP tokens
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if len(tokens(pp_messages(mid))) <= PP else (lo, mid - 1)
    tg_msgs = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    result = pp_messages(lo), tokens(pp_messages(lo)), tg_msgs, tokens(tg_msgs)
    rt.unload()
    return result


def run_in_process(model: Path, pp_tokens: list[int], tg_tokens: list[int], fa: bool) -> dict:
    from llama_cpp import Llama

    llm = Llama(str(model), n_ctx=N_CTX, n_threads=THREADS, n_threads_batch=THREADS,
                n_batch=BATCH, n_ubatch=BATCH, flash_attn=fa, verbose=False)  # fmt: skip
    try:
        t0 = time.perf_counter()  # the context's first decode, as in the worker
        llm.eval(pp_tokens)
        pp = len(pp_tokens) / (time.perf_counter() - t0)
        llm.reset()
        llm.eval(tg_tokens)
        # The prompt is cached, so generate() samples at once: TG samples and TG - 1 decodes, as
        # in the worker. Greedy (temp 0); generate() itself never stops at end-of-generation.
        n, t0 = 0, time.perf_counter()
        for _tok in llm.generate(tg_tokens, temp=0.0, repeat_penalty=1.0):
            n += 1
            if n == TG:
                break
        return {"pp": pp, "tg": n / (time.perf_counter() - t0)}
    finally:
        llm.close()


def start_worker() -> BlockingEngine:
    from app.engine.client import BlockingEngine

    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return BlockingEngine(env={**os.environ, "PYTHONPATH": path})


def load_options(fa: str) -> dict[str, Any]:
    return dict(n_ctx=N_CTX, n_threads=THREADS, n_batch=BATCH, n_ubatch=BATCH, flash_attn=fa)


def run_worker(model: Path, pp_msgs: Messages, tg_msgs: Messages, fa: str) -> dict:
    with start_worker() as engine:
        engine.load(str(model), load_options(fa))
        engine.chat(tg_msgs, {**GREEDY, "max_tokens": 8})  # the process's first decode: one-off
        # Reloading gives a fresh context, so nothing is reused: pp is the context's first
        # decode, as in the in-process path (llama-bench warms its context up first).
        engine.load(str(model), load_options(fa))
        _, s = engine.chat(pp_msgs, {**GREEDY, "max_tokens": 1})
        _, t = engine.chat(tg_msgs, {**GREEDY, "max_tokens": TG, "ignore_eos": True})
    if t["completion_tokens"] != TG:
        print(f"warning: the worker generated {t['completion_tokens']} tokens, not {TG}")
    pp_stats = {k: s[k] for k in ("prompt_tokens", "reused_tokens", "prompt_s")}
    return {"pp": s["prompt_tokens_per_second"], "tg": t["tokens_per_second"], **pp_stats}


TTFT_KEYS = ("prompt_tokens", "reused_tokens", "completion_tokens", "prompt_s", "ttft_s")


def _conversations(
    model: Path, fa: str, ask: Callable[[BlockingEngine, Messages], tuple[dict, str]]
) -> dict:
    """CHATS conversations of TURNS questions (one model load each); ``ask`` writes a reply and
    returns (its figures, the text that goes back as the assistant message; "" for none).
    TTFT at turn 1 and at the last turn, medians over the conversations."""
    chats = []
    with start_worker() as engine:
        for _ in range(CHATS):
            engine.load(str(model), load_options(fa))
            chat: Messages = []
            turns = []
            for question in QUESTIONS[:TURNS]:
                chat.append({"role": "user", "content": question})
                figures, reply = ask(engine, chat)
                if reply:  # the app leaves empty replies out of the history
                    chat.append({"role": "assistant", "content": reply})
                turns.append(figures)
            chats.append(turns)
    first = statistics.median(c[0]["ttft_s"] for c in chats)
    last = statistics.median(c[-1]["ttft_s"] for c in chats)
    return {"first_s": first, "last_s": last, "ratio": last / first, "conversations": chats}


def run_ttft(model: Path, fa: str) -> dict:
    """TTFT at turn 1 and turn TURNS of CHATS conversations (one model load each)."""

    def ask(engine: BlockingEngine, chat: Messages) -> tuple[dict, str]:
        text, s = engine.chat(chat, {**GREEDY, "max_tokens": REPLY_TOKENS})
        return {k: s[k] for k in TTFT_KEYS}, text

    return _conversations(model, fa, ask)


def run_thinking_ttft(model: Path, fa: str) -> dict:
    """As run_ttft, with replies that think: each reply's answer alone goes back as the assistant
    message (the app's history()), so the template's prompt differs from what the cache holds
    from the thinking on: the cache is reused up to the last reply's header."""

    def ask(engine: BlockingEngine, chat: Messages) -> tuple[dict, str]:
        answer: list[str] = []
        _, s = engine.chat(
            chat,
            {**GREEDY, "max_tokens": THINK_TOKENS},
            on_token=answer.append,
            on_reasoning=lambda _t: None,
        )
        text = "".join(answer)
        figures = {k: s[k] for k in (*TTFT_KEYS, "reasoning_tokens")}
        return figures | {"answer_chars": len(text)}, text.strip()

    return _conversations(model, fa, ask)


def bench_thinking(model: Path, fa: str, wait_s: float) -> dict:
    import tempfile

    from tests.gguf_factory import with_chat_template

    name = model.name.removesuffix(".gguf")
    print(
        f"\n== {name} with a thinking template: {CHATS} conversations of {TURNS} turns", flush=True
    )
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        thinker = with_chat_template(model, Path(tmp) / f"{name}-thinking.gguf", THINKING_CHATML)
        run = lambda: run_thinking_ttft(thinker, fa)  # noqa: E731
        # --wait-quiet 0: one run, however busy the machine is (flagged below)
        ttft = measure_quietly(run, wait_s) if wait_s > 0 else measure_others(run)
    turns = ttft["conversations"][0]
    cols = ["turn", "TTFT s", "prompt tok", "reused tok", "decoded tok", "thinking tok", "answer"]
    rows = [cols, ["-" * len(c) for c in cols]]
    for i, t in enumerate(turns, 1):
        ttft_med = statistics.median(c[i - 1]["ttft_s"] for c in ttft["conversations"])
        rows.append([
            str(i), f"{ttft_med:.3f}", str(t["prompt_tokens"]), str(t["reused_tokens"]),
            str(t["prompt_tokens"] - t["reused_tokens"]), str(t["reasoning_tokens"]),
            f"{t['answer_chars']} chars",
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    print(f"model: {name} + thinking template · threads {THREADS} · machine: {machine()}")
    print(f"replies capped at {THINK_TOKENS} tokens, greedy; TTFT: median of {CHATS} conversations")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print(
        f"TTFT turn 1: {ttft['first_s']:.3f} s, turn {TURNS}: {ttft['last_s']:.3f} s "
        f"(ratio {ttft['ratio']:.2f}, target <= {TARGET_TTFT}: "
        f"{ok(ttft['ratio'], TARGET_TTFT, at_most=True)})"
    )
    if ttft["other_cores"] > 0.1:
        print("warning: other programs used the CPU meanwhile; these numbers are unreliable")
    return {"model": name, "machine": machine(), "threads": THREADS, "thinking_ttft": ttft}


# -- report -------------------------------------------------------------------------------------


def ok(value: float | None, goal: float, at_most: bool = False) -> str:
    met = value is not None and (value <= goal if at_most else value >= goal)
    return "met" if met else "MISSED"


def times(q: float | None) -> str:
    return "n/a" if q is None else f"{q:.3f}x"


def paired(runs: dict[str, list[dict]], path: str, base: str, key: str) -> float | None:
    """The median over rounds of ``path``'s rate over ``base``'s in the same round."""
    if not runs.get(path) or not runs.get(base):
        return None
    return statistics.median(a[key] / b[key] for a, b in zip(runs[path], runs[base], strict=True))


def report(r: dict) -> None:
    runs, ttft = r["runs"], r["ttft"]
    print(f"\nmodel: {r['model']} · threads {THREADS} · machine: {r['machine']}")
    reused = [w["reused_tokens"] for w in runs["worker"]]
    print(
        f"llama-cpp-python {r['version']} · flash-attn {r['flash_attn']} · pp prompt "
        f"{r['pp_tokens']} tokens (worker reused {reused}) · tg after a "
        f"{r['tg_prompt_tokens']}-token prompt · medians of {r['rounds']} rounds, ratios paired"
    )
    cols = ["path", f"pp{PP} tok/s", f"tg{TG} tok/s", "pp vs llama-bench", "tg vs llama-bench"]
    cols += ["vs in-process (pp / tg)", "other load"]
    rows = [cols, ["-" * len(c) for c in cols]]
    names = {"llama_bench": "llama-bench", "in_process": "llama_cpp.Llama in-proc"}
    for path, results in runs.items():
        rates = [f"{statistics.median(x[k] for x in results):.1f}" for k in ("pp", "tg")]
        vs_bench = [times(paired(runs, path, "llama_bench", k)) for k in ("pp", "tg")]
        vs_inproc = [times(paired(runs, path, "in_process", k)) for k in ("pp", "tg")]
        other = f"{max(x['other_cores'] for x in results):.2f} cores"
        vs = " / ".join(vs_inproc) if path == "worker" else ""
        rows.append([names.get(path, "Hearth worker"), *rates, *vs_bench, vs, other])
    widths = [max(len(row[i]) for row in rows) for i in range(len(cols))]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("| " + " | ".join(cells) + " |")
    c1, c10 = ttft["conversations"][0][0], ttft["conversations"][0][-1]
    print(
        f"TTFT turn 1: {ttft['first_s']:.3f} s, turn {TURNS}: {ttft['last_s']:.3f} s "
        f"(ratio {ttft['ratio']:.2f}, target <= {TARGET_TTFT}: "
        f"{ok(ttft['ratio'], TARGET_TTFT, at_most=True)}; median of {CHATS} conversations)"
    )
    print(
        f"  prompt tokens processed: turn 1 {c1['prompt_tokens']}, turn {TURNS} "
        f"{c10['prompt_tokens'] - c10['reused_tokens']} (of {c10['prompt_tokens']}, the rest "
        f"reused); turn {TURNS} time outside prompt decoding "
        f"{1000 * (c10['ttft_s'] - c10['prompt_s']):.1f} ms"
    )
    goals = (
        ("in-process", TARGET_INPROC, "in_process"),
        ("llama-bench", TARGET_BENCH, "llama_bench"),
    )
    verdicts = [
        f"{goal} x {name} (pp {ok(paired(runs, 'worker', base, 'pp'), goal)}, "
        f"tg {ok(paired(runs, 'worker', base, 'tg'), goal)})"
        for name, goal, base in goals
        if base in runs
    ]
    print("Targets: worker >= " + ", >= ".join(verdicts))
    loads = [x["other_cores"] for v in runs.values() for x in v] + [ttft["other_cores"]]
    if max(loads) > 0.1:
        print("warning: other programs used the CPU meanwhile; these numbers are unreliable")


def bench_model(model: Path, exe: Path | None, fa: str, rounds: int, wait_s: float) -> dict:
    name = model.name.removesuffix(".gguf")
    print(f"\n== {name}: preparing prompts ...", flush=True)
    pp_msgs, pp_tokens, tg_msgs, tg_tokens = build_prompts(model)
    paths: dict[str, Callable[[], dict]] = {}
    if exe is not None:
        bench_exe = exe
        paths["llama_bench"] = lambda: run_llama_bench(bench_exe, model, fa)
    paths["in_process"] = lambda: run_in_process(model, pp_tokens, tg_tokens, fa == "on")
    paths["worker"] = lambda: run_worker(model, pp_msgs, tg_msgs, fa)
    runs: dict[str, list[dict]] = {k: [] for k in paths}
    paths["in_process"]()  # warm-up: this process's first decode has one-time costs
    for i in range(rounds):
        for key in list(paths)[:: 1 if i % 2 == 0 else -1]:
            runs[key].append(measure_quietly(paths[key], wait_s))
        summary = ", ".join(f"{k} {v[-1]['pp']:.0f}/{v[-1]['tg']:.1f}" for k, v in runs.items())
        print(f"  round {i + 1}/{rounds} (pp/tg tok/s): {summary}", flush=True)
    print(f"  TTFT: {CHATS} conversations of {TURNS} turns ...", flush=True)
    ttft = measure_quietly(lambda: run_ttft(model, fa), wait_s)
    for w in runs["worker"]:
        if w["reused_tokens"] or w["prompt_tokens"] != len(pp_tokens):
            print(f"warning: the worker's pp prompt was not fresh or not the same prompt: {w}")
    r = {
        "model": name, "path": str(model), "machine": machine(), "threads": THREADS,
        "version": dist_version("llama_cpp_python"), "flash_attn": fa, "pp_tokens": len(pp_tokens),
        "tg_prompt_tokens": len(tg_tokens), "rounds": rounds, "runs": runs, "ttft": ttft,
    }  # fmt: skip
    report(r)
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--model", type=Path, default=models_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--both", action="store_true", help="also run gemma-3-270m-Q4_K_M")
    ap.add_argument("--json", type=Path, help="also write the numbers to this file")
    ap.add_argument("--skip-llama-bench", action="store_true")
    fa_help = "flash attention in all three paths (default on: what the app's auto picks on CPU)"
    ap.add_argument("--flash-attn", choices=("on", "off"), default="on", help=fa_help)
    ap.add_argument("--rounds", type=int, default=5, help="rounds of pp and tg (default 5)")
    wait_help = "wait up to S seconds before a measurement for other programs to leave the CPU"
    ap.add_argument("--wait-quiet", type=float, default=300, metavar="S", help=wait_help)
    think_help = "only the TTFT conversation, with replies that think (a thinking template)"
    ap.add_argument("--thinking", action="store_true", help=think_help)
    args = ap.parse_args(argv)
    if args.thinking:
        if not args.model.exists():
            ap.error(f"model not found: {args.model}")
        r = bench_thinking(args.model, args.flash_attn, args.wait_quiet)
        if args.json:
            args.json.write_text(json.dumps(r, indent=2))
        return 0
    models = [args.model]
    gemma = models_dir() / "gemma-3-270m-Q4_K_M.gguf"
    if args.both and gemma.resolve() != args.model.resolve():
        models.append(gemma)
    for m in models:
        if not m.exists():
            ap.error(f"model not found: {m}")
    exe, build_s = None, None
    if not args.skip_llama_bench:
        exe, build_s = ensure_llama_bench(dist_version("llama_cpp_python"))
    runs = [bench_model(m, exe, args.flash_attn, args.rounds, args.wait_quiet) for m in models]
    if args.json:
        args.json.write_text(json.dumps({"llama_bench_build_s": build_s, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
