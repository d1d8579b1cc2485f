"""`hearth hw` and `hearth fit`: this machine, and whether a model fits it."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from app.cli.common import (
    EXIT_OK,
    CliError,
    engine_hardware,
)
from app.core.settings import load_settings


def add_parsers(sub: Any) -> None:
    hw = sub.add_parser("hw", help="this machine: RAM, CPU, GPUs and the llama.cpp build")
    hw.add_argument("--json", action="store_true", help="print one JSON object")

    fit = sub.add_parser("fit", help="will a model fit here, and how should it be loaded?")
    fit.add_argument(
        "target", metavar="TARGET", help="a .gguf path, a file name, or a name and a quant"
    )
    fit.add_argument(
        "--params", help="parameter count, e.g. 8B, 135M, 8x7B or 30B-A3B (for a name without one)"
    )
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


def cmd_hw(args: argparse.Namespace) -> int:
    hw = engine_hardware()
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


# Sizes as mixture-of-experts names write them: "8x7B", "30B-A3B", "17B-16E".
_EXPERT_SIZE = re.compile(
    r"\d+x[\d.]+[mb]|[\d.]+[mb]-a[\d.]+[mb]|[\d.]+[mb]-\d+e|[\d.]+[mb]-[\d.]+b", re.I
)  # 8x7B, 30B-A3B, 17B-16E, OLMoE's 1B-7B (active, then total)
_ACTIVE_SIZE = re.compile(r"[ae][\d.]+[mb]", re.I)  # "A13B", "E4B": active, effective counts


def _parse_params(text: str | None, name: str | None = None) -> int | None:
    """``--params``: a count (8B, 135M, 7000000000) or an expert size as names write it (8x7B,
    30B-A3B, 1B-7B: the total); None where ``name`` already carries that same size, so that the
    family it names is read from the name as it would be without the option."""
    if text is None:
        return None
    said = text.strip()
    if name is not None and (_EXPERT_SIZE.fullmatch(said) or _ACTIVE_SIZE.fullmatch(said)):
        if re.search(rf"(?i)(^|[-_.]){re.escape(said)}([-_.]|$)", name):
            return None  # "Mixtral-8x7B", "Hunyuan-A13B", "gemma-3n-E4B": read from the name
    if _EXPERT_SIZE.fullmatch(said):
        from app.core.gguf.names import parse_name

        return parse_name(f"model-{said}").parameters
    if _ACTIVE_SIZE.fullmatch(said):
        kind = "an active" if said.lower().startswith("a") else "an effective"
        raise CliError(
            f"--params {said} is {kind} count; give the total (for example 80B-A13B, 7B)"
        )
    m = re.fullmatch(r"\s*([\d.]+)\s*([kKmMbBtT]?)\s*", text)
    if not m:
        raise CliError(
            f"--params must look like 8B, 135M, 7000000000, 8x7B or 30B-A3B, not {text!r}"
        )
    scale = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def cmd_fit(args: argparse.Namespace) -> int:
    from app.core.fit.hardware import devices_for, host_reserve, probe
    from app.core.fit.placement import FitOptions, estimate
    from app.core.fit.shape import FitError, shape_from_file, shape_from_name
    from app.core.gguf.names import display_name
    from app.core.gguf.quants import preset_for

    settings, _ = load_settings()
    target = args.target
    try:
        if Path(target).expanduser().exists():
            shape = shape_from_file(str(Path(target).expanduser()))
        else:
            words = target.split()
            quant = words[-1] if len(words) > 1 and preset_for(words[-1]) else None
            name = "-".join(words[:-1] if quant else words)
            shape = shape_from_name(name, _parse_params(args.params, name), quant)
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
        hw = probe() if planning else engine_hardware()
        result = estimate(shape, opts, devices_for(hw, args.ram, args.vram), hw.flags)
    except FitError as exc:
        raise CliError(str(exc)) from None
    if planning:
        ram_gib = args.ram if args.ram is not None else hw.ram_total / (1 << 30)
        kept = host_reserve(int(ram_gib * (1 << 30))) / (1 << 30)
        result.assumptions.append(
            f"planned for another machine: {ram_gib:.0f} GiB RAM "
            f"({kept:.2g} GiB kept for its system), {args.vram or 0:g} GiB VRAM; CPU as this one"
        )
    if args.json:
        print(json.dumps(result.to_dict()))
        return EXIT_OK
    gib = 1 << 30
    # A file is named by its header's name; a name by what was typed (the family's base name
    # alone, e.g. "Llama-3.1", would hide the size and quant the estimate is for).
    label = shape.name if result.grade == "file" else display_name(target)
    print(f"{label}: {result.summary}")
    print(
        f"  estimate from the {result.grade}; context {result.n_ctx:,}, KV cache {result.kv_type}, "
        f"GPU layers {result.gpu_layers} of {(result.n_layers or 0) + 1}"
    )
    for d in result.devices:
        print(
            f"  {d.kind.upper():3} {d.name}: weights {d.weights_bytes / gib:.2f}"
            + (f" + repacked {d.repack_bytes / gib:.2f}" if d.repack_bytes else "")
            + f" + KV {d.kv_cache_bytes / gib:.2f} "
            f"+ compute {d.compute_bytes / gib:.2f} + overhead {d.overhead_bytes / gib:.2f} = "
            f"{d.total_bytes / gib:.2f} GiB of {d.free_bytes / gib:.1f} GiB free"
        )
        if d.evictable_bytes:
            # The file's pages of repacked weights: read once, then the system may drop them.
            print(
                f"      of which {d.evictable_bytes / gib:.2f} GiB are file pages the system can "
                f"drop once read: {(d.total_bytes - d.evictable_bytes) / gib:.2f} GiB must stay"
            )
    if result.max_ctx:
        print(f"  with every layer on the GPU the context can go up to {result.max_ctx:,} tokens")
    for a in result.assumptions:
        print(f"  - {a}")
    return EXIT_OK


COMMANDS = {"hw": cmd_hw, "fit": cmd_fit}
