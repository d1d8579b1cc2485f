"""The ``hearth`` command line: chat and model tools over core and the engine worker (no Qt)."""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from app import __version__
from app.core import paths, starter
from app.core.gguf_header import GGUFError, human_bytes, read_header_file
from app.core.library import MISSING, OK, LibraryError, open_library
from app.core.model_info import ModelInfo, inspect_model
from app.core.model_lookup import ModelNotFound, resolve_model
from app.core.options import LoadOptions, OptionError, SamplingOptions
from app.core.safe_text import clean_line
from app.core.settings import load_settings, take_warnings
from app.engine.client import BlockingEngine, EngineError

COMMANDS = (
    "chat",
    "list",
    "inspect",
    "library",
    "import",
    "hw",
    "fit",
    "search",
    "files",
    "download",
    "token",
)
EXIT_OK, EXIT_ENGINE, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """One line for stderr and an exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Private, offline chat with GGUF models. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    parser.add_argument("--basedir", help="keep all data, settings and caches under this folder")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = sub.add_parser("chat", help="chat with a model in the terminal, or answer one prompt")
    chat.add_argument(
        "model", metavar="MODEL", help="a .gguf path, or a model's name in the library"
    )
    chat.add_argument(
        "--prompt", "-p", help="answer this prompt and exit (default: interactive chat)"
    )
    chat.add_argument("--system", help="system prompt")
    chat.add_argument("--max-tokens", type=int, help="most tokens in a reply")
    chat.add_argument("--ctx", type=int, help="context length in tokens")
    chat.add_argument("--gpu-layers", type=int, help="layers to put on the GPU (-1: all)")
    chat.add_argument("--threads", type=int, help="CPU threads")
    chat.add_argument("--temperature", type=float, help="sampling temperature (0: greedy)")
    chat.add_argument("--seed", type=int, help="random seed, for repeatable replies")
    chat.add_argument(
        "--json", action="store_true", help="print one JSON object with the reply and figures"
    )

    ls = sub.add_parser("list", help="the models in the library")
    ls.add_argument("--json", action="store_true", help="print a JSON list of model objects")

    ins = sub.add_parser("inspect", help="what a GGUF file is, from its header")
    ins.add_argument("path", metavar="PATH")
    ins.add_argument("--json", action="store_true", help="print one JSON object")

    lib = sub.add_parser("library", help="the folders the library watches")
    lib_sub = lib.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    add = lib_sub.add_parser("add-folder", help="add a folder (scanned with its subfolders)")
    add.add_argument("folder", metavar="DIR")
    rm = lib_sub.add_parser("remove-folder", help="stop watching a folder (no file is deleted)")
    rm.add_argument("folder", metavar="DIR")
    lib_sub.add_parser("folders", help="list the folders")

    hw = sub.add_parser("hw", help="this machine: RAM, CPU, GPUs and the llama.cpp build")
    hw.add_argument("--json", action="store_true", help="print one JSON object")

    fit = sub.add_parser("fit", help="will a model fit here, and how should it be loaded?")
    fit.add_argument(
        "target", metavar="TARGET", help="a .gguf path, a file name, or a name and a quant"
    )
    fit.add_argument("--params", help="parameter count, e.g. 8B or 135M (for a name without one)")
    fit.add_argument("--ctx", type=int, help="context length in tokens")
    fit.add_argument("--kv-type", choices=["f16", "q8_0", "q4_0"], help="KV cache type")
    fit.add_argument("--gpu-layers", help="layers on the GPU: a number, -1 for all, or auto")
    fit.add_argument(
        "--ram", type=float, metavar="GB", help="plan for a machine with this much RAM (GiB)"
    )
    fit.add_argument(
        "--vram", type=float, metavar="GB", help="plan for a machine with this much VRAM (GiB)"
    )
    fit.add_argument("--json", action="store_true", help="print one JSON object")

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

    imp = sub.add_parser("import", help="add one model file to the library")
    imp.add_argument("file", metavar="FILE")
    how = imp.add_mutually_exclusive_group()
    how.add_argument("--copy", action="store_true", help="copy it into the app's model folder")
    how.add_argument("--move", action="store_true", help="move it into the app's model folder")
    return parser


def _library():
    settings, _ = load_settings()
    lib = open_library(settings.models_path())
    lib.folders()  # opens (and if damaged, rebuilds) the index now, so the notice comes first
    notice = lib.take_notice()
    if notice:
        print(f"hearth: {notice}", file=sys.stderr)
    return lib


def _check_model(target: str) -> Path:
    settings, _ = load_settings()
    try:
        known = [Path(p) for p in settings.recent_models if Path(p).exists()]
        if not target.lower().endswith(".gguf") and not Path(target).exists():
            known += [Path(e.path) for e in _library().scan().entries if e.status == OK]
            bundled = starter.bundled_path()
            if bundled is not None and not any(p.name == bundled.name for p in known):
                known.append(bundled)  # a packaged build's starter model, before it is added
        path = resolve_model(target, known)
    except ModelNotFound as exc:
        raise CliError(str(exc)) from None
    try:
        read_header_file(path)
    except GGUFError as exc:
        raise CliError(f"cannot use {path}: {exc}") from None
    return path


def _options(args: argparse.Namespace) -> tuple[LoadOptions, SamplingOptions]:
    settings, _warning = load_settings()
    load_over: dict[str, Any] = {}
    if args.ctx is not None:
        load_over["n_ctx"] = args.ctx
    if args.gpu_layers is not None:
        load_over["n_gpu_layers"] = args.gpu_layers
    if args.threads is not None:
        load_over["n_threads"] = args.threads
    samp_over: dict[str, Any] = {}
    if args.max_tokens is not None:
        samp_over["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        samp_over["temperature"] = args.temperature
    if args.seed is not None:
        samp_over["seed"] = args.seed
    try:
        return settings.load.merged(load_over), settings.sampling.merged(samp_over)
    except OptionError as exc:
        raise CliError(str(exc)) from None


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, fraction: float) -> None:
        if self.enabled:
            print(f"\rloading model… {fraction * 100:3.0f}%", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print("\r" + " " * 24 + "\r", end="", file=sys.stderr, flush=True)


def cmd_chat(args: argparse.Namespace) -> int:
    path = _check_model(args.model)
    load, sampling = _options(args)
    settings, _ = load_settings()
    system = args.system if args.system is not None else settings.system_prompt
    progress = _Progress(sys.stderr.isatty() and not args.json)
    try:
        engine = BlockingEngine()
    except EngineError as exc:
        raise CliError(f"the engine could not start: {exc}", EXIT_ENGINE) from None
    try:
        try:
            info = engine.load(str(path), load.to_dict(), progress)
        except EngineError as exc:
            raise CliError(
                str(exc), EXIT_INPUT if exc.code == "load_failed" else EXIT_ENGINE
            ) from None
        finally:
            progress.done()
        for note in info.get("notes", []):
            if not args.json:
                print(f"note: {note}", file=sys.stderr)
        messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
        if args.prompt is not None:
            messages.append({"role": "user", "content": args.prompt})
            return _one_reply(engine, messages, sampling, args.json)
        return _interactive(engine, messages, sampling, info)
    finally:
        engine.close()


def _reply(
    engine: BlockingEngine, messages: list[dict[str, str]], sampling: SamplingOptions, stream: bool
) -> tuple[str, dict[str, Any]]:
    """One reply; Ctrl+C stops it (the partial reply is kept)."""

    def on_token(text: str) -> None:
        if stream:
            sys.stdout.write(text)
            sys.stdout.flush()

    def on_started(event: dict[str, Any]) -> None:
        if event.get("dropped_messages"):
            print(
                f"\nnote: the {event['dropped_messages']} oldest messages no longer fit in the "
                f"{event['n_ctx']:,}-token context and were left out",
                file=sys.stderr,
            )

    result: dict[str, Any] = {}
    error: list[BaseException] = []
    finished = threading.Event()

    def run() -> None:
        try:
            result["value"] = engine.chat(messages, sampling.to_dict(), on_token, on_started)
        except BaseException as exc:
            error.append(exc)
        finally:
            finished.set()

    # SIGINT (Ctrl+C, or `kill -INT` of a background run, where the shell left it ignored)
    # asks the engine to stop; the reply then ends as "stopped" with what was generated.
    # A handler rather than KeyboardInterrupt: an exception raised inside Thread.join can
    # leave the thread looking finished while it still runs.
    previous = signal.signal(signal.SIGINT, lambda *_: engine.stop())
    try:
        threading.Thread(target=run, name="chat-reply", daemon=True).start()
        while not finished.wait(0.1):
            pass
    finally:
        signal.signal(signal.SIGINT, previous)
    if error:
        exc = error[0]
        if isinstance(exc, EngineError):
            raise CliError(
                str(exc), EXIT_ENGINE if exc.code in ("crashed", "internal") else EXIT_INPUT
            )
        raise exc
    return result["value"]


def _one_reply(
    engine: BlockingEngine, messages: list[dict[str, str]], sampling: SamplingOptions, as_json: bool
) -> int:
    text, stats = _reply(engine, messages, sampling, stream=not as_json)
    if as_json:
        print(
            json.dumps(
                {
                    "reply": text,
                    "prompt_tokens": stats["prompt_tokens"],
                    "completion_tokens": stats["completion_tokens"],
                    "ttft_s": stats["ttft_s"],
                    "tokens_per_second": stats["tokens_per_second"],
                    "stop_reason": stats["stop_reason"],
                    "n_ctx": stats["n_ctx"],
                    "prompt_s": stats.get("prompt_s"),
                    "seed": stats.get("seed"),
                },
                ensure_ascii=False,
            )
        )
    else:
        sys.stdout.write("\n")
    return EXIT_INTERRUPTED if stats["stop_reason"] == "stopped" else EXIT_OK


def _interactive(
    engine: BlockingEngine,
    messages: list[dict[str, str]],
    sampling: SamplingOptions,
    info: dict[str, Any],
) -> int:
    tty = sys.stdin.isatty()
    if tty:
        print(
            f"Chatting with {info['name']} ({info['n_ctx']:,}-token context). "
            "Enter sends; /clear starts over; /quit or Ctrl+D leaves; Ctrl+C stops a reply.",
            file=sys.stderr,
        )
    base = list(messages)
    while True:
        try:
            line = input("> " if tty else "")
        except EOFError:
            return EXIT_OK
        except KeyboardInterrupt:
            print(file=sys.stderr)
            return EXIT_OK
        text = line.strip()
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return EXIT_OK
        if text == "/clear":
            messages = list(base)
            continue
        messages.append({"role": "user", "content": line})
        reply, stats = _reply(engine, messages, sampling, stream=True)
        sys.stdout.write("\n")
        sys.stdout.flush()
        messages.append({"role": "assistant", "content": reply})
        if stats["stop_reason"] == "context_full":
            print("note: the context is full; the reply was cut off", file=sys.stderr)


def _fmt_params(n: int | None) -> str:
    if not n:
        return "?"
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def _info_json(info: ModelInfo, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    d = info.to_dict()
    if extra:
        d.update(extra)
    return d


def cmd_list(args: argparse.Namespace) -> int:
    entries = _library().scan().entries
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False))
        return EXIT_OK
    if not entries:
        print("The library is empty. Add a folder with `hearth library add-folder DIR`.")
        return EXIT_OK
    rows = [("NAME", "ARCH", "PARAMS", "QUANT", "SIZE", "CONTEXT", "STATUS", "PATH")]
    for e in entries:
        i = e.info
        status = e.status if e.status != "invalid" else f"invalid: {e.error}"
        rows.append(
            (
                Path(e.path).stem,
                i.architecture or "?",
                _fmt_params(i.parameters),
                i.quant or "?",
                human_bytes(i.file_size),
                f"{i.context_length:,}" if i.context_length else "?",
                status,
                e.path,
            )
        )
    shown = [[clean_line(c) for c in r] for r in rows]  # names and paths come from files
    widths = [max(len(r[c]) for r in shown) for c in range(len(shown[0]) - 1)]
    for r in shown:
        print("  ".join(r[c].ljust(widths[c]) for c in range(len(widths))) + "  " + r[-1])
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    info = inspect_model(args.path)
    if args.json:
        print(json.dumps(_info_json(info), ensure_ascii=False))
        return EXIT_OK if info.valid else EXIT_INPUT
    if not info.valid:
        raise CliError(f"cannot read {args.path}: {info.error}")
    lines = [
        ("name", info.display_name),
        ("architecture", info.architecture),
        (
            "parameters",
            f"{info.parameters:,}"
            + (f" ({info.active_parameters:,} active)" if info.active_parameters else ""),
        ),
        ("quant", f"{info.quant} ({info.bits_per_weight} bits per weight)"),
        ("file size", f"{human_bytes(info.file_size)} in {len(info.parts)} part(s)"),
        ("context length", f"{info.context_length:,}" if info.context_length else "?"),
        ("layers", info.block_count),
        ("embedding length", info.embedding_length),
        ("attention heads", f"{info.head_count} (key/value heads: {info.head_count_kv})"),
        ("key/value length", f"{info.key_length} / {info.value_length}"),
        ("sliding window", info.sliding_window or "none"),
        (
            "experts",
            f"{info.expert_used_count} of {info.expert_count} used"
            if info.expert_count
            else "none",
        ),
        ("chat template", "yes" if info.has_chat_template else "none"),
        ("license", info.license or "?"),
        ("tensor types", ", ".join(f"{k} {human_bytes(v)}" for k, v in info.tensor_types.items())),
    ]
    for key, value in lines:
        print(f"{key:>17}: {clean_line(str(value))}")
    return EXIT_OK


def cmd_library(args: argparse.Namespace) -> int:
    lib = _library()
    if args.library_command == "folders":
        print(f"{lib.app_folder}  (the app's own folder)")
        for f in lib.folders():
            print(f)
        return EXIT_OK
    if args.library_command == "remove-folder":
        lib.remove_folder(args.folder)
        return EXIT_OK
    try:
        folder = lib.add_folder(args.folder)
    except LibraryError as exc:
        raise CliError(str(exc)) from None
    result = lib.scan()
    found = [e for e in result.entries if e.root == str(folder) and e.status != MISSING]
    print(f"added {folder}: {len(found)} model(s)")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    mode = "copy" if args.copy else "move" if args.move else "keep"
    lib = _library()
    tty = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if tty:
            print(
                f"\r{mode[:-1] if mode == 'move' else mode}ing… {done * 100 // max(total, 1):3d}%",
                end="",
                file=sys.stderr,
                flush=True,
            )

    try:
        placed = lib.import_file(args.file, mode, progress)
    except LibraryError as exc:
        raise CliError(str(exc)) from None
    finally:
        if tty:
            print("\r" + " " * 20 + "\r", end="", file=sys.stderr)
    lib.scan()
    print(f"imported {placed}")
    return EXIT_OK


def _engine_hardware() -> Any:
    """Probe this machine, asking an engine worker which devices llama.cpp can use."""
    from app.core.hardware import probe, probe_build

    try:
        engine = BlockingEngine()
    except EngineError:
        return probe()
    try:
        build = engine.build
    finally:
        engine.close()
    return probe_build(build)


def cmd_hw(args: argparse.Namespace) -> int:
    hw = _engine_hardware()
    if args.json:
        print(json.dumps(hw.to_dict()))
        return EXIT_OK
    gib = 1 << 30
    print(f"RAM: {hw.ram_total / gib:.1f} GiB, {hw.ram_available / gib:.1f} GiB available")
    print(
        f"CPU: {hw.cpu_model}, {hw.physical_cores} cores ({hw.logical_cores} threads); "
        f"{' '.join(hw.cpu_flags) or 'no SIMD flags read'}"
    )
    print(f"llama.cpp build: {hw.build_backend}, GPU offload {'yes' if hw.gpu_offload else 'no'}")
    for g in hw.gpus:
        use = "usable" if g.usable else "not usable by this build"
        print(
            f"GPU: {g.name} ({g.backend}), {g.total_bytes / gib:.1f} GiB, {g.free_bytes / gib:.1f} GiB free, {use}"
        )
    for note in hw.notes:
        print(f"note: {note}")
    return EXIT_OK


def _parse_params(text: str | None) -> int | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*([\d.]+)\s*([kKmMbBtT]?)\s*", text)
    if not m:
        raise CliError(f"--params must look like 8B, 135M or 7000000000, not {text!r}")
    scale = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def cmd_fit(args: argparse.Namespace) -> int:
    from app.core.fit import FitError, FitOptions, estimate, shape_from_file, shape_from_name
    from app.core.hardware import devices_for, probe
    from app.core.quants import preset_for

    settings, _ = load_settings()
    target = args.target
    try:
        if Path(target).expanduser().exists():
            shape = shape_from_file(str(Path(target).expanduser()))
        else:
            words = target.split()
            quant = words[-1] if len(words) > 1 and preset_for(words[-1]) else None
            name = "-".join(words[:-1] if quant else words)
            shape = shape_from_name(name, _parse_params(args.params), quant)
        n_ctx = (
            args.ctx
            if args.ctx is not None
            else min(settings.load.n_ctx, shape.n_ctx_train or settings.load.n_ctx)
        )
        gl = args.gpu_layers or "auto"
        if gl != "auto":
            try:
                gl = int(gl)
            except ValueError:
                raise CliError(f"--gpu-layers must be a number or auto, not {gl!r}") from None
        opts = FitOptions(
            n_ctx=n_ctx,
            kv_type=args.kv_type or settings.load.kv_type,
            n_batch=settings.load.n_batch,
            n_ubatch=settings.load.n_ubatch,
            flash_attn=settings.load.flash_attn,
            n_gpu_layers=gl,
        )
        planning = args.ram is not None or args.vram is not None
        hw = probe() if planning else _engine_hardware()
        result = estimate(shape, opts, devices_for(hw, args.ram, args.vram), hw.flags)
    except FitError as exc:
        raise CliError(str(exc)) from None
    if planning:
        result.assumptions.append(
            f"planned for another machine: {args.ram if args.ram is not None else hw.ram_total / (1 << 30):.0f} GiB RAM "
            f"(2 GiB kept for its system), {args.vram or 0:g} GiB VRAM; CPU as this one"
        )
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    gib = 1 << 30
    print(f"{shape.name}: {result.summary}")
    print(
        f"  estimate from the {result.grade}; context {result.n_ctx:,}, KV cache {result.kv_type}, "
        f"GPU layers {result.gpu_layers} of {(result.n_layers or 0) + 1}"
    )
    for d in result.devices:
        print(
            f"  {d.kind.upper():3} {d.name}: weights {d.weights_bytes / gib:.2f} + KV {d.kv_cache_bytes / gib:.2f} "
            f"+ compute {d.compute_bytes / gib:.2f} + overhead {d.overhead_bytes / gib:.2f} = "
            f"{d.total_bytes / gib:.2f} GiB of {d.free_bytes / gib:.1f} GiB free"
        )
    if result.max_ctx:
        print(f"  with every layer on the GPU the context can go up to {result.max_ctx:,} tokens")
    for a in result.assumptions:
        print(f"  - {a}")
    return EXIT_OK


EXIT_BUSY = 75  # another Hearth is downloading the same file: try again later (EX_TEMPFAIL)


def _hub():
    from app.core.hub import open_hub

    settings, _ = load_settings()
    return open_hub(settings.hub_endpoint, settings.proxy)


def _hub_call(fn: Any) -> Any:
    from app.core.hub import HubError

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
            f"{h.repo:60}  {h.downloads:>10,} downloads  {h.likes:>6,} likes  {_fmt_params(h.parameters):>6}  "
            f"{(h.updated or '')[:10]}"
        )
    if not hits:
        print("no GGUF models match")
    return EXIT_OK


def _repo_with_verdicts(hub: Any, repo: str, n_ctx: int | None) -> Any:
    from app.core.fit import FitOptions
    from app.core.hardware import devices_for
    from app.core.hub_fit import estimate_groups

    settings, _ = load_settings()
    files = _hub_call(lambda: hub.repo(repo))
    hw = _engine_hardware()
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


def cmd_download(args: argparse.Namespace) -> int:
    from app.core.download_queue import load_queue
    from app.core.downloads import DownloadError, partial_bytes
    from app.core.hub import choose

    target = args.target
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
    jobs = hub.jobs_for(files, group, folder)
    placed = []
    stop: list[str] = []
    # Ctrl+C pauses cleanly: the partial file stays whole and the next run resumes from it.
    previous = signal.signal(signal.SIGINT, lambda *_: stop.append("pause"))
    try:
        for job in jobs:
            try:
                placed.append(_download_one(hub, job, lambda: stop[0] if stop else None))
            except DownloadError as exc:
                if exc.code == "paused":
                    print(
                        f"paused at {human_bytes(partial_bytes(job))} of {human_bytes(job.size)}: "
                        "run the same command again to resume",
                        file=sys.stderr,
                    )
                    return EXIT_INTERRUPTED
                raise
    except DownloadError as exc:
        if exc.code == "gated" and not hub.token and sys.stdin.isatty():
            print(f"hearth: {exc}", file=sys.stderr)
            if _ask_token():
                return cmd_download(args)
        code = (
            EXIT_INPUT
            if exc.code in ("gated", "not_found", "disk_full", "hash_mismatch")
            else EXIT_BUSY
            if exc.code == "busy"
            else EXIT_ENGINE
        )
        raise CliError(str(exc), code) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    lib = open_library(settings.models_path())
    for p in placed:
        if "mmproj" not in p.name.lower():
            lib.add_file(p)  # shown even where it was removed from the library before
        print(f"downloaded and verified {p}")
    return EXIT_OK


def _download_one(hub: Any, job: Any, stop: Any) -> Path:
    """One file with a progress bar on a terminal (a line per 10% otherwise)."""
    from app.core.downloads import Meter, format_eta

    name = Path(job.filename).name
    tty = sys.stderr.isatty()
    meter = Meter()
    shown = {"step": -1, "at": 0.0}

    def show(done: int, total: int) -> None:
        import time

        speed = meter.add(done)
        pct = done * 100 // max(total, 1)
        now = time.monotonic()
        if tty:
            if now - shown["at"] < 0.1 and done < total:
                return
            shown["at"] = now
            bar = "#" * (pct // 4)
            print(
                f"\r{name[:36]:36} [{bar:25}] {pct:3d}% {human_bytes(done):>9}/{human_bytes(total)}"
                f"  {human_bytes(speed)}/s  ETA {format_eta(meter.eta(total - done)):>7}",
                end="",
                file=sys.stderr,
                flush=True,
            )
        elif pct // 10 != shown["step"]:
            shown["step"] = pct // 10
            print(f"{name}: {pct}% of {human_bytes(total)}", file=sys.stderr, flush=True)

    try:
        path = hub.download(job, show, stop)
    finally:
        if tty:
            print(file=sys.stderr)
    return path


def _ask_token() -> bool:
    import getpass

    from app.core.secrets import save_token

    token = getpass.getpass("Hugging Face token (empty to stop): ").strip()
    if not token:
        return False
    print(f"token saved in {save_token(token)}", file=sys.stderr)
    return True


def cmd_token(args: argparse.Namespace) -> int:
    from app.core import secrets

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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.basedir:
        paths.set_base_dir(args.basedir)
    if args.command is None:
        parser.print_help()
        return EXIT_INPUT
    load_settings()  # a damaged settings file is set aside (or repaired) once, and said first
    for warning in take_warnings():
        print(f"hearth: {clean_line(warning)}", file=sys.stderr)
    if sys.platform != "win32":
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        commands = {
            "hw": cmd_hw,
            "search": cmd_search,
            "files": cmd_files,
            "download": cmd_download,
            "token": cmd_token,
            "fit": cmd_fit,
            "chat": cmd_chat,
            "list": cmd_list,
            "inspect": cmd_inspect,
            "library": cmd_library,
            "import": cmd_import,
        }
        return commands[args.command](args)
    except CliError as exc:
        print(f"hearth: error: {clean_line(str(exc))}", file=sys.stderr)
        return exc.code
    except LibraryError as exc:
        print(f"hearth: error: {clean_line(str(exc))}", file=sys.stderr)
        return EXIT_ENGINE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
