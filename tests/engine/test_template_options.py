"""Template options of a generate request: the Qwen3-style thinking switch, reasoning effort."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.client import BlockingEngine, EngineError
from app.engine.protocol import ErrorCode
from tests import gguf_factory as F
from tests.chat_templates import QWEN3_STYLE

pytestmark = pytest.mark.model

# gpt-oss's rule, reduced: the effort goes into the system header.
EFFORT_STYLE = (
    "{{'<|im_start|>system\\nReasoning: ' + (reasoning_effort | default('medium')) + "
    "'<|im_end|>\\n'}}{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + "
    "m['content'] + '<|im_end|>\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{'<|im_start|>assistant\\n'}}{% endif %}"
)
SAMPLING = {"temperature": 0, "max_tokens": 12, "seed": 1}
ASK = [{"role": "user", "content": "What is 2+2?"}]


@pytest.fixture(scope="module")
def qwen3_engine(smollm_path: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    model = F.with_chat_template(
        smollm_path, tmp_path_factory.mktemp("q3") / "q3.gguf", QWEN3_STYLE
    )
    engine = BlockingEngine()
    info = engine.load(str(model), {"n_ctx": 1024})
    yield engine, info
    engine.close()


def test_the_loaded_model_says_which_options_its_template_takes(qwen3_engine) -> None:  # type: ignore[no-untyped-def]
    _, info = qwen3_engine
    assert info["thinking_switch"] is True
    assert info["reasoning_efforts"] is False


def test_thinking_off_gives_an_empty_think_block_and_an_answer(qwen3_engine) -> None:  # type: ignore[no-untyped-def]
    engine, _ = qwen3_engine
    started: list[dict] = []  # type: ignore[type-arg]
    _, on_off = engine.chat(ASK, SAMPLING, on_started=started.append)
    # Thinking on (the template's default): the prompt opens the block, the reply is thinking.
    assert on_off["reasoning"] and on_off["reasoning_tokens"] > 0
    off_text, off = engine.chat(
        ASK, SAMPLING, on_started=started.append, template_kwargs={"enable_thinking": False}
    )
    # The empty block is in the prompt: more prompt tokens, and the reply is all answer.
    assert off["prompt_tokens"] > on_off["prompt_tokens"]
    assert started[1]["prompt_tokens"] == off["prompt_tokens"]
    assert off["reasoning"] is None and off["reasoning_tokens"] == 0
    assert off_text and "<think>" not in off_text
    # Explicitly on is the same prompt as the default.
    _, on = engine.chat(ASK, SAMPLING, template_kwargs={"enable_thinking": True})
    assert on["prompt_tokens"] == on_off["prompt_tokens"] and on["reasoning"] == on_off["reasoning"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"enable_thinking": "no"},
        {"reasoning_effort": "extreme"},
        {"temperature": 1},
        ["enable_thinking"],
    ],
)
def test_bad_template_options_are_a_bad_request(qwen3_engine, kwargs) -> None:  # type: ignore[no-untyped-def]
    engine, _ = qwen3_engine
    with pytest.raises(EngineError) as info:
        engine.chat(ASK, SAMPLING, template_kwargs=kwargs)
    assert info.value.code == ErrorCode.BAD_REQUEST
    _, stats = engine.chat(ASK, SAMPLING)  # the worker lives on
    assert stats["completion_tokens"] > 0


def test_reasoning_effort_reaches_the_template(smollm_path: Path, tmp_path: Path) -> None:
    model = F.with_chat_template(smollm_path, tmp_path / "effort.gguf", EFFORT_STYLE)
    with BlockingEngine() as engine:
        info = engine.load(str(model), {"n_ctx": 1024})
        assert (info["thinking_switch"], info["reasoning_efforts"]) == (False, True)
        sizes = {}
        for effort in ("low", "medium", "high"):
            _, stats = engine.chat(ASK, SAMPLING, template_kwargs={"reasoning_effort": effort})
            sizes[effort] = stats["prompt_tokens"]
        _, default = engine.chat(ASK, SAMPLING)
        assert default["prompt_tokens"] == sizes["medium"]
        # "medium" is one token longer or shorter than the others in SmolLM2's vocabulary at most;
        # what matters: the rendered prompts differ, so the reused prefix stops at the effort.
        _, again = engine.chat(ASK, SAMPLING, template_kwargs={"reasoning_effort": "low"})
        assert again["reused_tokens"] < again["prompt_tokens"] - 1


def test_a_plain_model_has_neither_option(smollm_engine: BlockingEngine) -> None:
    info = smollm_engine.status()["loaded"]
    assert info is not None
    assert (info["thinking_switch"], info["reasoning_efforts"]) == (False, False)
