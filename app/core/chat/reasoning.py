"""A reasoning model's thinking told apart from its answer, on text as it streams.

Two families of formats (the ones llama.cpp's ``common/chat*`` reasoning handling knows):

- think tags: ``<think>…</think>`` (DeepSeek-R1 distills, QwQ, Qwen3, SmolLM3, GLM, Kimi),
  ``<thinking>``, ``<seed:think>`` (Seed-OSS), ``[THINK]`` (Magistral / Ministral reasoning),
  ``<|START_THINKING|>`` (Command R7B / A) and Gemma 4's ``<|channel>thought``. A template may
  open the block itself at the end of the generation prompt: the reply then starts inside it and
  only the end tag appears. Apriel's plain-text markers work the same way: its generation prompt
  ends with "Here are my reasoning steps:", the answer follows ``[BEGIN FINAL RESPONSE]`` and ends
  at ``[END FINAL RESPONSE]`` (a stop string when the template mentions it).
- harmony (gpt-oss): messages ``<|channel|>NAME<|message|>…<|end|>``, the next one after
  ``<|start|>assistant``; ``analysis`` is thinking, ``final`` the answer, ``commentary`` a preamble
  the user may see (an answer) unless it calls a tool (``to=…``: shown as thinking).

Text arrives in pieces split anywhere, even inside a tag; the parser holds back only a tail that
may still become a marker. Pure Python: the engine worker runs it on the token stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

REASONING: Final = "reasoning"
ANSWER: Final = "answer"

# (start, end) of every think-tag format, the most specific first: a template's source is
# matched against the end tags in this order.
THINK_TAGS: tuple[tuple[str, str], ...] = (
    ("Here are my reasoning steps:", "[BEGIN FINAL RESPONSE]"),  # Apriel 1.5 / 1.6 Thinker
    ("<seed:think>", "</seed:think>"),
    ("<thinking>", "</thinking>"),
    ("<think>", "</think>"),
    ("[THINK]", "[/THINK]"),
    ("<|START_THINKING|>", "<|END_THINKING|>"),
    ("<|channel>thought", "<channel|>"),
)
# End markers of formats whose reply starts with the thinking, opening marker or not (Apriel).
IMPLICIT_START: tuple[str, ...] = ("[BEGIN FINAL RESPONSE]",)
# Written after an answer by formats that close it in text (Apriel): the reply ends there.
ANSWER_ENDS: tuple[str, ...] = ("[END FINAL RESPONSE]",)
DEFAULT_TAGS = ("<think>", "</think>")

HARMONY_MARKERS = ("<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|return|>", "<|call|>")
_HARMONY_BODY_END = ("<|end|>", "<|start|>", "<|return|>", "<|call|>")
_HARMONY_HEADER_MAX = 256  # a header longer than this is not one: show it as text


@dataclass(frozen=True)
class ReasoningFormat:
    """How a model marks its thinking: ``family`` is "think" or "harmony"."""

    family: str
    start: str = ""
    end: str = ""
    starts_inside: bool = False  # the generation prompt opened the think block
    answer_ends: tuple[str, ...] = ()  # text that ends the reply after the answer

    @property
    def markers(self) -> tuple[str, ...]:
        """The marker strings whose tokens the token loop must render (special or not)."""
        if self.family == "harmony":
            return HARMONY_MARKERS
        if self.family == "none":
            return ()
        return (self.start, self.end)

    def parser(self) -> ReasoningParser:
        if self.family == "harmony":
            return HarmonyParser()
        if self.family == "none":
            return PlainParser()
        return ThinkTagParser(self.start, self.end, self.starts_inside)


# Text continued from a raw prompt (no chat template): all of it is the answer.
PLAIN = ReasoningFormat("none")


def detect_format(template_source: str, prompt: str) -> ReasoningFormat:
    """The format a reply to ``prompt`` (rendered with ``template_source``) will use.

    A template that writes harmony markers means harmony. Otherwise the think tags the template
    mentions (``<think>`` when it mentions none: a model may still think at the very start), and
    whether the rendered prompt's tail opened the block."""
    if "<|channel|>" in template_source or prompt.rstrip().endswith("<|start|>assistant"):
        return ReasoningFormat("harmony")
    start, end = DEFAULT_TAGS
    for s, e in THINK_TAGS:
        if e in template_source or e in prompt:
            start, end = s, e
            break
    # Apriel reasons first without an opening marker (1.6's prompt writes it, 1.5's does not).
    inside = prompt.rstrip().endswith(start.rstrip()) or end in IMPLICIT_START
    ends = tuple(e for e in ANSWER_ENDS if e in template_source)
    return ReasoningFormat("think", start, end, inside, ends)


def _partial_suffix(buf: str, markers: tuple[str, ...]) -> int:
    """Length of the longest tail of ``buf`` that is a proper prefix of some marker."""
    best = 0
    for m in markers:
        for n in range(min(len(m) - 1, len(buf)), best, -1):
            if buf.endswith(m[:n]):
                best = n
                break
    return best


def _find_first(buf: str, markers: tuple[str, ...]) -> tuple[int, str]:
    at, found = -1, ""
    for m in markers:
        i = buf.find(m)
        if i >= 0 and (at < 0 or i < at):
            at, found = i, m
    return at, found


class ReasoningParser:
    """Feed text pieces; get (channel, text) pieces, channel ``REASONING`` or ``ANSWER``."""

    in_reasoning: bool = False

    def feed(self, text: str) -> Iterator[tuple[str, str]]:
        raise NotImplementedError

    def finish(self) -> Iterator[tuple[str, str]]:
        raise NotImplementedError


class ThinkTagParser(ReasoningParser):
    """Thinking between a start and an end tag at the start of the reply; the rest is the answer.

    The start tag counts only at the very start (after blank space), so a tag quoted later in an
    answer stays text. Blank space around the thinking and before the answer is dropped."""

    _START, _THINK, _LEAD, _ANSWER = range(4)

    def __init__(self, start: str, end: str, starts_inside: bool = False) -> None:
        self.start, self.end = start, end
        self._inside = starts_inside
        self._state = self._START
        self._buf = ""
        self._think_started = False  # reasoning text emitted (so blank space is now content)
        self.in_reasoning = starts_inside

    def feed(self, text: str) -> Iterator[tuple[str, str]]:
        if self._state == self._ANSWER:
            if text:
                yield ANSWER, text
            return
        self._buf += text
        while True:
            if self._state == self._START:
                head = self._buf.lstrip()
                if not head:
                    return  # blank space before anything: wait
                if head.startswith(self.start):
                    self._buf = head[len(self.start) :]
                    self._state, self.in_reasoning = self._THINK, True
                elif self.start.startswith(head):
                    return  # may still become the start tag
                elif self._inside:
                    self._state = self._THINK
                else:
                    self._state, self.in_reasoning = self._ANSWER, False
                    out, self._buf = self._buf, ""
                    if out:
                        yield ANSWER, out
                    return
            elif self._state == self._THINK:
                at = self._buf.find(self.end)
                if at >= 0:
                    yield from self._reasoning(self._buf[:at], final=True)
                    self._buf = self._buf[at + len(self.end) :]
                    self._state, self.in_reasoning = self._LEAD, False
                    continue
                keep = _partial_suffix(self._buf, (self.end,))
                body = self._buf[: len(self._buf) - keep]
                stripped = body.rstrip()  # blank space waits: it may end the thinking
                self._buf = body[len(stripped) :] + self._buf[len(body) :]
                yield from self._reasoning(stripped, final=False)
                return
            else:  # _LEAD: blank space between the end tag and the answer
                out = self._buf.lstrip()
                if not out:
                    return
                self._buf = ""
                self._state = self._ANSWER
                yield ANSWER, out
                return

    def _reasoning(self, text: str, final: bool) -> Iterator[tuple[str, str]]:
        if not self._think_started:
            text = text.lstrip()
        if final:
            text = text.rstrip()
        if text:
            self._think_started = True
            yield REASONING, text

    def finish(self) -> Iterator[tuple[str, str]]:
        buf, self._buf = self._buf, ""
        if self._state == self._START and not self._inside:
            if buf:
                yield ANSWER, buf
        elif self._state in (self._START, self._THINK):
            # The reply ended while thinking (stopped, or out of tokens): what came is thinking.
            yield from self._reasoning(buf, final=True)
        elif self._state == self._LEAD:
            pass  # only blank space after the end tag
        self.in_reasoning = False


class PlainParser(ReasoningParser):
    """Everything is the answer (a raw prompt's continuation)."""

    def feed(self, text: str) -> Iterator[tuple[str, str]]:
        if text:
            yield ANSWER, text

    def finish(self) -> Iterator[tuple[str, str]]:
        return iter(())


class HarmonyParser(ReasoningParser):
    """gpt-oss's harmony messages: a header up to ``<|message|>`` names the channel, the body
    runs to ``<|end|>`` (or the next ``<|start|>``, ``<|return|>``, ``<|call|>``)."""

    def __init__(self) -> None:
        self._buf = ""
        self._header = True
        self._channel = ANSWER

    def feed(self, text: str) -> Iterator[tuple[str, str]]:
        self._buf += text
        while self._buf:
            if self._header:
                at = self._buf.find("<|message|>")
                if at >= 0:
                    self._channel = _channel_of(self._buf[:at])
                    self.in_reasoning = self._channel == REASONING
                    self._buf = self._buf[at + len("<|message|>") :]
                    self._header = False
                    continue
                if len(self._buf) > _HARMONY_HEADER_MAX or not _could_be_header(self._buf):
                    # Plain text with no channel: the model did not use harmony here.
                    self._header, self._channel = False, ANSWER
                    continue
                return
            at, marker = _find_first(self._buf, _HARMONY_BODY_END)
            if at >= 0:
                if at:
                    yield self._channel, self._buf[:at]
                self._buf = self._buf[at + len(marker) :]
                self._header, self.in_reasoning = True, False
                continue
            cut = self._buf.rfind("<")
            keep = _partial_suffix(self._buf[cut:], _HARMONY_BODY_END) if cut >= 0 else 0
            out = self._buf[: len(self._buf) - keep]
            self._buf = self._buf[len(out) :]
            if out:
                yield self._channel, out
            return

    def finish(self) -> Iterator[tuple[str, str]]:
        buf, self._buf = self._buf, ""
        if buf and not self._header:
            yield self._channel, buf
        self.in_reasoning = False


def _channel_of(header: str) -> str:
    """The channel a harmony header names: analysis is thinking; a commentary message that calls
    a tool (``to=…``) is shown as thinking too, since Hearth runs no tools."""
    name = header.split("<|channel|>", 1)[1] if "<|channel|>" in header else header
    name = name.replace("<|constrain|>", " ").strip()
    if name.startswith("analysis"):
        return REASONING
    if name.startswith("commentary") and "to=" in header:
        return REASONING
    return ANSWER


def _could_be_header(buf: str) -> bool:
    """Whether ``buf`` can still be the start of a harmony header (markers, a role, a channel)."""
    head = buf.lstrip()
    if not head:
        return True
    if head.startswith("<|"):
        return True
    if "<|start|>".startswith(head) or "<|channel|>".startswith(head):
        return True
    # After <|start|>: the role name, then <|channel|>.
    return head.startswith("assistant") or "assistant".startswith(head)


def split_reasoning(fmt: ReasoningFormat, text: str) -> tuple[str, str]:
    """A whole reply as (reasoning, answer)."""
    parser = fmt.parser()
    parts: dict[str, list[str]] = {REASONING: [], ANSWER: []}
    for channel, piece in [*parser.feed(text), *parser.finish()]:
        parts[channel].append(piece)
    return "".join(parts[REASONING]), "".join(parts[ANSWER])
