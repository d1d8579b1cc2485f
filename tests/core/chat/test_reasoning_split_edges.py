"""Thinking and answer at the edges: which format a template means, markers repeated in one
piece, replies that start with blank space or with the message body, what the parsers say about
being in the thinking, and what comes out when a reply is cut off.

Variants of ``app/core/chat/reasoning.py`` that split every reply the same (found with
``bench/mutation.py``):

- ``start.lstrip()`` for ``start.rstrip()``: no start tag begins or ends with blank space.
- scanning one or two characters more for a marker's beginning (``len(m) + 1``), starting the
  harmony hold-back at the first ``<`` instead of the last, or taking ``cut >= 0 or True`` when
  there is no ``<``: a marker found whole was already handled, and a proper prefix of a marker
  holds one ``<`` only.
- ``_find_first`` starting at -2 or with another marker name when none is found, or preferring
  the later of two markers found at the same place: the caller only asks ``at >= 0``, and two
  different markers cannot start at the same place.
- ``final=True`` / ``None`` for the thinking streamed so far: it is already right-stripped.
- ``_think_started = None``, harmony's ``_header = None`` / first channel None: falsy like
  False, and a channel is always set before a body.
- leftovers in the buffer after the answer began or after ``finish`` (``"XXXX"``): nothing reads
  the buffer then; ``finish`` ending with ``state != LEAD`` for its no-op branch.
- the header prefix tests for ``<|start|>`` / ``<|channel|>`` (``and``, other spellings): a
  header starting with ``<|`` is accepted before them, so only a lone ``<`` reaches them, and
  both accept it.
- ``<|constrain|>`` spelled otherwise, or the header split at another ``<|channel|>``: a harmony
  header names one channel, first; the constraint comes after it.
- a harmony header of exactly 256 characters counted as plain text: real headers are tens of
  characters.
"""

from __future__ import annotations

import pytest

from app.core.chat.reasoning import (
    ANSWER,
    PLAIN,
    REASONING,
    HarmonyParser,
    ReasoningFormat,
    ThinkTagParser,
    detect_format,
    split_reasoning,
)

THINK = ReasoningFormat("think", "<think>", "</think>")
HARMONY = ReasoningFormat("harmony")


def test_a_raw_prompts_continuation_is_all_answer() -> None:
    assert split_reasoning(PLAIN, "<think>x</think>y") == ("", "<think>x</think>y")
    assert PLAIN.markers == ()


def test_harmony_is_known_by_the_template_or_by_the_prompt_alone() -> None:
    assert detect_format(
        "{{ '<|channel|>final' }}", "<|start|>user<|message|>hi<|end|>"
    ).family == ("harmony")
    assert detect_format("{{ messages }}", "<|start|>user<|end|><|start|>assistant\n").family == (
        "harmony"
    )
    assert detect_format("{{ messages }}", "assistant:").family == "think"


def test_an_end_tag_twice_in_one_piece_ends_the_thinking_at_the_first() -> None:
    assert split_reasoning(THINK, "<think>a</think>b</think>c") == ("a", "b</think>c")


def test_several_harmony_messages_in_one_piece() -> None:
    text = (
        "<|channel|>analysis<|message|>one<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Looking.<|end|>"
        "<|start|>assistant<|channel|>analysis<|message|>two<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Done.<|return|>"
    )
    assert split_reasoning(HARMONY, text) == ("onetwo", "Looking.Done.")


def test_a_harmony_reply_that_starts_with_the_message_body() -> None:
    """A generation prompt that names the channel itself leaves only ``<|message|>``."""
    assert split_reasoning(HARMONY, "<|message|>Hello<|end|>") == ("", "Hello")


def test_a_harmony_message_without_a_channel_is_an_answer() -> None:
    assert split_reasoning(HARMONY, "<|start|>assistant<|message|>Hi<|end|>") == ("", "Hi")


def test_blank_space_before_a_harmony_header_is_not_text() -> None:
    parser = HarmonyParser()
    out = [*parser.feed("\n"), *parser.feed("<|channel|>analysis<|message|>think<|end|>")]
    assert out == [(REASONING, "think")]
    assert split_reasoning(HARMONY, "\n<|channel|>analysis<|message|>t<|end|>") == ("t", "")


def test_harmony_text_goes_out_as_it_comes() -> None:
    parser = HarmonyParser()
    assert list(parser.feed("Hello")) == [(ANSWER, "Hello")]  # no channel: plain text, at once
    parser = HarmonyParser()
    assert list(parser.feed("<|channel|>final<|message|>Hello")) == [(ANSWER, "Hello")]
    assert list(parser.feed(" there <|en")) == [(ANSWER, " there ")]  # "<|en" may be <|end|>
    assert list(parser.finish()) == [(ANSWER, "<|en")]  # cut off there: it was text


def test_a_finished_harmony_reply_sends_no_empty_piece() -> None:
    parser = HarmonyParser()
    assert list(parser.feed("<|channel|>final<|message|>Hi<|end|>")) == [(ANSWER, "Hi")]
    assert list(parser.finish()) == []


def test_harmony_says_when_the_model_is_thinking() -> None:
    parser = HarmonyParser()
    list(parser.feed("<|channel|>analysis<|message|>Let"))
    assert parser.in_reasoning is True
    list(parser.feed(" me see.<|end|>"))
    assert parser.in_reasoning is False
    list(parser.feed("<|start|>assistant<|channel|>final<|message|>Hi"))
    assert parser.in_reasoning is False
    list(parser.feed("<|end|><|start|>assistant<|channel|>analysis<|message|>more"))
    assert parser.in_reasoning is True
    list(parser.finish())
    assert parser.in_reasoning is False


@pytest.mark.parametrize("inside", [False, True])
def test_think_tags_say_when_the_model_is_thinking(inside: bool) -> None:
    parser = ThinkTagParser("<think>", "</think>", starts_inside=inside)
    assert parser.in_reasoning is inside
    list(parser.feed("Hmm" if inside else "<think>Hmm"))
    assert parser.in_reasoning is True
    list(parser.finish())  # stopped mid-thought
    assert parser.in_reasoning is False


def test_an_answer_without_thinking_is_not_thinking() -> None:
    parser = ThinkTagParser("<think>", "</think>")
    assert list(parser.feed("Hello")) == [(ANSWER, "Hello")]
    assert parser.in_reasoning is False


def test_a_raw_continuation_keeps_its_leading_blank_space() -> None:
    """Continuing code from a raw prompt: the indentation is part of the text."""
    assert split_reasoning(PLAIN, "    return x\n") == ("", "    return x\n")


def test_a_harmony_header_arriving_in_pieces_after_blank_space() -> None:
    parser = HarmonyParser()
    out = [*parser.feed("\n"), *parser.feed("<|chan")]
    out += parser.feed("nel|>analysis<|message|>think<|end|>")
    assert out == [(REASONING, "think")]


def test_a_reply_cut_off_in_a_message_body_sends_no_empty_piece() -> None:
    parser = HarmonyParser()
    assert list(parser.feed("<|channel|>final<|message|>Hi")) == [(ANSWER, "Hi")]
    assert list(parser.finish()) == []
