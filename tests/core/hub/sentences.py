"""What every message for the user from the Hub is held to."""

from __future__ import annotations

import re

EXCEPTION_NAME = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception|Timeout|Exceeded)\b")


def assert_user_sentence(text: str) -> None:
    """A message for the user: whole sentences, starting with a capital letter and ending with a
    full stop, never an exception's class name or errno."""
    assert text[:1].isupper() and text.endswith("."), text
    assert "\n" not in text, text
    assert not EXCEPTION_NAME.search(text) and "errno" not in text.lower(), text
    assert "httpx" not in text and "huggingface_hub" not in text, text
