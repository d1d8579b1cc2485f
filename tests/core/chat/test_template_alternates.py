"""A file's named alternate chat templates (``tokenizer.chat_template.<name>``) are read."""

from __future__ import annotations

from pathlib import Path

from app.core.gguf.info import inspect_model
from tests import gguf_factory as F


def test_named_templates_are_read(tmp_path: Path) -> None:
    kvs = [
        F.kv("general.architecture", F.STRING, "llama"),
        F.kv("llama.block_count", F.U32, 1),
        F.kv("tokenizer.chat_template", F.STRING, "{{ messages }}"),
        F.kv("tokenizer.chat_template.tool_use", F.STRING, "{{ tools }}"),
        F.kv("tokenizer.chat_template.rag", F.STRING, "{{ documents }}"),
        F.kv_array("tokenizer.chat_templates", F.STRING, ["tool_use", "rag"]),
    ]
    head = F.header(kvs, [F.tensor("a.weight", (256,), F.F16_TYPE, 0)])
    path = F.write(tmp_path / "alt.gguf", head + b"\0" * ((-len(head)) % 32) + b"\1" * 512)
    info = inspect_model(path)
    assert info.valid, info.error
    assert info.chat_template == "{{ messages }}"
    assert info.chat_templates == {"tool_use": "{{ tools }}", "rag": "{{ documents }}"}
    assert not any(k.startswith("tokenizer.chat_template") for k in info.metadata)
    assert info.to_dict()["chat_templates"]["rag"] == "{{ documents }}"
    assert "chat_templates" not in info.to_dict(include_template=False)
