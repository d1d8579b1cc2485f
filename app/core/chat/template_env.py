"""The Jinja environment chat templates run in: a sandbox with a deadline, speaking the dialect
that Hugging Face transformers and llama.cpp accept.

Like transformers' ``apply_chat_template``: blocks trimmed (``trim_blocks``, ``lstrip_blocks``),
loop controls (``break`` / ``continue``), ``{% generation %}`` blocks (rendered as their body),
a ``tojson`` filter that keeps Unicode and takes ``indent``, ``separators`` and ``sort_keys``,
and the helpers ``raise_exception(message)`` and ``strftime_now(format)``.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_REPEAT = 1 << 20  # "x" * n and [..] * n produce at most this many items


class TemplateError(Exception):
    """The template cannot be compiled or rendered; the message says why."""


class TemplateTimeout(TemplateError):
    pass


class TemplateRefused(TemplateError):
    """The template itself raised (``raise_exception``): it refuses this conversation."""


class GenerationBlock(Extension):
    """``{% generation %}…{% endgeneration %}``: transformers marks the assistant's part of a
    training sample with it; for chatting it is just its body."""

    tags = {"generation"}  # noqa: RUF012 (Jinja's own class attribute)

    def parse(self, parser: Parser) -> list[nodes.Node]:
        next(parser.stream)
        return list(parser.parse_statements(("name:endgeneration",), drop_needle=True))


class TooLarge(SecurityError):
    """A template tried to build a value too large to be a prompt (a guard of this sandbox, not
    a reach for Python internals)."""


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    if len(seq) * max(n, 0) > MAX_REPEAT:
                        raise TooLarge("it tried to build an enormous value")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise TooLarge("it tried to raise a number to an enormous power")
        return super().call_binop(context, operator, left, right)


def _raise_exception(message: str) -> None:
    raise TemplateRefused(f"the chat template refused the conversation: {message}")


def _tojson(
    value: Any,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
    ensure_ascii: bool = False,
) -> str:
    return json.dumps(
        value, indent=indent, separators=separators, sort_keys=sort_keys, ensure_ascii=ensure_ascii
    )


def _strftime_now(fmt: str) -> str:
    return _dt.datetime.now().strftime(fmt)


def environment() -> _Sandbox:
    env = _Sandbox(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.loopcontrols", GenerationBlock],
        undefined=jinja2.Undefined,
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


class Deadline:
    """A trace function that stops template code once its time is up."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds

    def global_trace(self, frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename == "<template>":
            return self.local_trace
        return None

    def local_trace(self, frame: Any, event: str, arg: Any) -> Any:
        if time.monotonic() > self.deadline:
            raise TemplateTimeout(
                f"the chat template ran for more than {self.seconds:g} s and was stopped"
            )
        return self.local_trace
