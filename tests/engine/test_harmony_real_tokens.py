"""gpt-oss's harmony replies on real token sequences: gpt-oss's own tokenizer (o200k_harmony) and
chat template in a vocab-only GGUF (tests/gpt_oss_vocab.py), through the engine's tokenizing,
marker rendering, end-of-generation check and token loop."""

from __future__ import annotations

import ctypes
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.core.chat.reasoning import REASONING, ReasoningFormat, detect_format
from app.core.chat.template import ChatTemplate
from app.core.options import SamplingOptions
from app.engine.generate import Generator, marker_tokens, tokenize
from app.engine.loader import template_for
from app.engine.protocol import StopReason
from tests.gpt_oss_vocab import gpt_oss_vocab, tiktoken_cache_dir

pytestmark = pytest.mark.model

ENDOFTEXT, RETURN, CONSTRAIN, CHANNEL, START, END, MESSAGE, CALL = (
    199999,
    200002,
    200003,
    200005,
    200006,
    200007,
    200008,
    200012,
)
HARMONY_IDS = {
    "<|channel|>": CHANNEL,
    "<|message|>": MESSAGE,
    "<|end|>": END,
    "<|start|>": START,
    "<|return|>": RETURN,
    "<|call|>": CALL,
}

# o200k_harmony's ids for these texts, as tiktoken 0.14.0 encodes them (the test below checks
# them against tiktoken when it is installed).
REFERENCE = [
    ("Hello world", "13225 2375"),
    (
        "It's 3.14159 — isn't it? I'LL be there; we've SEEN the HTTPServer's camelCase.",
        "15834 220 18 13 16926 4621 2733 12471 480 30 3413 7454 413 1354 26 24716 6542 1262 290 "
        "21929 6444 885 83330 6187 13",
    ),
    (
        "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
        "1314 18795 2406 25 677 8 2747 677 734 271 538 297 464 220 17 734 309 622 297 198 271 622 "
        "18795 2406 533 220 16 8 659 18795 2406 533 220 17 446",
    ),
    (
        "Emoji: 🙂👋🏽 👩\u200d👩\u200d👧\u200d👦 🇫🇷 ✅🦙",
        "96950 25 26192 28823 233 52622 121 61138 102 2524 28823 102 2524 28823 100 2524 28823 99 "
        "173468 104 55506 115 91349 4103 99 247",
    ),
    (
        "中文：我想在苹果公司工作。日本語のテキストです。한국어 문장입니다.",
        "10667 1817 7522 18165 2178 32176 12908 22369 788 9048 40909 3385 16056 18368 38236 15121 "
        "788 114854 5959 26387 7681 27001 13",
    ),
    (
        "Здравствуйте, мир! Ελληνικά. naïve café résumé Ångström",
        "182298 11 37934 0 175295 33428 13 153475 737 30469 140184 49805 892 162823",
    ),
    (
        "   spaces\n\n\n  \n\ttabs\t\t 1234567 12,345.67",
        "256 18608 2499 4066 6264 6071 335 220 7633 19354 22 220 899 11 22901 13 5462",
    ),
]


@dataclass
class VocabModel:
    """What the engine's tokenizing and token loop read of a loaded model; no context (the tests
    that run the token loop replace its decode)."""

    vocab: Any
    template: ChatTemplate
    ctx: Any = None
    n_ctx: int = 4096
    cache_tokens: list[int] = field(default_factory=list)


@pytest.fixture(scope="session")
def gpt_oss_vocab_path() -> Path:
    """gpt-oss's tokenizer and chat template as a vocab-only GGUF, built once per cache."""
    return gpt_oss_vocab()


@pytest.fixture(scope="module")
def gpt_oss(gpt_oss_vocab_path: Path) -> Iterator[VocabModel]:
    """The vocab loaded as the engine loads a model, its template made by the loader."""
    import llama_cpp as L

    L.llama_backend_init()
    params = L.llama_model_default_params()
    params.vocab_only = True
    model = L.llama_model_load_from_file(str(gpt_oss_vocab_path).encode(), params)
    assert model, "llama.cpp did not load the gpt-oss vocab"
    vocab = L.llama_model_get_vocab(model)
    template, note = template_for(model, vocab)
    assert note is None, note
    yield VocabModel(vocab, template)
    L.llama_model_free(model)


def _prompt(lm: VocabModel) -> str:
    return lm.template.render(
        [
            {
                "role": "system",
                "content": "Answer briefly. Réponds en français si on te parle français.",
            },
            {"role": "user", "content": "What's the capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "Et celle du Japon ? 🗾"},
        ],
        add_generation_prompt=True,
        reasoning_effort="low",
    )


# -- 1. the tokenizer is gpt-oss's -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "ids"), REFERENCE, ids=[t[:12] for t, _ in REFERENCE])
def test_llama_cpp_tokenizes_as_tiktoken(gpt_oss: VocabModel, text: str, ids: str) -> None:
    assert tokenize(gpt_oss, text) == [int(i) for i in ids.split()]


def test_the_reference_ids_are_tiktokens(
    gpt_oss: VocabModel, gpt_oss_vocab_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tiktoken is no dependency of Hearth: where it is installed, the ids above are checked to be
    its own, and so is a whole rendered prompt's tokenization."""
    tiktoken = pytest.importorskip("tiktoken")
    # tiktoken's own o200k_harmony, its ranks read from the rank file next to the vocab.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache_dir(gpt_oss_vocab_path)))
    enc = tiktoken.get_encoding("o200k_harmony")
    for text, ids in REFERENCE:
        assert enc.encode(text) == [int(i) for i in ids.split()]
    prompt = _prompt(gpt_oss)
    assert enc.encode(prompt, allowed_special="all") == tokenize(gpt_oss, prompt)


# -- 2. the real template, through Hearth's template code ---------------------------------------------


def test_the_real_template_writes_harmony_markers_as_single_tokens(gpt_oss: VocabModel) -> None:
    assert gpt_oss.template.system_prompt == "native"  # gpt-oss takes it as its developer message
    prompt = _prompt(gpt_oss)
    assert prompt.startswith("<|start|>system<|message|>")
    assert "Reasoning: low" in prompt
    assert "<|start|>developer<|message|># Instructions\n\nAnswer briefly." in prompt
    assert prompt.endswith(
        "<|start|>user<|message|>Et celle du Japon ? 🗾<|end|><|start|>assistant"
    )
    tokens = tokenize(gpt_oss, prompt)
    for marker, token in HARMONY_IDS.items():
        assert tokens.count(token) == prompt.count(marker), marker
    # system, developer, three turns, then the generation prompt's <|start|>assistant
    assert tokens.count(START) == 6 and tokens.count(END) == 5
    assert tokens[:3] == [START, 17360, MESSAGE]  # "system" between them: no BOS in front
    assert tokens[-2:] == [START, 173781]  # <|start|>assistant
    assert detect_format(gpt_oss.template.source, prompt) == ReasoningFormat("harmony")


def test_the_engine_renders_every_harmony_marker(gpt_oss: VocabModel) -> None:
    """The token loop shows a marker token's text when it is in ``marker_tokens``: each harmony
    marker is one token of this vocab, so each must be there, whatever llama.cpp's attributes."""
    keep = marker_tokens(gpt_oss, ReasoningFormat("harmony"))
    assert keep == frozenset(HARMONY_IDS.values())


# -- 3. a reply, token by token, through the engine's token loop --------------------------------------


def _run_loop(
    lm: VocabModel, sampled: list[int], monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, Any], list[tuple[str | None, str]]]:
    """Run the engine's token loop with llama.cpp's sampler replaced by ``sampled`` (one token
    per step) and decoding skipped: everything else (end of generation, token pieces, UTF-8,
    markers, the reasoning split) is the engine's own, on the real vocab."""
    import llama_cpp as L

    script = iter(sampled)

    def sample(_sampler: object, _ctx: object, _idx: int) -> int:
        tok = next(script, None)
        assert tok is not None, "the token loop went on after the reply's last token"
        return tok

    monkeypatch.setattr(L, "llama_sampler_sample", sample)
    monkeypatch.setattr(L, "llama_decode", lambda _ctx, _batch: 0)
    lm.cache_tokens = []
    emitted: list[tuple[str | None, str]] = []
    fmt = detect_format(lm.template.source, _prompt(lm))
    text, stats = Generator()._token_loop(
        lm,
        None,
        SamplingOptions(),
        fmt,
        lambda piece, channel: emitted.append((channel, piece)),
        lambda: False,
        time.monotonic(),
    )
    return text, dict(stats), emitted


def _split(emitted: list[tuple[str | None, str]]) -> tuple[str, str]:
    thinking = "".join(t for ch, t in emitted if ch == REASONING)
    answer = "".join(t for ch, t in emitted if ch is None)
    return thinking, answer


def _piece(lm: VocabModel, token: int) -> bytes:
    import llama_cpp as L

    buf = ctypes.create_string_buffer(256)
    n = L.llama_token_to_piece(lm.vocab, token, buf, len(buf), 0, True)
    return buf.raw[:n]


REPLIES = [
    pytest.param(
        "<|channel|>analysis<|message|>The user asks (in French) for Japan's capital: 東京 — "
        "Tōkyō. Answer in French, briefly 🦙.<|end|><|start|>assistant<|channel|>final"
        "<|message|>C'est Tokyo (東京) 🗼 — « la capitale de l'Est ».<|return|>",
        "The user asks (in French) for Japan's capital: 東京 — Tōkyō. Answer in French, briefly 🦙.",
        "C'est Tokyo (東京) 🗼 — « la capitale de l'Est ».",
        id="analysis-then-final",
    ),
    pytest.param(
        "<|channel|>final<|message|>Tokyo.<|return|>",
        "",
        "Tokyo.",
        id="final-only",
    ),
    pytest.param(
        "<|channel|>analysis<|message|>Need the weather: call the tool.<|end|>"
        "<|start|>assistant<|channel|>commentary<|message|>Je regarde la météo…<|end|>"
        "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json"
        '<|message|>{"city":"Tōkyō"}<|call|>',
        'Need the weather: call the tool.{"city":"Tōkyō"}',
        "Je regarde la météo…",
        id="preamble-then-tool-call",
    ),
]


@pytest.mark.parametrize(("reply", "thinking", "answer"), REPLIES)
def test_a_harmony_reply_token_by_token(
    gpt_oss: VocabModel,
    monkeypatch: pytest.MonkeyPatch,
    reply: str,
    thinking: str,
    answer: str,
) -> None:
    tokens = tokenize(gpt_oss, reply)
    assert tokens[-1] in (RETURN, CALL)
    assert tokens.count(CHANNEL) == reply.count("<|channel|>")  # markers are single tokens
    text, stats, emitted = _run_loop(gpt_oss, tokens, monkeypatch)
    assert stats["stop_reason"] == StopReason.EOS
    assert stats["completion_tokens"] == len(tokens) - 1  # all but the end-of-generation token
    assert _split(emitted) == (thinking, answer)
    assert (stats["reasoning"] or "") == thinking
    assert text == "".join(piece for _ch, piece in emitted)  # no marker is text of the reply
    assert not any("<|" in piece for _ch, piece in emitted)


def test_a_character_split_across_tokens_comes_out_whole(
    gpt_oss: VocabModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = "<|channel|>analysis<|message|>🦙🗾<|end|><|start|>assistant<|channel|>final<|message|>🦙<|return|>"
    tokens = tokenize(gpt_oss, reply)

    def whole(piece: bytes) -> bool:
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    assert not all(whole(_piece(gpt_oss, t)) for t in tokens)  # 🦙 is three tokens
    _text, _stats, emitted = _run_loop(gpt_oss, tokens, monkeypatch)
    assert _split(emitted) == ("🦙🗾", "🦙")
    assert not any("\ufffd" in piece for _ch, piece in emitted)


# -- 4. where a reply ends --------------------------------------------------------------------------


def test_end_of_generation_is_return_and_call_not_end(gpt_oss: VocabModel) -> None:
    """llama.cpp ends a reply at harmony's <|return|> and <|call|> (and <|endoftext|>), not at
    <|end|>, which only ends a message: the final answer comes after the analysis's <|end|>."""
    import llama_cpp as L

    n = L.llama_vocab_n_tokens(gpt_oss.vocab)
    assert n == 201088
    eog = {t for t in range(n) if L.llama_vocab_is_eog(gpt_oss.vocab, t)}
    assert eog == {ENDOFTEXT, RETURN, CALL}
    assert L.llama_vocab_eos(gpt_oss.vocab) == RETURN
