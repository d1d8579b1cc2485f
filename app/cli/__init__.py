"""The ``hearth`` command line: chat and model tools over core and the engine worker (no Qt).

One module per command group (chat, library, fit, hub, quality, serve), each with ``add_parsers`` and its commands;
this module builds the parser from them and runs the command asked for.
"""

from __future__ import annotations

import argparse
import signal
import sys

from app import __version__
from app.cli import chat, fit, hub, library, quality, serve
from app.cli.common import EXIT_ENGINE, EXIT_INPUT, EXIT_INTERRUPTED, CliError
from app.core import logs, paths
from app.core.library.index import LibraryError
from app.core.safe_text import clean_line
from app.core.settings import load_settings, take_warnings

GROUPS = (chat, library, fit, hub, quality, serve)
COMMANDS = tuple(name for g in GROUPS for name in g.COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth",
        description="Private, offline chat with GGUF models. Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"hearth {__version__}")
    parser.add_argument("--basedir", help="keep all data, settings and caches under this folder")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    for group in GROUPS:
        if args.command in group.COMMANDS:
            return group.COMMANDS[args.command](args)
    raise CliError(f"unknown command {args.command!r}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.basedir:
        paths.set_base_dir(args.basedir)
    if args.command is None:
        parser.print_help()
        return EXIT_INPUT
    logs.setup()
    load_settings()  # a damaged settings file is set aside (or repaired) once, and said first
    for warning in take_warnings():
        print(f"hearth: {clean_line(warning)}", file=sys.stderr)
    if sys.platform != "win32":
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        return _run(args)
    except CliError as exc:
        print(f"hearth: error: {clean_line(str(exc))}", file=sys.stderr)
        return exc.code
    except LibraryError as exc:
        print(f"hearth: error: {clean_line(str(exc))}", file=sys.stderr)
        return EXIT_ENGINE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
