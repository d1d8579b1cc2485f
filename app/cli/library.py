"""`hearth list`, `inspect`, `library` and `import`: the model library from the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.common import (
    EXIT_INPUT,
    EXIT_OK,
    CliError,
    open_cli_library,
)
from app.core.gguf.info import ModelInfo, inspect_model
from app.core.library.index import MISSING, LibraryError
from app.core.safe_text import clean_line
from app.core.units import format_params, human_bytes


def add_parsers(sub: Any) -> None:
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

    imp = sub.add_parser("import", help="add one model file to the library")
    imp.add_argument("file", metavar="FILE")
    how = imp.add_mutually_exclusive_group()
    how.add_argument("--copy", action="store_true", help="copy it into the app's model folder")
    how.add_argument("--move", action="store_true", help="move it into the app's model folder")


def _info_json(info: ModelInfo, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    d = info.to_dict()
    if extra:
        d.update(extra)
    return d


def cmd_list(args: argparse.Namespace) -> int:
    entries = open_cli_library().scan().entries
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
                format_params(i.parameters, space=""),
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
        ("name in the header", info.name if info.name != info.display_name else None),
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
        if value is not None:
            print(f"{key:>18}: {clean_line(str(value))}")
    return EXIT_OK


def cmd_library(args: argparse.Namespace) -> int:
    lib = open_cli_library()
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
    lib = open_cli_library()
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


COMMANDS = {"list": cmd_list, "inspect": cmd_inspect, "library": cmd_library, "import": cmd_import}
