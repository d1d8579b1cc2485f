"""Reads the test cases of llama.cpp's ``tests/test-chat-template.cpp``.

The file declares ``std::vector<TestCase> test_cases { {name, template, expected, expected_jinja,
bos, eos, supported_with_jinja, extra_conversation}, ... }`` in C++ aggregate syntax, and the
conversation every case renders as ``std::vector<llama_chat_message> conversation { ... }``.
This is a small tokenizer for exactly that subset: string literals (adjacent ones concatenate,
as in C++), ``U8C(...)``, ``true``/``false``, braces and commas; comments are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
_TOKEN = re.compile(
    r'\s+|//[^\n]*|/\*.*?\*/|(?:u8)?"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z_0-9]*|[{}(),]',
    re.DOTALL,
)


@dataclass
class CppCase:
    name: str
    template: str
    expected: str
    expected_jinja: str
    bos_token: str = ""
    eos_token: str = ""
    supported_with_jinja: bool = True
    extra_conversation: list[dict[str, str]] = field(default_factory=list)

    @property
    def expected_with_jinja(self) -> str:
        return self.expected_jinja or self.expected


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2 :])
            assert m, body[i : i + 6]
            out.append(chr(int(m.group(0), 16)))
            i += 2 + len(m.group(0))
        elif nxt in "uU":
            n = 4 if nxt == "u" else 8
            out.append(chr(int(body[i + 2 : i + 2 + n], 16)))
            i += 2 + n
        else:
            out.append(_ESCAPES[nxt])
            i += 2
    return "".join(out)


def _tokens(src: str) -> list[object]:
    """Strings (adjacent literals joined), booleans and punctuation; U8C( ) is dropped."""
    toks: list[object] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise ValueError(f"cannot read the C++ at {src[pos : pos + 40]!r}")
        pos = m.end()
        t = m.group(0)
        if t[0].isspace() or t.startswith(("//", "/*")):
            continue
        if t.startswith(('"', 'u8"')):
            s = _unescape(t[t.index('"') + 1 : -1])
            if toks and isinstance(toks[-1], _Str):
                toks[-1] = _Str(toks[-1] + s)  # adjacent literals concatenate, as in C++
            else:
                toks.append(_Str(s))
            continue
        if t in ("true", "false"):
            toks.append(t == "true")
        elif t == "U8C":
            toks.append("U8C")
        else:
            toks.append(t)
    # U8C( "..." ) -> "..."
    cleaned: list[object] = []
    i = 0
    while i < len(toks):
        if toks[i] == "U8C":
            cleaned.append(toks[i + 2])
            i += 4
        else:
            cleaned.append(toks[i])
            i += 1
    return cleaned


class _Str(str):
    """A string literal, told apart from punctuation tokens."""


def _parse(toks: list[object], i: int) -> tuple[object, int]:
    t = toks[i]
    if t == "{" and not isinstance(t, _Str):
        items: list[object] = []
        i += 1
        while not (toks[i] == "}" and not isinstance(toks[i], _Str)):
            item, i = _parse(toks, i)
            items.append(item)
            if toks[i] == "," and not isinstance(toks[i], _Str):
                i += 1
        return items, i + 1
    return t, i + 1


def _braced(src: str, opener: str) -> str:
    start = src.index(opener) + len(opener) - 1
    depth = 0
    in_str = False
    i = start
    while True:
        c = src[i]
        if in_str:
            if c == "\\":
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif src.startswith("//", i):
            i = src.index("\n", i)
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return src[start : i + 1]
        i += 1


def _messages(pairs: list[object]) -> list[dict[str, str]]:
    return [{"role": str(p[0]), "content": str(p[1])} for p in pairs]  # type: ignore[index]


def read_cases(path: Path) -> tuple[list[dict[str, str]], list[CppCase]]:
    """The conversation and the test cases of test-chat-template.cpp."""
    src = path.read_text(encoding="utf-8")
    conv_src = _braced(src, "std::vector<llama_chat_message> conversation {")
    conv, _ = _parse(_tokens(conv_src), 0)
    cases_src = _braced(src, "std::vector<TestCase> test_cases {")
    raw, _ = _parse(_tokens(cases_src), 0)
    cases = []
    for fields in raw:  # type: ignore[union-attr]
        f = list(fields)  # type: ignore[call-overload]
        extra = _messages(f[7]) if len(f) > 7 else []
        cases.append(
            CppCase(
                name=str(f[0]),
                template=str(f[1]),
                expected=str(f[2]),
                expected_jinja=str(f[3]),
                bos_token=str(f[4]) if len(f) > 4 else "",
                eos_token=str(f[5]) if len(f) > 5 else "",
                supported_with_jinja=bool(f[6]) if len(f) > 6 else True,
                extra_conversation=extra,
            )
        )
    return _messages(conv), cases  # type: ignore[arg-type]
