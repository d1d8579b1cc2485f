"""Chat templates: the real SmolLM2 template, the fallback, and the sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.core.chat.template import DEFAULT_TIMEOUT_S, ChatTemplate, TemplateError, TemplateTimeout
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
    with pytest.raises(
        TemplateError, match="chat template tried to reach Python internals and was blocked"
    ):
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


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        # a loop of calls: time spent in a macro's own frames
        "{% macro f(n) %}{% for i in range(n) %}{% endfor %}{% endmacro %}"
        "{% for i in range(99999) %}{{ f(99999) }}{% endfor %}",
        # a loop the template never leaves, producing nothing
        "{% for m in messages * 99999 %}{% for c in m.content * 99999 %}{% endfor %}{% endfor %}",
    ],
)
def test_a_runaway_template_is_stopped_at_the_default_limit(source: str) -> None:
    """No timeout given: the limit every real render uses (the engine passes none), stopped
    close to it (not long after, and not before), and the message says why and after how long."""
    t = ChatTemplate(source)
    started = time.monotonic()
    with pytest.raises(TemplateTimeout) as info:
        t.render([{"role": "user", "content": "x"}])
    took = time.monotonic() - started
    assert DEFAULT_TIMEOUT_S <= took < DEFAULT_TIMEOUT_S + 0.25, took
    assert str(info.value) == (
        f"the chat template ran for more than {DEFAULT_TIMEOUT_S:g} s and was stopped"
    )


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


def test_generation_block_renders_its_body() -> None:
    t = ChatTemplate(
        "{% for m in messages %}{% if m['role'] == 'assistant' %}{% generation %}"
        "{{ m['content'] }}{% endgeneration %}{% else %}[{{ m['content'] }}]{% endif %}{% endfor %}"
    )
    out = t.render([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    assert out == "[a]b"


def test_transformers_variables_and_helpers() -> None:
    t = ChatTemplate(
        "{{ bos_token }}{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}"
        "{{ m['content'] | trim }}{% endfor %}|{{ tools | tojson(indent=2) }}|{{ documents }}|"
        "{{ enable_thinking }}|{{ strftime_now('%Y') | length }}|{{ '' if add_generation_prompt }}"
        "{{ eos_token }}",
        "<s>",
        "</s>",
    )
    out = t.render(
        [{"role": "user", "content": " hi "}, {"role": "user", "content": "no"}],
        tools=[{"name": "é"}],
        enable_thinking=False,
    )
    assert out == '<s>hi|[\n  {\n    "name": "é"\n  }\n]|None|False|4|</s>'
    ascii_json = ChatTemplate("{{ 'é' | tojson(ensure_ascii=True) }}").render([])
    assert ascii_json == '"\\u00e9"'


GEMMA_LIKE = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
)


def test_system_prompt_probe_and_merge() -> None:
    chat = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    refusing = ChatTemplate(GEMMA_LIKE).probed()
    assert refusing.system_prompt == "merged"
    assert refusing.render(chat) == "<user>Be brief.\nHi"
    dropping = ChatTemplate(
        "{% for m in messages if m['role'] != 'system' %}<{{ m['content'] }}>{% endfor %}"
    ).probed()
    assert dropping.system_prompt == "merged"
    assert dropping.render(chat) == "<Be brief.\nHi>"
    native = ChatTemplate("{% for m in messages %}<{{ m['content'] }}>{% endfor %}").probed()
    assert native.system_prompt == "native"
    assert native.render(chat) == "<Be brief.><Hi>"


def test_probe_fails_for_a_template_that_renders_nothing() -> None:
    with pytest.raises(TemplateError, match="refused"):
        ChatTemplate("{{ raise_exception('never') }}").probed()


def test_an_enormous_power_is_refused_by_the_guard_even_when_its_result_is_small(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``2 ** 100000`` takes no time to compute and ``% 7`` makes it one digit, so Python's own
    limits never step in: only the sandbox's power guard refuses it, and says so."""
    for src in ("{{ (2 ** 100000) % 7 }}", "{% set n = 100000 %}{{ (2 ** n) % 7 }}"):
        caplog.clear()
        with caplog.at_level("WARNING"), pytest.raises(TemplateError, match="enormous power"):
            ChatTemplate(src).render([{"role": "user", "content": "x"}])
        assert "enormous power" in caplog.text
    # A small power is ordinary arithmetic.
    assert ChatTemplate("{{ (2 ** 10) % 7 }}").render([{"role": "user", "content": "x"}]) == "2"
