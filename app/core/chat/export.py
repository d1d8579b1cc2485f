"""Export a conversation to Markdown or JSON.

A reply's thinking is kept apart from its answer: in Markdown it is a quote block above the
answer, in JSON the message's ``reasoning`` field (null when the model did not think)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from app.core.chat.store import Conversation, Message

ROLE_TITLES = {"system": "System", "user": "You", "assistant": "Assistant"}


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def close_fences(text: str) -> str:
    """``text`` with a code block left open (a reply stopped inside one) closed, so what follows
    it in a Markdown file is not swallowed into the code (CommonMark's fence rules)."""
    open_fence = ""
    for line in text.splitlines():
        m = _FENCE.match(line)
        if not m:
            continue
        fence, rest = m.group(1), m.group(2)
        if not open_fence:
            if not (fence[0] == "`" and "`" in rest):  # a backtick fence's info has no backtick
                open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence) and not rest.strip():
            open_fence = ""
    if not open_fence:
        return text
    return text.rstrip("\n") + "\n" + open_fence


def to_markdown(conv: Conversation, messages: list[Message], system_prompt: str = "") -> str:
    lines = [f"# {conv.title}", ""]
    meta = [f"Created {_when(conv.created_at)}"]
    if conv.model_path:
        meta.append(f"model `{Path(conv.model_path).name}`")
    lines += ["_" + ", ".join(meta) + "_", ""]
    if system_prompt:
        lines += ["## System prompt", "", system_prompt, ""]
    for m in messages:
        title = ROLE_TITLES.get(m.role, m.role)
        if m.role == "assistant" and m.model:
            title += f" ({Path(m.model).name})"
        lines += [f"## {title}", ""]
        if m.reasoning:
            quoted = [f"> {ln}" if ln.strip() else ">" for ln in m.reasoning.strip().splitlines()]
            lines += ["> **Thinking**", ">", *quoted, ""]
        lines += [close_fences(m.content), ""]
        if m.state not in ("done",):
            lines += [f"_(reply {m.state})_", ""]
    return "\n".join(lines).rstrip() + "\n"


def to_json(conv: Conversation, messages: list[Message], system_prompt: str = "") -> str:
    data: dict[str, Any] = {
        "format": "hearth-conversation",
        "version": 1,
        "title": conv.title,
        "created_at": _when(conv.created_at),
        "updated_at": _when(conv.updated_at),
        "model": conv.model_path,
        "system_prompt": system_prompt,
        "overrides": conv.overrides,
        "messages": [
            {
                "role": m.role,
                "content": m.content,
                "reasoning": m.reasoning,
                "state": m.state,
                "created_at": _when(m.created_at),
                "model": m.model,
                "stats": m.stats,
            }
            for m in messages
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def export_file(
    path: Path, conv: Conversation, messages: list[Message], system_prompt: str = ""
) -> None:
    """Write Markdown for ``.md`` / ``.markdown`` paths, JSON otherwise."""
    text = (
        to_markdown(conv, messages, system_prompt)
        if path.suffix.lower() in (".md", ".markdown")
        else to_json(conv, messages, system_prompt)
    )
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
