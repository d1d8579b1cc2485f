"""Chat templates from GGUF files, rendered in a sandbox with a time limit.

A template is code that came with a downloaded file. It runs in Jinja's immutable sandbox (no
attribute tricks, no mutation), with repetition operators bounded, and under a deadline checked
on every line the compiled template executes, so a template that loops for ever is stopped. The
engine worker renders templates, so even a template that exhausts memory cannot take the window.
"""

from __future__ import annotations

import datetime as _dt
import logging
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jinja2
from jinja2.exceptions import SecurityError

from app.core.chat.template_env import (
    MAX_REPEAT,
    Deadline,
    TemplateError,
    TemplateRefused,
    TemplateTimeout,
    TooLarge,
    environment,
)

log = logging.getLogger(__name__)

__all__ = [
    "MAX_REPEAT",
    "ChatTemplate",
    "SystemPrompt",
    "TemplateError",
    "TemplateRefused",
    "TemplateTimeout",
    "merge_system_prompt",
]

DEFAULT_TIMEOUT_S = 2.0
SystemPrompt = Literal["native", "merged"]

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


def merge_system_prompt(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A leading system message folded into the next message, for templates without a system
    role: its text, a newline, then that message's text (llama.cpp's rule for Jinja templates).
    A system message alone is dropped, as llama.cpp does."""
    out = [dict(m) for m in messages]
    if out and out[0].get("role") == "system":
        system = out.pop(0)
        if out:
            out[0]["content"] = f"{system.get('content') or ''}\n{out[0].get('content') or ''}"
    return out


@dataclass
class ChatTemplate:
    """A compiled chat template and the strings it needs.

    ``system_prompt`` says how a system message reaches the model: ``native`` (the template
    takes the system role) or ``merged`` (it refuses or drops it, so the text is put in front of
    the first user message). :meth:`probed` decides it by rendering probe conversations.
    """

    source: str
    bos_token: str = ""
    eos_token: str = ""
    name: str = "the model's own template"
    stop_strings: tuple[str, ...] = ()
    system_prompt: SystemPrompt = "native"
    extra_context: dict[str, Any] = field(default_factory=dict)  # more template variables

    def __post_init__(self) -> None:
        try:
            self._template = environment().from_string(self.source)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"the chat template cannot be parsed: {exc}") from None

    @classmethod
    def transcript(cls, bos_token: str = "", eos_token: str = "") -> ChatTemplate:
        return cls(
            TRANSCRIPT_TEMPLATE, bos_token, eos_token, TRANSCRIPT_NAME, tuple(TRANSCRIPT_STOPS)
        )

    def probed(self, timeout: float = DEFAULT_TIMEOUT_S) -> ChatTemplate:
        """Decide ``system_prompt`` as llama.cpp does when it loads a template: render a system
        message carrying a unique marker; a template that raises, or renders without the
        marker, does not support the system role. Raises TemplateError when the template cannot
        render even a single user message. Returns self."""
        marker = f"hearth-probe-{uuid.uuid4().hex[:12]}"
        user = {"role": "user", "content": "User message"}
        try:
            out = self._render([{"role": "system", "content": marker}, user], True, timeout, {})
            native = marker in out
        except TemplateTimeout:
            raise
        except TemplateError:
            native = False
        if not native:
            self._render([user], True, timeout, {})  # works without the system message?
        self.system_prompt = "native" if native else "merged"
        return self

    def render(
        self,
        messages: Sequence[dict[str, Any]],
        add_generation_prompt: bool = True,
        timeout: float = DEFAULT_TIMEOUT_S,
        **context: Any,
    ) -> str:
        """The prompt for ``messages``. ``context`` adds template variables as transformers'
        ``apply_chat_template(**kwargs)`` does (``tools``, ``documents``, ``enable_thinking``,
        ``reasoning_effort``, …)."""
        msgs = (
            merge_system_prompt(messages)
            if self.system_prompt == "merged"
            else [dict(m) for m in messages]
        )
        return self._render(msgs, add_generation_prompt, timeout, context)

    def _render(
        self,
        messages: list[dict[str, Any]],
        add_generation_prompt: bool,
        timeout: float,
        context: dict[str, Any],
    ) -> str:
        now = _dt.datetime.now()
        variables: dict[str, Any] = {
            "tools": None,
            "documents": None,
            "date_string": now.strftime("%d %b %Y"),
            "datetime": now.strftime("%b %d %Y"),
            **self.extra_context,
            **context,
            "messages": messages,
            "add_generation_prompt": add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
        }
        deadline = Deadline(timeout)
        previous = sys.gettrace()
        sys.settrace(deadline.global_trace)
        try:
            out = self._template.render(**variables)
        except TemplateError:
            raise
        except TooLarge as exc:
            log.warning("a chat template was stopped by the sandbox: %s", exc)
            raise TemplateError(
                f"this model's chat template was stopped: {exc} (a template may only format the "
                "chat)"
            ) from None
        except SecurityError as exc:
            log.warning("a chat template was blocked by the sandbox: %s", exc)
            raise TemplateError(
                "this model's chat template tried to reach Python internals and was blocked "
                "(a template may only format the chat; the file may have been tampered with)"
            ) from None
        except RecursionError:
            raise TemplateError("the chat template recursed too deeply") from None
        except MemoryError:
            raise TemplateError("the chat template ran out of memory") from None
        except Exception as exc:
            log.warning("a chat template failed: %s: %s", type(exc).__name__, exc)
            raise TemplateError(
                f"this model's chat template failed: {exc or 'no reason given'}"
            ) from None
        finally:
            sys.settrace(previous)
        return out
