"""Hearth renders real chat templates as llama.cpp does: the cases of llama.cpp's own
tests/test-chat-template.cpp (exact outputs) and every template of its models/templates/."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.chat.template import ChatTemplate
from tests.core.chat.conftest import SDIST_DIR, llama_cpp_tree
from tests.core.chat.cpp_cases import CppCase, read_cases

CPP_TEST = "tests/test-chat-template.cpp"
TEMPLATES = "models/templates"

# Cases whose expected output Hearth does not reproduce, and why.
CASE_XFAIL: dict[str, str] = {}
TEMPLATE_XFAIL: dict[str, str] = {
    "fireworks-ai-llama-3-firefunction-v2": (
        "a function-calling model: the template adds a `functions` variable (its tools as JSON) "
        "to a string, and fails without it, in transformers too"
    ),
}


def _tree_or_none() -> Path | None:
    """At collection time: the sources if the sdist is there (the fixture fails otherwise)."""
    if not any(SDIST_DIR.glob("llama_cpp_python-*.tar.gz")):
        return None
    return llama_cpp_tree()


def _case_params() -> list[object]:
    tree = _tree_or_none()
    if tree is None:
        return [pytest.param(None, id="sdist-missing")]
    _conv, cases = read_cases(tree / CPP_TEST)
    out: list[object] = []
    for c in cases:
        if not c.supported_with_jinja:
            continue  # llama.cpp itself renders it only with its built-in (non-Jinja) formatter
        out.append(_param(c.name, c.name, CASE_XFAIL))
    return out


def _param(value: str, ident: str, known: dict[str, str]) -> object:
    """A test parameter, expected to fail (strictly) with its reason when ``known`` lists it."""
    marks = [pytest.mark.xfail(reason=known[ident], strict=True)] if ident in known else []
    return pytest.param(value, id=ident, marks=marks)


def _template_params() -> list[object]:
    tree = _tree_or_none()
    if tree is None:
        return [pytest.param(None, id="sdist-missing")]
    out: list[object] = []
    for p in sorted((tree / TEMPLATES).glob("*.jinja")):
        if "tool_use" in p.stem:
            continue  # a model's alternate template for tool calls, not its chat template
        out.append(_param(p.name, p.stem, TEMPLATE_XFAIL))
    return out


@pytest.fixture(scope="module")
def cpp_cases(llama_cpp_sources: Path) -> tuple[list[dict[str, str]], dict[str, CppCase]]:
    conv, cases = read_cases(llama_cpp_sources / CPP_TEST)
    return conv, {c.name: c for c in cases}


def test_the_cpp_file_is_read(
    cpp_cases: tuple[list[dict[str, str]], dict[str, CppCase]],
) -> None:
    conv, cases = cpp_cases
    assert [m["role"] for m in conv][:2] == ["system", "user"]
    assert len(cases) >= 30
    assert all(c.template and c.expected for c in cases.values())


@pytest.mark.parametrize("name", _case_params())
def test_llama_cpp_case(
    name: str | None, cpp_cases: tuple[list[dict[str, str]], dict[str, CppCase]]
) -> None:
    conv, cases = cpp_cases
    case = cases[name or ""]
    tmpl = ChatTemplate(case.template, case.bos_token, case.eos_token).probed()
    out = tmpl.render(conv + case.extra_conversation, add_generation_prompt=True)
    assert out == case.expected_with_jinja


CHAT = [
    {"role": "system", "content": "SYSTEM-7f3a: answer like a pirate."},
    {"role": "user", "content": "USER-ONE-91c2: hello?"},
    {"role": "assistant", "content": "ASSISTANT-ONE-0d4e: ahoy."},
    {"role": "user", "content": "USER-TWO-5b88: where is the ship?"},
]


@pytest.mark.parametrize("file_name", _template_params())
def test_real_template_renders_every_message(
    file_name: str | None, llama_cpp_sources: Path
) -> None:
    source = (llama_cpp_sources / TEMPLATES / (file_name or "")).read_text(encoding="utf-8")
    tmpl = ChatTemplate(source, "<s>", "</s>").probed()
    out = tmpl.render(CHAT, add_generation_prompt=True)
    for m in CHAT:
        assert m["content"] in out, f"{m['role']} text missing ({tmpl.system_prompt} system prompt)"
    assert tmpl.system_prompt in ("native", "merged")
