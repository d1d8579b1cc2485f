"""What every command shares: exit codes, the one-line error, the library, model lookup, options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.core.gguf.header import GGUFError
from app.core.gguf.local_file import read_header_file
from app.core.library import starter
from app.core.library.index import OK, open_library
from app.core.library.lookup import ModelNotFound, resolve_model
from app.core.options import LoadOptions, OptionError, SamplingOptions
from app.core.settings import load_settings
from app.engine.client import BlockingEngine, EngineError

EXIT_OK, EXIT_ENGINE, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


EXIT_BUSY = 75  # another Hearth is downloading the same file: try again later (EX_TEMPFAIL)


class CliError(Exception):
    """One line for stderr and an exit code."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def open_cli_library():
    settings, _ = load_settings()
    lib = open_library(settings.models_path())
    lib.folders()  # opens (and if damaged, rebuilds) the index now, so the notice comes first
    notice = lib.take_notice()
    if notice:
        print(f"hearth: {notice}", file=sys.stderr)
    return lib


def check_model(target: str) -> Path:
    settings, _ = load_settings()
    try:
        known = [Path(p) for p in settings.recent_models if Path(p).exists()]
        if not target.lower().endswith(".gguf") and not Path(target).exists():
            known += [Path(e.path) for e in open_cli_library().scan().entries if e.status == OK]
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


def options_from(args: argparse.Namespace) -> tuple[LoadOptions, SamplingOptions]:
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


def engine_hardware() -> Any:
    """Probe this machine, asking an engine worker which devices llama.cpp can use."""
    from app.core.fit.hardware import probe, probe_build

    try:
        engine = BlockingEngine()
    except EngineError:
        return probe()
    try:
        build = engine.build
    finally:
        engine.close()
    return probe_build(build)
