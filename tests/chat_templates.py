"""Small chat templates with the rules of real families, for tests that rewrite a real model's
template (``gguf_factory.with_chat_template``)."""

from __future__ import annotations

# DeepSeek-R1 / QwQ: the generation prompt opens the think block; earlier thinking is dropped.
OPENS_THINKING = (
    "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + "
    "m['content'].split('</think>')[-1] + '<|im_end|>\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{'<|im_start|>assistant\\n<think>\\n'}}{% endif %}"
)

# Qwen3: thinking off writes an empty think block into the generation prompt.
QWEN3_STYLE = (
    "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + "
    "m['content'].split('</think>')[-1] + '<|im_end|>\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{'<|im_start|>assistant\\n'}}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{'<think>\\n\\n</think>\\n\\n'}}{% else %}{{'<think>\\n'}}{% endif %}{% endif %}"
)
