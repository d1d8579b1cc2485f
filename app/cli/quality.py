"""`hearth quality` and `hearth quantize`: what a quant loses, and making one from what you have."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.common import EXIT_ENGINE, EXIT_OK, CliError, check_model, open_cli_library
from app.core.quality import measured
from app.core.quality.quantize import FILE_TYPES, NEEDS_IMATRIX
from app.core.quality.stats import QualityResult, rounded
from app.engine.client import BlockingEngine, EngineError
from app.engine.events import EngineEvent
from app.engine.protocol import ErrorCode, Event


def add_parsers(sub: Any) -> None:
    q = sub.add_parser(
        "quality",
        help="perplexity of a model, and its KL divergence from a reference (llama-perplexity's method)",
    )
    q.add_argument("model", metavar="MODEL", help="a .gguf path or a model in the library")
    q.add_argument(
        "--reference",
        metavar="REF",
        help="the same model in more bits (or any other quant of it) to compare with",
    )
    q.add_argument(
        "--text", metavar="FILE", help="evaluation text (default: the bundled public-domain novel)"
    )
    q.add_argument("--ctx", type=int, default=512, help="tokens per chunk (default 512)")
    q.add_argument("--chunks", type=int, help="at most this many chunks (default: the whole text)")
    q.add_argument("--threads", type=int, help="CPU threads (default: the physical cores)")
    q.add_argument("--json", action="store_true", help="print one JSON object")

    z = sub.add_parser("quantize", help="make a quant with llama.cpp's quantizer")
    z.add_argument("source", metavar="SRC", help="the model to quantize (F32/F16/BF16/Q8_0)")
    z.add_argument(
        "--type",
        required=True,
        metavar="TYPE",
        help="the preset, e.g. Q4_K_M; one of "
        + ", ".join(t for t in FILE_TYPES if t not in NEEDS_IMATRIX),
    )
    z.add_argument(
        "--out", metavar="PATH", help="the file (or folder) to write; default: next to SRC"
    )
    z.add_argument(
        "--allow-requantize",
        action="store_true",
        help="quantize an already quantized file (the loss compounds)",
    )
    z.add_argument("--no-library", action="store_true", help="do not add the result to the library")
    z.add_argument("--json", action="store_true", help="print one JSON object")


class _Status:
    """Progress and estimates on stderr: a line redrawn in place on a terminal, else a few lines."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.step: tuple[str, int] = ("", -1)

    def event(self, event: EngineEvent) -> None:
        if event["event"] == Event.ESTIMATE:
            self.end()
            what = "the reference's figures are cached" if event.get("reference_cached") else ""
            if event.get("basis") == "rough":
                msg = (
                    f"measuring {event.get('chunks')} chunks of {event.get('n_ctx')} tokens "
                    f"({event.get('tokens'):,} scored): about {_duration(event.get('seconds', 0.0))}"
                    + (f"; {what}" if what else "")
                )
            else:
                msg = f"about {_duration(event.get('seconds', 0.0))} left"
            print(f"hearth: {msg}", file=sys.stderr, flush=True)
        elif event["event"] == Event.PLANNED:
            for warning in event["warnings"]:
                print(f"hearth: warning: {warning}", file=sys.stderr)
            print(
                f"hearth: writing {event['out']} ({event['type']}, about "
                f"{event['estimated_bytes'] / 1e9:.2f} GB)",
                file=sys.stderr,
                flush=True,
            )
        elif event["event"] == Event.PROGRESS:
            stage, done, total = event.get("stage", ""), event.get("done", 0), event.get("total", 0)
            unit = "tensors" if stage == "quantize" else "chunks"
            if self.tty:
                print(f"\r{stage}: {done}/{total} {unit}   ", end="", file=sys.stderr, flush=True)
            else:
                pct = done * 100 // max(total, 1)
                if (stage, pct // 25) != self.step:
                    self.step = (stage, pct // 25)
                    print(f"{stage}: {done}/{total} {unit}", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print("\r" + " " * 40 + "\r", end="", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _model_path(target: str) -> str:
    return str(check_model(target))


def cmd_quality(args: argparse.Namespace) -> int:
    model = _model_path(args.model)
    reference = _model_path(args.reference) if args.reference else None
    text = str(Path(args.text).expanduser()) if args.text else None
    status = _Status()
    try:
        with BlockingEngine() as engine:
            try:
                result = engine.quality(
                    model, reference, text, args.ctx, args.chunks, args.threads, status.event
                )
            except KeyboardInterrupt:
                engine.stop()
                raise
    except EngineError as exc:
        status.end()
        code = EXIT_ENGINE if exc.code not in (ErrorCode.BAD_REQUEST,) else 2
        raise CliError(str(exc), code) from None
    status.end()
    try:
        measured.record(result)  # the Hub and the Library show measured figures first
    except OSError as exc:
        print(f"hearth: the figures could not be kept: {exc}", file=sys.stderr)
    if args.json:
        out = rounded(result)
        print(json.dumps({k: out[k] for k in _JSON_KEYS}))
    else:
        _print_quality(result)
    return EXIT_OK


_JSON_KEYS = (
    "perplexity",
    "kl_divergence",
    "same_top",
    "perplexity_ratio",
    "reference_perplexity",
    "n_ctx",
    "chunks",
    "tokens",
    "seconds",
    "tokens_per_second",
    "model",
    "reference",
    "text",
)


def _print_quality(r: QualityResult) -> None:
    print(f"model:       {Path(r['model']).name}")
    print(
        f"text:        {r['text']}: {r['chunks']} chunks of {r['n_ctx']} tokens, {r['tokens']:,} scored"
    )
    print(f"perplexity:  {r['perplexity']:.4f}")
    if r["reference"] and r["kl_divergence"] is not None:
        kld = r["kl_divergence"]
        print(
            f"reference:   {Path(r['reference']).name}, perplexity {r['reference_perplexity']:.4f}"
        )
        print(f"PPL ratio:   {r['perplexity_ratio']:.4f} (model / reference)")
        print(
            f"KL divergence: mean {kld['mean']:.6f}, median {kld['median']:.6f}, "
            f"99th percentile {kld['p99']:.6f}"
        )
        print(f"same top token: {100 * (r['same_top'] or 0):.2f}% of positions")
    print(f"time:        {r['seconds']:.1f} s ({r['tokens_per_second']:.0f} tokens/s evaluated)")


def cmd_quantize(args: argparse.Namespace) -> int:
    source = _model_path(args.source)
    status = _Status()
    try:
        with BlockingEngine() as engine:
            result = engine.quantize(
                source,
                args.type,
                str(Path(args.out).expanduser()) if args.out else None,
                args.allow_requantize,
                status.event,
            )
    except EngineError as exc:
        status.end()
        code = 2 if exc.code == ErrorCode.BAD_REQUEST else EXIT_ENGINE
        raise CliError(str(exc), code) from None
    status.end()
    added = False
    if not args.no_library:
        lib = open_cli_library()
        lib.add_file(result["path"])
        lib.scan()
        added = True
    result["in_library"] = added
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"made {result['path']} ({result['quant']}, {result['bytes'] / 1e9:.2f} GB, "
            f"{result['bits_per_weight'] or 0:.2f} bits per weight) in {result['seconds']:.1f} s"
            + ("; added to the library" if added else "")
        )
    return EXIT_OK


COMMANDS = {"quality": cmd_quality, "quantize": cmd_quantize}
