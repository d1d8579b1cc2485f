"""Chat templates: the real SmolLM2 template, the fallback, and the sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.core.chat.template import ChatTemplate, TemplateError, TemplateTimeout
from app.core.gguf.local_file import read_header_file


@pytest.fixture(scope="module")
def smol_template(smollm_path: Path) -> ChatTemplate:
    src = read_header_file(smollm_path).chat_template
    assert src is not None
    return ChatTemplate(src, "<|im_start|>", "<|im_end|>")


def test_smollm_chatml(smol_template: ChatTemplate) -> None:
    out = smol_template.render(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    )
    assert (
        out
        == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_smollm_default_system_prompt_when_none_given(smol_template: ChatTemplate) -> None:
    out = smol_template.render([{"role": "user", "content": "Hi"}])
    assert out.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")


def test_transcript_fallback() -> None:
    t = ChatTemplate.transcript()
    out = t.render(
        [
            {"role": "system", "content": "Notes follow."},
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi there"},
            {"role": "user", "content": "Bye"},
        ]
    )
    assert out == "Notes follow.\n\nUser: Hello\n\nAssistant: Hi there\n\nUser: Bye\n\nAssistant:"
    assert "\nUser:" in t.stop_strings


def test_attribute_escape_is_refused() -> None:
    t = ChatTemplate("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(TemplateError, match="unsafe"):
        t.render([{"role": "user", "content": "x"}])


def test_mutation_is_refused() -> None:
    t = ChatTemplate("{% set x = [] %}{{ x.append(1) }}")
    with pytest.raises(TemplateError):
        t.render([{"role": "user", "content": "x"}])


def test_endless_loop_is_stopped_in_time() -> None:
    t = ChatTemplate(
        "{% for i in range(99999) %}{% for j in range(99999) %}{{ '' }}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    with pytest.raises(TemplateTimeout):
        t.render([{"role": "user", "content": "x"}], timeout=0.5)
    assert time.monotonic() - started < 2.0


def test_enormous_values_are_refused() -> None:
    for src in ("{{ 'a' * 10000000000 }}", "{{ [1] * 10000000000 }}", "{{ 10 ** 100000 }}"):
        with pytest.raises(TemplateError):
            ChatTemplate(src).render([{"role": "user", "content": "x"}])


def test_template_raise_exception_and_syntax_error() -> None:
    t = ChatTemplate("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(TemplateError, match="roles must alternate"):
        t.render([{"role": "user", "content": "x"}])
    with pytest.raises(TemplateError, match="cannot be parsed"):
        ChatTemplate("{% for %}")


def test_tojson_keeps_unicode() -> None:
    out = ChatTemplate("{{ messages[0]['content'] | tojson }}").render(
        [{"role": "user", "content": "café <b>"}]
    )
    assert out == '"café <b>"'
