"""Thinking told apart from the answer: think tags and harmony, fed whole, split at every
position and one character at a time (tests/engine/test_streaming.py feeds real tokens)."""

from __future__ import annotations

import pytest

from app.core.chat.reasoning import (
    ANSWER,
    REASONING,
    ReasoningFormat,
    detect_format,
    split_reasoning,
)

THINK = ReasoningFormat("think", "<think>", "</think>")
THINK_INSIDE = ReasoningFormat("think", "<think>", "</think>", starts_inside=True)
HARMONY = ReasoningFormat("harmony")

CASES = [
    (
        THINK,
        "<think>\nLet me add.\n2+2=4.\n</think>\n\nIt is 4.",
        ("Let me add.\n2+2=4.", "It is 4."),
    ),
    (THINK, "\n<think>a < b</think>Yes.", ("a < b", "Yes.")),
    (THINK, "No thinking here.", ("", "No thinking here.")),
    (THINK, "Quote: <think>x</think> stays.", ("", "Quote: <think>x</think> stays.")),
    (THINK, "<think></think>\n\nJust the answer.", ("", "Just the answer.")),
    (THINK, "<think>cut off mid-thought\n", ("cut off mid-thought", "")),
    (THINK, "<thin", ("", "<thin")),
    (THINK_INSIDE, "Hmm, 4.\n</think>\n\nFour.", ("Hmm, 4.", "Four.")),
    (THINK_INSIDE, "<think>\nagain</think>ok", ("again", "ok")),
    (THINK_INSIDE, "still thinking </thi", ("still thinking </thi", "")),
    (
        ReasoningFormat("think", "[THINK]", "[/THINK]"),
        "[THINK]plan[/THINK]Answer",
        ("plan", "Answer"),
    ),
    (
        ReasoningFormat("think", "<|START_THINKING|>", "<|END_THINKING|>"),
        "<|START_THINKING|>x<|END_THINKING|>y",
        ("x", "y"),
    ),
    (
        HARMONY,
        "<|channel|>analysis<|message|>User asks 2+2. Easy.<|end|>"
        "<|start|>assistant<|channel|>final<|message|>2+2 = 4.",
        ("User asks 2+2. Easy.", "2+2 = 4."),
    ),
    (
        HARMONY,  # <|end|> left out (as a loop that hides control tokens would)
        "<|channel|>analysis<|message|>think<|start|>assistant<|channel|>final<|message|>ans<|return|>",
        ("think", "ans"),
    ),
    (
        HARMONY,
        "<|channel|>commentary<|message|>Checking the docs first.<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.search <|constrain|>json"
        '<|message|>{"q": "x"}<|call|>',
        ('{"q": "x"}', "Checking the docs first."),
    ),
    (HARMONY, "Plain text without channels.", ("", "Plain text without channels.")),
    (HARMONY, "<|channel|>final<|message|>a <| b", ("", "a <| b")),
]


def _run(fmt: ReasoningFormat, pieces: list[str]) -> tuple[str, str]:
    parser = fmt.parser()
    out: dict[str, list[str]] = {REASONING: [], ANSWER: []}
    for piece in pieces:
        for channel, text in parser.feed(piece):
            assert text, "no empty pieces"
            out[channel].append(text)
    for channel, text in parser.finish():
        out[channel].append(text)
    return "".join(out[REASONING]), "".join(out[ANSWER])


@pytest.mark.parametrize(("fmt", "text", "expected"), CASES)
def test_whole_text(fmt: ReasoningFormat, text: str, expected: tuple[str, str]) -> None:
    assert split_reasoning(fmt, text) == expected


@pytest.mark.parametrize(("fmt", "text", "expected"), CASES)
def test_split_at_every_position(
    fmt: ReasoningFormat, text: str, expected: tuple[str, str]
) -> None:
    for i in range(len(text) + 1):
        assert _run(fmt, [text[:i], text[i:]]) == expected, i
    for i in range(len(text)):
        for j in range(i, len(text) + 1):
            assert _run(fmt, [text[:i], text[i:j], text[j:]]) == expected, (i, j)


@pytest.mark.parametrize(("fmt", "text", "expected"), CASES)
def test_one_character_at_a_time(
    fmt: ReasoningFormat, text: str, expected: tuple[str, str]
) -> None:
    assert _run(fmt, list(text)) == expected


def test_reasoning_streams_before_the_end_tag() -> None:
    parser = THINK.parser()
    assert list(parser.feed("<think>")) == []
    assert parser.in_reasoning
    assert list(parser.feed("step one")) == [(REASONING, "step one")]
    assert list(parser.feed(" and two\n")) == [(REASONING, " and two")]
    assert list(parser.feed("</think>\n\nDone")) == [(ANSWER, "Done")]
    assert not parser.in_reasoning


QWEN3 = (
    "{%- for m in messages %}{{'<|im_start|>' + m.role + '\\n' + m.content.split('</think>')[-1]"
    " + '<|im_end|>\\n'}}{%- endfor %}{%- if add_generation_prompt %}{{'<|im_start|>assistant\\n'}}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{'<think>\\n\\n</think>\\n\\n'}}{%- endif %}{%- endif %}"
)


def test_detects_each_family() -> None:
    assert detect_format(QWEN3, "<|im_start|>assistant\n") == THINK
    off = detect_format(QWEN3, "<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert off == THINK and not off.starts_inside
    r1 = detect_format(
        "{{'<｜Assistant｜><think>\\n'}} split('</think>')", "<｜Assistant｜><think>\n"
    )
    assert r1 == THINK_INSIDE
    seed = detect_format("{{ '<seed:think>' }} </seed:think>", "x")
    assert (seed.start, seed.end) == ("<seed:think>", "</seed:think>")
    magistral = detect_format("[THINK] [/THINK]", "[INST]hi[/INST]")
    assert (magistral.start, magistral.end) == ("[THINK]", "[/THINK]")
    assert (
        detect_format("<|start|>{{ m }}<|channel|>final", "<|start|>assistant").family == "harmony"
    )
    plain = detect_format("{{ m.content }}", "<|im_start|>assistant\n")
    assert plain == THINK  # <think> at the very start still counts


@pytest.mark.parametrize(
    ("name", "ends"),
    [
        ("Apriel-1.6-15b-Thinker-fixed.jinja", ()),
        ("unsloth-Apriel-1.5.jinja", ("[END FINAL RESPONSE]",)),
    ],
)
def test_apriel_thinking_and_answer_with_its_real_template(
    llama_cpp_sources, name: str, ends: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    """Apriel reasons first (1.6's generation prompt writes "Here are my reasoning steps:", 1.5's
    writes nothing); the answer follows [BEGIN FINAL RESPONSE], and 1.5's [END FINAL RESPONSE]
    ends the reply."""
    from app.core.chat.template import ChatTemplate

    source = (llama_cpp_sources / "models" / "templates" / name).read_text()
    prompt = ChatTemplate(source).render(
        [{"role": "user", "content": "What is 2+2?"}], add_generation_prompt=True
    )
    fmt = detect_format(source, prompt)
    assert (fmt.family, fmt.start, fmt.end, fmt.starts_inside) == (
        "think",
        "Here are my reasoning steps:",
        "[BEGIN FINAL RESPONSE]",
        True,
    )
    assert fmt.answer_ends == ends
    reply = "\nTwo plus two: add them.\nIt is 4.\n[BEGIN FINAL RESPONSE]\nThe answer is 4."
    for cut in range(1, len(reply)):
        parser = fmt.parser()
        out: dict[str, str] = {REASONING: "", ANSWER: ""}
        for piece in (reply[:cut], reply[cut:]):
            for channel, text in parser.feed(piece):
                out[channel] += text
        for channel, text in parser.finish():
            out[channel] += text
        assert (out[REASONING], out[ANSWER]) == (
            "Two plus two: add them.\nIt is 4.",
            "The answer is 4.",
        ), cut
