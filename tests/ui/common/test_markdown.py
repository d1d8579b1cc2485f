"""Markdown replies to Qt rich text, and the split of a streaming reply into stable blocks."""

from __future__ import annotations

import pytest

from app.ui.common.markdown_html import MarkdownRenderer, Palette, split_stable


@pytest.mark.parametrize(
    ("text", "stable"),
    [
        ("Hello wor", ""),
        ("Para one.\n\nPara two", "Para one.\n\n"),
        ("Para one.\n\n", ""),  # the next block has not started: it could still be indented
        ("1. a\n\n   more of a\n\nNext", "1. a\n\n   more of a\n\n"),
        ("```py\nx = 1\n\n\ny = 2\n```\nAfter", "```py\nx = 1\n\n\ny = 2\n```\n"),
        ("```py\nx = 1\n\nstill code", ""),
        ("a\n\n```\ncode\n```\n\nb", "a\n\n```\ncode\n```\n\n"),
        ("~~~\n```\n~~~\nz", "~~~\n```\n~~~\n"),
    ],
)
def test_split_stable(text: str, stable: str) -> None:
    assert text[: split_stable(text)] == stable


def test_streaming_split_renders_like_the_whole() -> None:
    """Rendering the stable blocks one by one gives the same HTML as rendering the text at once."""
    r = MarkdownRenderer()
    text = "# Title\n\nSome *text*.\n\n- a\n- b\n\n```python\nprint(1)\n```\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\nEnd.\n"
    pieces, tail = [], ""
    for ch in text:  # as the reply streams in, complete blocks are frozen off the tail
        tail += ch
        n = split_stable(tail)
        if n:
            pieces.append(tail[:n])
            tail = tail[n:]
    pieces.append(tail)
    assert len(pieces) >= 6
    joined = "".join(r.render(p).html for p in pieces)
    assert joined == r.render(text).html


def test_code_blocks_are_highlighted_and_copyable() -> None:
    out = MarkdownRenderer(Palette.for_theme(dark=True)).render(
        "```python\ndef f():\n    return 1\n```\n"
    )
    assert out.code_blocks == ["def f():\n    return 1\n"]
    assert 'href="hearth-copy:0"' in out.html
    assert "<span style=" in out.html  # pygments colours, inline for Qt
    assert "#272822" in out.html  # the dark code background


def test_raw_html_and_images_are_never_interpreted() -> None:
    out = MarkdownRenderer().render(
        '<img src="http://x/y.png"><script>alert(1)</script>\n\n![cat](http://x/cat.png)'
    )
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "<img" not in out.html
    assert '<a href="http://x/cat.png">[image: cat]</a>' in out.html


def test_tables_and_inline_code() -> None:
    out = MarkdownRenderer().render("Use `x = 1`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n").html
    assert "<code style=" in out and "x = 1" in out
    assert '<table border="1"' in out and "<td>2</td>" in out
