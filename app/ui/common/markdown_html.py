"""Markdown replies to the HTML subset Qt's rich text shows, with highlighted code blocks.

Raw HTML in a reply is shown as text, never interpreted, and images become links: a reply can
never make the app load anything. ``split_stable`` finds the part of a streaming reply whose
blocks are complete, so a growing reply re-renders only its last block.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound
from PySide6.QtGui import QGuiApplication, QPalette

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
MONO = "'JetBrains Mono', 'DejaVu Sans Mono', 'Menlo', 'Consolas', monospace"


_LIGHT = {
    "code_style": "default",
    "code_bg": "#f5f6f8",
    "inline_bg": "#eceef1",
    "border": "#d0d4da",
    "muted": "#6b7280",
    "link": "#2563eb",
}
_DARK = {
    "code_style": "monokai",
    "code_bg": "#272822",
    "inline_bg": "#34373d",
    "border": "#4b5058",
    "muted": "#9ca3af",
    "link": "#7aa2f7",
}


def app_is_dark() -> bool:
    """Whether the application's palette is a dark one (light when there is no application)."""
    if QGuiApplication.instance() is None:
        return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


@dataclass
class Palette:
    """The colours of rendered Markdown. ``Palette()`` follows the application's theme at the
    time a renderer is made from it; ``for_theme`` fixes light or dark; a field given here wins
    over the theme's."""

    dark: bool | None = None
    code_style: str = ""
    code_bg: str = ""
    inline_bg: str = ""
    border: str = ""
    muted: str = ""
    link: str = ""

    @classmethod
    def for_theme(cls, dark: bool) -> Palette:
        return cls(dark).resolved()

    def resolved(self) -> Palette:
        """This palette with the theme's colours in every field left empty."""
        dark = app_is_dark() if self.dark is None else self.dark
        base = _DARK if dark else _LIGHT
        return Palette(dark, **{k: getattr(self, k) or v for k, v in base.items()})


@dataclass
class Rendered:
    html: str
    code_blocks: list[str] = field(default_factory=list)


class MarkdownRenderer:
    def __init__(self, palette: Palette | None = None) -> None:
        self.palette = (palette or Palette()).resolved()
        self._md = (
            MarkdownIt("commonmark", {"html": False, "breaks": False})
            .enable("table")
            .enable("strikethrough")
        )
        self._formatter = HtmlFormatter(
            nowrap=True, noclasses=True, style=get_style_by_name(self.palette.code_style)
        )
        rules = self._md.renderer.rules  # type: ignore[attr-defined]  # RendererHTML's table
        rules["fence"] = self._fence
        rules["code_block"] = self._fence
        rules["code_inline"] = self._code_inline
        rules["image"] = self._image
        self._blocks: list[str] = []
        self._block_base = 0

    def render(self, text: str, block_base: int = 0) -> Rendered:
        """Render ``text``; code blocks are numbered from ``block_base`` for their Copy links."""
        self._blocks = []
        self._block_base = block_base
        out = self._md.render(text)
        out = self._style_tables(out)
        return Rendered(out, list(self._blocks))

    # -- rules ---------------------------------------------------------------------------------

    def _fence(self, tokens: list[Token], idx: int, options: object, env: object) -> str:
        token = tokens[idx]
        code = token.content
        lang = (token.info or "").strip().split(" ")[0] if token.type == "fence" else ""
        try:
            lexer = get_lexer_by_name(lang) if lang else TextLexer()
        except ClassNotFound:
            lexer = TextLexer()
        body = highlight(code, lexer, self._formatter).rstrip("\n")
        n = self._block_base + len(self._blocks)
        self._blocks.append(code)
        p = self.palette
        label = html.escape(lang) if lang else "code"
        return (
            f'<table width="100%" cellspacing="0" cellpadding="8" bgcolor="{p.code_bg}" '
            f'style="margin-top:6px; margin-bottom:6px; border-color:{p.border}">'
            f'<tr><td><span style="color:{p.muted}; font-size:small">{label}</span>'
            f'&nbsp;&nbsp;<a href="hearth-copy:{n}" style="font-size:small; color:{p.link}">Copy</a>'
            f'<pre style="font-family:{MONO}; margin:0">{body}</pre></td></tr></table>\n'
        )

    def _code_inline(self, tokens: list[Token], idx: int, options: object, env: object) -> str:
        return (
            f'<code style="font-family:{MONO}; background-color:{self.palette.inline_bg}">'
            f"{html.escape(tokens[idx].content)}</code>"
        )

    def _image(self, tokens: list[Token], idx: int, options: object, env: object) -> str:
        token = tokens[idx]
        src = html.escape(str(token.attrGet("src") or ""), quote=True)
        alt = html.escape(token.content or "image")
        return f'<a href="{src}">[image: {alt}]</a>'

    def _style_tables(self, out: str) -> str:
        p = self.palette
        return out.replace(
            "<table>",
            f'<table border="1" cellspacing="0" cellpadding="5" '
            f'style="border-collapse:collapse; border-style:solid; border-color:{p.border}; '
            'margin-top:6px; margin-bottom:6px">',
        )


def split_stable(text: str) -> int:
    """Length of the prefix of ``text`` made of complete top-level blocks.

    A block is complete once a blank line outside a code fence is followed by a line that starts
    at the margin (so an indented continuation of a list item is never cut off), or once its
    code fence is closed and another line has begun.
    """
    stable = 0
    pos = 0
    fence: str | None = None
    pending_blank = False
    closed_fence_end = -1
    for line in text.splitlines(keepends=True):
        start = pos
        pos += len(line)
        complete = line.endswith("\n")
        stripped = line.strip()
        if fence is None and stripped:
            after_fence = closed_fence_end == start
            after_blank = pending_blank and not line[0].isspace()
            if after_fence or after_blank:
                stable = start
        if not complete:
            break  # the last line is still being written
        if fence is not None:
            m = _FENCE.match(line)
            if (
                m
                and m.group(1)[0] == fence[0]
                and len(m.group(1)) >= len(fence)
                and not stripped.lstrip(fence[0])
            ):
                fence = None
                closed_fence_end = pos
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group(1)
        pending_blank = not stripped
    return stable
