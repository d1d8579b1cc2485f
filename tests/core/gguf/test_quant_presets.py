"""Bits per weight and file-type presets at their edges (unknown types, tiny and unknown counts),
and the tensor types a preset gives, against the real test models.

The mixing rules of the other presets (``_attn_v``, ``_ffn_down``, ``_iq_low`` in quants.py,
copied from llama.cpp's llama_tensor_get_type_impl) are only reached through estimates made
from names (tests/core/fit/test_name_accuracy.py, within a few percent of the Hub's sizes), so
most changes to them survive the fast tests: only a file quantized by llama.cpp in each preset
could pin them tensor by tensor.

Variants of ``app/core/gguf/quants.py`` that behave the same (found with ``bench/mutation.py``):

- ``ALIASES.get(q, "")`` with ``None``, no default or another unknown name as the default: no
  preset has that name, so the lookup gives None all the same.
- ``preset_name_for_file_type`` looking up ``None`` instead of skipping it: no preset has file
  type None.
- ``tensor_bytes < 0`` / ``parameters < 0`` for ``<= 0``: zero is already caught by ``not``.
- ``tensor_bytes`` in true division: a tensor holds whole blocks (the header reader refuses
  rows that are not), so the quotient is a whole number either way.
- ``_bpw_from_llama3_8b``: it runs while the module is imported, to fill the preset table, so a
  variant of it is never switched on; the figures it gives are pinned by test_names.py.
"""

from __future__ import annotations

import re

import pytest

from app.core.gguf.local_file import read_header_file
from app.core.gguf.quants import (
    MixContext,
    bits_per_weight,
    preset_name_for_file_type,
    tensor_type_for,
)


def test_an_unknown_file_type_has_no_preset_name() -> None:
    assert preset_name_for_file_type(9999) is None
    assert preset_name_for_file_type(None) is None


def test_bits_per_weight_of_tiny_counts() -> None:
    assert bits_per_weight(1, 8) == 1.0
    assert bits_per_weight(2, 1) == 16.0


def test_bits_per_weight_is_unknown_for_counts_that_cannot_be() -> None:
    assert bits_per_weight(-8, 100) is None
    assert bits_per_weight(800, -100) is None
    assert bits_per_weight(0, 100) is None
    assert bits_per_weight(800, None) is None


_LAYER_ROLE = re.compile(
    r"^blk\.(\d+)\.(attn_q|attn_k|attn_v|attn_qkv|attn_output|ffn_gate|ffn_up|ffn_down)\.weight$"
)


@pytest.mark.parametrize(("model", "preset"), [("gemma_path", "Q4_K_M"), ("smollm_path", "Q4_1")])
def test_each_tensor_of_a_real_file_has_the_type_its_preset_gives_it(
    model: str, preset: str, request: pytest.FixtureRequest
) -> None:
    """Estimates from a file name price every tensor at the type llama.cpp's quantizer gives it
    (Q4_K_M keeps some attn_v and ffn_down matrices at Q6_K, and the output at Q6_K)."""
    h = read_header_file(request.getfixturevalue(model))
    n_layer = h.arch_get("block_count")
    names = {t.name for t in h.tensors}
    ctx = MixContext(
        n_layer=n_layer,
        gqa=h.arch_get("attention.head_count") // h.arch_get("attention.head_count_kv"),
        tied="output.weight" not in names,
    )
    checked = 0
    for t in h.tensors:
        if len(t.shape) < 2:
            continue  # norms and biases stay F32
        m = _LAYER_ROLE.match(t.name)
        role, index, count = (m.group(2), int(m.group(1)), n_layer) if m else (t.name[:-7], 0, 1)
        assert tensor_type_for(preset, role, index, count, t.shape[0], ctx) == t.type_name, t.name
        checked += 1
    assert checked > 100
