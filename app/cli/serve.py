"""``hearth serve``: the local API (OpenAI- and Ollama-compatible) on one model."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import sys
from typing import Any

from app.cli.common import EXIT_ENGINE, EXIT_INPUT, EXIT_OK, CliError, check_model, options_from
from app.core.options import OptionError
from app.core.safe_text import clean_line


def add_parsers(sub: Any) -> None:
    serve = sub.add_parser(
        "serve", help="serve a model to other programs on this machine (OpenAI and Ollama APIs)"
    )
    serve.add_argument("model", metavar="MODEL", help="a .gguf path or a model in the library")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--api-key", help="clients must send 'Authorization: Bearer KEY'")
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from this origin (repeatable; none by default)",
    )
    serve.add_argument(
        "--parallel",
        type=int,
        default=1,
        metavar="N",
        help="replies written at once, decoded together (default 1); each gets ctx/N tokens",
    )
    serve.add_argument("--ctx", type=int, help="context length in tokens, shared by --parallel")
    serve.add_argument("--gpu-layers", type=int, help="layers on the GPU (-1: all)")
    serve.add_argument("--threads", type=int, help="CPU threads")
    serve.add_argument(
        "--max-tokens", type=int, help="the most tokens one reply may ask for (default 4096)"
    )
    serve.add_argument("--quiet", action="store_true", help="do not print the request log")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    from app.server.http_api import RequestLog, ServerConfig
    from app.server.link import EngineLink
    from app.server.run import LocalServer

    if not _is_loopback(args.host) and not args.api_key:
        raise CliError(
            f"serving on {args.host} opens the model to other machines: give --api-key KEY too",
            EXIT_INPUT,
        )
    if not 0 < args.port < 65536:
        raise CliError("--port must be between 1 and 65535", EXIT_INPUT)
    path = check_model(args.model)
    args.temperature = args.seed = None
    load, sampling = options_from(args)
    try:
        load = load.merged({"n_parallel": args.parallel})
    except OptionError as exc:
        raise CliError(str(exc), EXIT_INPUT) from None
    samp = sampling.to_dict()
    samp.pop("max_tokens", None)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        cors_origins=list(args.cors_origin),
        max_tokens=args.max_tokens or 4096,
        sampling_defaults=samp,
    )
    log = RequestLog(None if args.quiet else lambda e: print(e.line(), file=sys.stderr))
    link = EngineLink(str(path), load.to_dict())
    server = LocalServer(link, config, log)

    def ready(url: str) -> None:
        print(
            f"hearth: serving {clean_line(path.name)} at {url} (OpenAI) and {url[:-3]}/api "
            "(Ollama); Ctrl+C stops",
            file=sys.stderr,
            flush=True,
        )

    print(f"hearth: loading {path.name}…", file=sys.stderr)
    try:
        why = asyncio.run(server.run(ready))
    finally:
        link.close()
    if why:
        raise CliError(why, EXIT_ENGINE)
    return EXIT_OK


COMMANDS = {"serve": cmd_serve}
