"""Bits per weight and file-type presets at their edges: unknown types, tiny and unknown counts.

Variants of ``app/core/gguf/quants.py`` that behave the same (found with ``bench/mutation.py``):

- ``ALIASES.get(q, "")`` with ``None``, no default or another unknown name as the default: no
  preset has that name, so the lookup gives None all the same.
- ``preset_name_for_file_type`` looking up ``None`` instead of skipping it: no preset has file
  type None.
- ``tensor_bytes < 0`` / ``parameters < 0`` for ``<= 0``: zero is already caught by ``not``.
- ``_bpw_from_llama3_8b``: it runs while the module is imported, to fill the preset table, so a
  variant of it is never switched on; the figures it gives are pinned by test_names.py.
"""

from __future__ import annotations

from app.core.gguf.quants import bits_per_weight, preset_name_for_file_type


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
