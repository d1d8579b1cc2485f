"""`hearth chat`: a reply to one prompt, or a terminal chat, through the engine worker."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from app.cli.common import (
    EXIT_ENGINE,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    check_model,
    options_from,
)
from app.core.options import SamplingOptions
from app.core.settings import load_settings
from app.engine.client import BlockingEngine
from app.engine.events import GenerationStats, ModelInfo, StartedEvent
from app.engine.protocol import REASONING_EFFORTS, EngineError, ErrorCode, StopReason


def add_parsers(sub: Any) -> None:
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
    chat.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="after each reply, print its figures to standard error (prompt tokens and how many "
        "came from the KV cache, tokens generated, speed, why it stopped)",
    )
    chat.add_argument(
        "--no-thinking",
        action="store_true",
        help="leave a reasoning model's thinking out (it is printed dimmed on a terminal)",
    )
    chat.add_argument(
        "--think",
        choices=("on", "off"),
        help="let the model think before it answers, or not (templates that take it: Qwen3)",
    )
    chat.add_argument(
        "--reasoning-effort",
        choices=REASONING_EFFORTS,
        help="how much the model thinks (templates that take it: gpt-oss)",
    )


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
    path = check_model(args.model)
    load, sampling = options_from(args)
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
                str(exc), EXIT_INPUT if exc.code == ErrorCode.LOAD_FAILED else EXIT_ENGINE
            ) from None
        finally:
            progress.done()
        kwargs = _template_kwargs(args, info)
        for note in info.get("notes", []):
            if not args.json:
                print(f"note: {note}", file=sys.stderr)
        messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
        if args.prompt is not None:
            messages.append({"role": "user", "content": args.prompt})
            return _one_reply(
                engine, messages, sampling, args.json, not args.no_thinking, kwargs, args.verbose
            )
        return _interactive(
            engine, messages, sampling, info, not args.no_thinking, kwargs, args.verbose
        )
    finally:
        engine.close()


def _template_kwargs(args: argparse.Namespace, info: ModelInfo) -> dict[str, Any]:
    """``--think`` and ``--reasoning-effort`` as template options, if this model's template
    takes them (refused with one line otherwise)."""
    kwargs: dict[str, Any] = {}
    if args.think is not None:
        if not info.get("thinking_switch"):
            raise CliError(f"--think: {info['name']}'s chat template has no thinking switch")
        kwargs["enable_thinking"] = args.think == "on"
    if args.reasoning_effort is not None:
        if not info.get("reasoning_efforts"):
            raise CliError(
                f"--reasoning-effort: {info['name']}'s chat template has no reasoning effort"
            )
        kwargs["reasoning_effort"] = args.reasoning_effort
    return kwargs


DIM, RESET = "\x1b[2m", "\x1b[0m"


class _Printer:
    """Writes a streamed reply: thinking first (dimmed on a terminal, or left out), a blank line,
    then the answer. Keeps the answer's text, which is the reply."""

    def __init__(self, stream: bool, thinking: bool) -> None:
        self.stream = stream
        self.thinking = thinking and stream
        self.dim = sys.stdout.isatty()
        self.answer: list[str] = []
        self._in_thinking = False

    def on_reasoning(self, text: str) -> None:
        if not self.thinking:
            return
        if not self._in_thinking:
            self._in_thinking = True
            if self.dim:
                sys.stdout.write(DIM)
        sys.stdout.write(text)
        sys.stdout.flush()

    def on_token(self, text: str) -> None:
        self.end_thinking()
        self.answer.append(text)
        if self.stream:
            sys.stdout.write(text)
            sys.stdout.flush()

    def end_thinking(self) -> None:
        if self._in_thinking:
            self._in_thinking = False
            sys.stdout.write((RESET if self.dim else "") + "\n\n")


def _reply(
    engine: BlockingEngine,
    messages: list[dict[str, str]],
    sampling: SamplingOptions,
    stream: bool,
    thinking: bool = True,
    template_kwargs: dict[str, Any] | None = None,
) -> tuple[str, GenerationStats]:
    """One reply (the answer, without thinking, and the figures); Ctrl+C stops it (the partial
    reply is kept)."""
    printer = _Printer(stream, thinking)

    def on_started(event: StartedEvent) -> None:
        if event.get("dropped_messages"):
            print(
                f"\nnote: the {event['dropped_messages']} oldest messages no longer fit in the "
                f"{event['n_ctx']:,}-token context and were left out",
                file=sys.stderr,
            )

    result: list[tuple[str, GenerationStats]] = []
    error: list[BaseException] = []
    finished = threading.Event()

    def run() -> None:
        try:
            result.append(
                engine.chat(
                    messages,
                    sampling.to_dict(),
                    printer.on_token,
                    on_started,
                    on_reasoning=printer.on_reasoning,
                    template_kwargs=template_kwargs,
                )
            )
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
                str(exc),
                EXIT_ENGINE if exc.code in (ErrorCode.CRASHED, ErrorCode.INTERNAL) else EXIT_INPUT,
            )
        raise exc
    printer.end_thinking()
    return "".join(printer.answer), result[0][1]


def describe_stats(stats: GenerationStats) -> str:
    """One line of a reply's figures (``--verbose``)."""
    return (
        f"[prompt {stats['prompt_tokens']:,} tokens, {stats['reused_tokens']:,} from the cache; "
        f"reply {stats['completion_tokens']:,} tokens, {stats['tokens_per_second']:.1f} tokens/s; "
        f"stop: {stats['stop_reason']}]"
    )


def _one_reply(
    engine: BlockingEngine,
    messages: list[dict[str, str]],
    sampling: SamplingOptions,
    as_json: bool,
    thinking: bool = True,
    template_kwargs: dict[str, Any] | None = None,
    verbose: bool = False,
) -> int:
    text, stats = _reply(engine, messages, sampling, not as_json, thinking, template_kwargs)
    if verbose:
        print(("" if as_json else "\n") + describe_stats(stats), file=sys.stderr)
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
                    "reasoning": stats.get("reasoning"),
                    "reasoning_tokens": stats.get("reasoning_tokens", 0),
                },
                ensure_ascii=False,
            )
        )
    else:
        sys.stdout.write("\n")
    return EXIT_INTERRUPTED if stats["stop_reason"] == StopReason.STOPPED else EXIT_OK


def _interactive(
    engine: BlockingEngine,
    messages: list[dict[str, str]],
    sampling: SamplingOptions,
    info: ModelInfo,
    thinking: bool = True,
    template_kwargs: dict[str, Any] | None = None,
    verbose: bool = False,
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
        reply, stats = _reply(engine, messages, sampling, True, thinking, template_kwargs)
        sys.stdout.write("\n")
        sys.stdout.flush()
        if verbose:
            print(describe_stats(stats), file=sys.stderr)
        # The reply exactly as generated: the next turn's prompt then starts with every token
        # already in the KV cache, and only the new message is evaluated.
        messages.append({"role": "assistant", "content": reply})
        if stats["stop_reason"] == StopReason.CONTEXT_FULL:
            print("note: the context is full; the reply was cut off", file=sys.stderr)


COMMANDS = {"chat": cmd_chat}
