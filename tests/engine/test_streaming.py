"""The streaming helpers without a model: UTF-8 across token pieces, stop strings across pieces,
and the token batcher's coalescing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.core.chat.reasoning import ANSWER, REASONING, ReasoningFormat
from app.engine.streaming import StopMatcher, TokenBatcher, Utf8Pieces


def test_a_character_split_across_tokens_comes_out_whole() -> None:
    utf8 = Utf8Pieces()
    data = "née 🙂!".encode()
    out = [utf8.feed(data[i : i + 1]) for i in range(len(data))]  # one byte per token
    assert "".join(out) + utf8.flush() == "née 🙂!"
    assert "" in out  # the partial bytes were held back, not shown as replacement characters
    assert "\ufffd" not in "".join(out)


def test_a_sequence_cut_off_at_the_end_is_replaced_on_flush() -> None:
    utf8 = Utf8Pieces()
    assert utf8.feed(b"ok \xf0\x9f") == "ok "
    assert utf8.flush() == "\ufffd"


def test_bytes_that_are_not_utf8_do_not_stop_the_stream() -> None:
    utf8 = Utf8Pieces()
    assert utf8.feed(b"a\xffb") == "a\ufffdb"


def test_no_stop_strings_passes_text_through() -> None:
    stops = StopMatcher(["", ""])
    assert stops.feed("User: hi") == ("User: hi", False)
    assert stops.flush() == ""


def test_a_stop_string_across_pieces_ends_the_text_before_it() -> None:
    stops = StopMatcher(["\nUser:"])
    out = []
    for piece in ["Paris.", "\nUs", "er", ": and"]:
        text, hit = stops.feed(piece)
        out.append(text)
        if hit:
            break
    assert hit and "".join(out) == "Paris."
    assert out == ["Paris.", "", "", ""]  # "\nUs" and "er" were held back, then dropped


def test_a_held_back_tail_is_released_when_it_is_not_a_stop() -> None:
    stops = StopMatcher(["</s>"])
    assert stops.feed("a <") == ("a ", False)
    assert stops.feed("/") == ("", False)
    assert stops.feed("b>") == ("</b>", False)
    assert stops.feed("end </") == ("end ", False)
    assert stops.flush() == "</"  # the reply ended: what was held is text after all
    assert stops.flush() == ""


def test_the_earliest_of_several_stop_strings_wins() -> None:
    stops = StopMatcher(["<|end|>", "\n\n"])
    assert stops.feed("one\n\ntwo<|end|>") == ("one", True)


def test_utf8_and_stop_strings_together_as_the_token_loop_uses_them() -> None:
    utf8, stops = Utf8Pieces(), StopMatcher(["«FIN»"])
    data = "ça va «FIN» ignored".encode()
    out, hit = [], False
    for i in range(0, len(data), 2):
        text, hit = stops.feed(utf8.feed(data[i : i + 2]))
        out.append(text)
        if hit:
            break
    assert hit and "".join(out) == "ça va "


def test_the_batcher_sends_the_first_piece_at_once_and_coalesces_the_rest() -> None:
    sent: list[str] = []
    batcher = TokenBatcher(lambda text, _channel: sent.append(text), interval=0.5)
    batcher.add("Hel")
    assert sent == ["Hel"]  # the first piece is not kept waiting
    batcher.add("lo")
    batcher.add(", ")
    assert sent == ["Hel"]  # within the interval: held
    time.sleep(0.55)
    batcher.add("world")
    assert sent == ["Hel", "lo, world"]  # the interval passed: everything held, in order
    batcher.add("!")
    batcher.flush()
    assert sent == ["Hel", "lo, world", "!"]
    batcher.flush()  # nothing held: nothing sent
    assert sent == ["Hel", "lo, world", "!"]


def test_the_batcher_sends_each_piece_of_a_slow_stream() -> None:
    sent: list[str] = []
    batcher = TokenBatcher(lambda text, _channel: sent.append(text), interval=0.01)
    for piece in ["a", "b", "c"]:
        batcher.add(piece)
        time.sleep(0.02)
    assert sent == ["a", "b", "c"]


# -- reasoning on real token sequences (SmolLM2's tokenizer, no weights) --------------------------------------------------------------------


@pytest.fixture(scope="module")
def smol_vocab(smollm_path: Path):  # type: ignore[no-untyped-def]
    import llama_cpp as L

    L.llama_backend_init()
    params = L.llama_model_default_params()
    params.vocab_only = True
    model = L.llama_model_load_from_file(str(smollm_path).encode(), params)
    assert model
    yield L.llama_model_get_vocab(model)
    L.llama_model_free(model)


def _tokens(vocab, text: str) -> list[int]:  # type: ignore[no-untyped-def]
    import llama_cpp as L

    data = text.encode()
    arr = (L.llama_token * (len(data) + 8))()
    n = L.llama_tokenize(vocab, data, len(data), arr, len(arr), False, True)
    assert n > 0
    return list(arr[:n])


def _pieces(vocab, tokens: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    import ctypes

    import llama_cpp as L

    buf = ctypes.create_string_buffer(256)
    utf8 = Utf8Pieces()
    out = []
    for tok in tokens:
        n = L.llama_token_to_piece(vocab, tok, buf, len(buf), 0, True)
        out.append(utf8.feed(buf.raw[:n]))
    out.append(utf8.flush())
    return out


@pytest.mark.model
@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        (
            ReasoningFormat("think", "<think>", "</think>"),
            "<think>\nThe user greets me. I’ll reply warmly — en français? Non.\n</think>\n\n"
            "Hello! 👋 How can I help?",
            (
                "The user greets me. I’ll reply warmly — en français? Non.",
                "Hello! 👋 How can I help?",
            ),
        ),
        (
            ReasoningFormat("think", "<think>", "</think>", True),
            "Sum: 2+2=4.</think>\n\nIt's 4.",
            ("Sum: 2+2=4.", "It's 4."),
        ),
        (
            ReasoningFormat("harmony"),
            "<|channel|>analysis<|message|>Need the capital.<|end|><|start|>assistant"
            "<|channel|>final<|message|>Paris.",
            ("Need the capital.", "Paris."),
        ),
    ],
)
def test_real_tokens_one_at_a_time(
    smol_vocab, fmt: ReasoningFormat, text: str, expected: tuple[str, str]
) -> None:  # type: ignore[no-untyped-def]
    tokens = _tokens(smol_vocab, text)
    assert len(tokens) > 10
    pieces = _pieces(smol_vocab, tokens)
    assert "".join(pieces) == text
    if fmt.family == "think":
        assert fmt.end not in pieces  # the tag came in several tokens: the parser joined them
    assert _run(fmt, pieces) == expected


def _run(fmt: ReasoningFormat, pieces: list[str]) -> tuple[str, str]:
    parser = fmt.parser()
    out: dict[str, list[str]] = {REASONING: [], ANSWER: []}
    for piece in pieces:
        for channel, text in parser.feed(piece):
            out[channel].append(text)
    for channel, text in parser.finish():
        out[channel].append(text)
    return "".join(out[REASONING]), "".join(out[ANSWER])


@pytest.mark.model
def test_the_end_of_turn_token_ends_the_reply(smol_vocab) -> None:  # type: ignore[no-untyped-def]
    """The token loop stops on llama.cpp's end-of-generation set (``llama_vocab_is_eog``), which
    holds <|im_end|>, <|eot_id|>, <end_of_turn>, and harmony's <|return|> and <|call|> but not
    its <|end|> (a message's end, not the turn's)."""
    import llama_cpp as L

    (im_end,) = _tokens(smol_vocab, "<|im_end|>")
    assert L.llama_vocab_is_eog(smol_vocab, im_end)
    assert not any(L.llama_vocab_is_eog(smol_vocab, t) for t in _tokens(smol_vocab, "</think>"))
