"""The loader probes a model's chat template once: how the system prompt reaches the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.client import BlockingEngine
from tests import gguf_factory as F

pytestmark = pytest.mark.model

# Gemma 2's rule: a system message is refused outright.
REFUSES_SYSTEM = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_system_prompt_native_or_merged(tmp_path: Path, smollm_path: Path) -> None:
    chat = [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Hi"},
    ]
    refusing = F.with_chat_template(smollm_path, tmp_path / "refusing.gguf", REFUSES_SYSTEM)
    with BlockingEngine() as engine:
        assert engine.load(str(smollm_path), {"n_ctx": 512})["system_prompt"] == "native"
        info = engine.load(str(refusing), {"n_ctx": 512})
        assert info["system_prompt"] == "merged"
        assert info["template_note"] is None
        _text, stats = engine.chat(chat, {"temperature": 0, "seed": 1, "max_tokens": 4})
        assert stats["completion_tokens"] > 0
