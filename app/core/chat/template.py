"""Chat templates from GGUF files, rendered in a sandbox with a time limit.

A template is code that came with a downloaded file. It runs in Jinja's immutable sandbox (no
attribute tricks, no mutation), with repetition operators bounded, and under a deadline checked
on every line the compiled template executes, so a template that loops for ever is stopped. The
engine worker renders templates, so even a template that exhausts memory cannot take the window.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_REPEAT = 1 << 20  # "x" * n and [..] * n produce at most this many items
DEFAULT_TIMEOUT_S = 2.0

# Used for models whose file carries no chat template (base models such as Gemma 3 270M).
# Base models continue text, so a plain transcript with speaker labels is the honest format.
# The generation prompt ends with "Assistant:" and the model writes its own leading space, so a
# stored reply that starts with a space is rendered as is: the next turn then tokenizes exactly as
# generated and the whole conversation stays in the KV cache.
TRANSCRIPT_TEMPLATE = (
    "{%- for m in messages -%}"
    "{%- if m['role'] == 'system' -%}{{ m['content'] ~ '\\n\\n' }}"
    "{%- elif m['role'] == 'user' -%}{{ 'User: ' ~ m['content'] ~ '\\n\\n' }}"
    "{%- else -%}{{ 'Assistant:' ~ ('' if m['content'][:1] in (' ', '\\n') else ' ') ~ m['content'] ~ '\\n\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}Assistant:{%- endif -%}"
)
TRANSCRIPT_STOPS = ["\nUser:", "\n\nUser:"]
TRANSCRIPT_NAME = "plain transcript (User: / Assistant:)"


class TemplateError(Exception):
    """The template cannot be compiled or rendered; the message says why."""


class TemplateTimeout(TemplateError):
    pass


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    if len(seq) * max(n, 0) > MAX_REPEAT:
                        raise SecurityError("the template tried to build an enormous value")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise SecurityError("the template tried to raise to an enormous power")
        return super().call_binop(context, operator, left, right)


def _raise_exception(message: str) -> None:
    raise TemplateError(f"the chat template refused the conversation: {message}")


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)


def _strftime_now(fmt: str) -> str:
    return _dt.datetime.now().strftime(fmt)


def _environment() -> _Sandbox:
    env = _Sandbox(
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.loopcontrols"],
        undefined=jinja2.Undefined,
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


class _Deadline:
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


@dataclass
class ChatTemplate:
    """A compiled chat template and the strings it needs."""

    source: str
    bos_token: str = ""
    eos_token: str = ""
    name: str = "the model's own template"
    stop_strings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        try:
            self._template = _environment().from_string(self.source)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"the chat template cannot be parsed: {exc}") from None

    @classmethod
    def transcript(cls, bos_token: str = "", eos_token: str = "") -> ChatTemplate:
        return cls(
            TRANSCRIPT_TEMPLATE, bos_token, eos_token, TRANSCRIPT_NAME, tuple(TRANSCRIPT_STOPS)
        )

    def render(
        self,
        messages: Sequence[dict[str, str]],
        add_generation_prompt: bool = True,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> str:
        deadline = _Deadline(timeout)
        previous = sys.gettrace()
        sys.settrace(deadline.global_trace)
        try:
            out = self._template.render(
                messages=[dict(m) for m in messages],
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                tools=None,
                date_string=_dt.date.today().strftime("%d %b %Y"),
            )
        except TemplateError:
            raise
        except SecurityError as exc:
            raise TemplateError(
                f"the chat template tried something unsafe and was stopped: {exc}"
            ) from None
        except RecursionError:
            raise TemplateError("the chat template recursed too deeply") from None
        except MemoryError:
            raise TemplateError("the chat template ran out of memory") from None
        except Exception as exc:
            raise TemplateError(f"the chat template failed: {type(exc).__name__}: {exc}") from None
        finally:
            sys.settrace(previous)
        return out
