"""The chat-template sandbox at its edges: how big a repeated value and a power may get, the
transformers dialect (trimmed blocks, ``tojson`` options), and arithmetic that must still work.

Variants of ``app/core/chat/template_env.py`` that render every template the same (found with
``bench/mutation.py``):

- ``super().call_binop(None, ...)``: Jinja's own ``call_binop`` does not use the context.
- leaving out ``undefined=jinja2.Undefined``: it is Jinja's default.
- ``time.monotonic() >= self.deadline`` for ``>``: the same instant either way.
- the deadline traced in every frame but the template's (``!=``): a runaway loop keeps calling
  Jinja's runtime, whose frames are then checked, so it is stopped all the same (later).
- the wording of the two guard messages: they go to the log only (the user is told the
  template was blocked; see test_template.py).
"""

from __future__ import annotations

import logging

import pytest

from app.core.chat.template import ChatTemplate, TemplateError

USER = [{"role": "user", "content": "hi"}]


def render(source: str, messages: list[dict[str, str]] | None = None) -> str:
    return ChatTemplate(source).render(messages or USER, add_generation_prompt=False)


def test_repeating_text_up_to_a_mebibyte_of_items_is_allowed() -> None:
    assert len(render("{{ 'ab' * 524288 }}")) == 1 << 20
    assert render("{{ '=' * 3 }}{{ 2 * '-' }}{{ [1] * 2 }}") == "===--[1, 1]"


@pytest.mark.parametrize("source", ["{{ 'ab' * 524289 }}", "{{ 600000 * ['x', 'y'] }}"])
def test_repeating_past_a_mebibyte_is_refused(
    source: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(TemplateError) as info:
        render(source)
    assert "was stopped: it tried to build an enormous value" in str(info.value)
    assert "enormous value" in caplog.text


def test_a_long_message_repeated_zero_or_fewer_times_is_empty() -> None:
    long = [{"role": "user", "content": "x" * 1_100_000}]
    assert render("{{ messages[0].content * 0 }}|{{ messages[0].content * -1 }}", long) == "|"


def test_numbers_multiply_and_raise_to_small_powers() -> None:
    assert render("{{ 3 * 4 }} {{ 2.5 * 2 }} {{ 2 ** 64 }} {{ 2 ** -2 }}") == (
        "12 5.0 18446744073709551616 0.25"
    )


@pytest.mark.parametrize("source", ["{{ 2 ** 65 }}", "{{ 10 ** -65 }}", "{{ 9 ** 99.5 }}"])
def test_enormous_powers_are_refused(source: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(TemplateError) as info:
        render(source)
    assert "was stopped: it tried to raise a number to an enormous power" in str(info.value)
    assert "Python internals" not in str(info.value)  # the words for a reach for internals
    assert "enormous power" in caplog.text


def test_blocks_are_trimmed_as_transformers_does() -> None:
    source = "{% for m in messages %}\n  {% if m.role == 'user' %}\nU: {{ m.content }}\n  {% endif %}\n{% endfor %}"
    assert render(source, [*USER, {"role": "user", "content": "yo"}]) == "U: hi\nU: yo\n"


def test_tojson_keeps_key_order_and_takes_its_options() -> None:
    value = "{'b': 1, 'a': 'é'}"
    assert render("{{ " + value + " | tojson }}") == '{"b": 1, "a": "é"}'
    assert render("{{ " + value + " | tojson(sort_keys=true) }}") == '{"a": "é", "b": 1}'
    assert render("{{ " + value + " | tojson(separators=(',', ':')) }}") == '{"b":1,"a":"é"}'
    assert render("{{ " + value + " | tojson(indent=1) }}") == '{\n "b": 1,\n "a": "é"\n}'
