"""Strings from files made safe to show: no terminal escapes, no invisible reordering.

A GGUF header, a file name or a model's metadata can hold any bytes. Printed raw, an escape
sequence retitles or clears the user's terminal, and bidirectional overrides make text read
differently from what it is. Everything Hearth shows from a file goes through ``clean_line``
(one line: names, labels, paths, errors) or ``clean_text`` (several lines: a template, a
description), which drop those characters and keep everything a person can read.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls (0x80-0x9f: a terminal reads 0x9b as ESC [), the Unicode bidi
# embeddings, overrides and isolates, and the line/paragraph separators.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")
_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")  # keeps \t and \n
_SPACES = re.compile(r"[\t\n\r\u2028\u2029]")


def clean_line(text: str) -> str:
    """``text`` as one printable line: line breaks and tabs become spaces, controls go."""
    return _LINE.sub("", _SPACES.sub(" ", text))


def clean_text(text: str) -> str:
    """``text`` with its lines and tabs kept and every other control character dropped
    (a carriage return would let a line overwrite the one before it on a terminal)."""
    return _TEXT.sub("", text.replace("\r\n", "\n"))
