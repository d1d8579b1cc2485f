"""Parts of a file name that test_names.py's table does not reach: split parts, Windows paths,
float-type ends after a quant, sizes in unusual order, names with only active parameters.

Variants of ``app/core/gguf/names.py`` that give the same result for every name (found with
``bench/mutation.py``):

- ``rsplit("\\\\")`` / ``rsplit("/")`` with another or no split limit: the last piece is the
  same. Likewise ``base[:None]`` for ``base[:len(base)]`` when nothing is peeled off.
- stripping ``rest`` with other separator sets: every piece cut from it (base, label, the part
  after the label) is stripped of the separators again; a size label never starts or ends with
  one (the pattern's lookarounds do not take them), nor an active-only label with an X; the part
  after the label is split at separators into words, so stripping it first changes nothing.
- ``unsplit`` substituting even when the pattern is not there: there is nothing to substitute.
- the bounds of the active-only span (``<`` for ``<=``): a size cannot start on the separator
  that opens the span or right after the label's last letter.
- ``unit in "XXBTXX"``, ``not in "XXBTXX"`` / ``"bt"``, ``.lower() not in "BT"`` on the size
  already kept, never stopping at the first billions size (``in "bt"``): the loop already stops
  at the first B/T size, so a kept size is always in millions when a later one is compared.
- ``total = ""`` for ``None``: both are false, so the experts x size product is used.
- searching for the merged total from the start of the name: the first size is the experts size
  itself (skipped for its ``x``) and no plain billions size comes before it.
- the version search visiting the last token twice (``range(..., -2, -1)``).
"""

from __future__ import annotations

import pytest

from app.core.gguf.names import display_name, parse_name, split_names, split_of, unsplit

B, M = 1_000_000_000, 1_000_000


def test_split_parts_are_read_and_listed() -> None:
    assert split_of("Qwen3-235B-A22B-Q4_K_M-00002-of-00005.gguf") == (
        "Qwen3-235B-A22B-Q4_K_M",
        2,
        5,
    )
    assert split_of("Qwen3-8B-Q4_K_M.gguf") is None
    assert split_names("big", 3) == [
        "big-00001-of-00003.gguf",
        "big-00002-of-00003.gguf",
        "big-00003-of-00003.gguf",
    ]


def test_unsplit_keeps_a_lower_case_extension() -> None:
    assert unsplit("big-00001-of-00003.gguf") == "big.gguf"
    assert unsplit("BIG-00001-OF-00003.GGUF") == "BIG.gguf"
    assert unsplit("big.gguf") == "big.gguf"


def test_display_name_is_the_file_name_without_extension_or_part() -> None:
    assert (
        display_name("/models/Llama-3.1-70B-Q4_K_M-00001-of-00002.gguf") == "Llama-3.1-70B-Q4_K_M"
    )
    assert display_name("C:/models/SmolLM2-135M-Instruct.Q4_1.GGUF") == "SmolLM2-135M-Instruct.Q4_1"
    assert display_name("/models/notes-about-models.txt") == "notes-about-models.txt"


def test_a_windows_path_gives_the_file_name() -> None:
    p = parse_name("C:\\Users\\me\\models\\Qwen3-8B-Q4_K_M.gguf")
    assert (p.base_name, p.parameters, p.quant) == ("Qwen3", 8 * B, "Q4_K_M")


def test_a_name_without_quant_has_no_quant_and_no_flags() -> None:
    p = parse_name("some-model.gguf")
    assert p.quant is None and p.preset is None and p.ends is None
    assert p.dynamic is False and p.imatrix is False
    assert parse_name("Qwen3-8B-Q4_K_M.gguf").ends is None


@pytest.mark.parametrize(
    ("filename", "quant"),
    [
        ("Model-7B-q4-k-m.gguf", "Q4_K_M"),  # dashes in the quant
        ("Model-7B-fp32.gguf", "F32"),
        ("Model-7B-FP16.gguf", "F16"),
    ],
)
def test_quant_spellings(filename: str, quant: str) -> None:
    assert parse_name(filename).quant == quant


@pytest.mark.parametrize(
    ("filename", "quant", "ends", "base", "finetune"),
    [
        ("gemma-2-9b-it-Q8_0-f16.gguf", "Q8_0", "F16", "gemma-2", "it"),
        ("Qwen2.5-7B-Instruct-Q4_K_M-bf16.gguf", "Q4_K_M", "BF16", "Qwen2.5", "Instruct"),
        ("Phi-3-mini-3.8B-Q6_K-f32.gguf", "Q6_K", "F32", "Phi-3-mini", None),
        ("Model-7B-q4-k-m-f16.gguf", "Q4_K_M", "F16", "Model", None),
    ],
)
def test_a_float_type_after_a_quant_is_where_the_ends_are_kept(
    filename: str, quant: str, ends: str, base: str, finetune: str | None
) -> None:
    p = parse_name(filename)
    assert (p.quant, p.ends, p.preset, p.base_name, p.finetune) == (
        quant,
        ends,
        quant,
        base,
        finetune,
    )


def test_the_quants_flags_are_read_before_a_float_type_end() -> None:
    p = parse_name("Model-7B.i1-Q4_K_M-f16.gguf")
    assert (p.quant, p.ends, p.imatrix, p.dynamic) == ("Q4_K_M", "F16", True, False)
    p = parse_name("Model-7B-UD-Q4_K_XL-bf16.gguf")
    assert (p.quant, p.ends, p.imatrix, p.dynamic) == ("Q4_K_XL", "BF16", False, True)


@pytest.mark.parametrize(
    ("filename", "quant"),
    [
        ("Model-7B-BF16-F16.gguf", "F16"),
        ("Model-7B-F16-F32.gguf", "F32"),
        ("Model-7B-F32-BF16.gguf", "BF16"),
    ],
)
def test_two_float_types_are_a_float_file_not_a_quant_with_ends(filename: str, quant: str) -> None:
    p = parse_name(filename)
    assert (p.quant, p.ends) == (quant, None)


def test_only_active_parameters_named() -> None:
    p = parse_name("Qwen1.5-MoE-A2.7B-Chat.Q4_K_M.gguf")
    assert (p.base_name, p.size_label, p.parameters, p.active_parameters, p.finetune) == (
        "Qwen1.5-MoE",
        "A2.7B",
        None,
        2_700_000_000,
        "Chat",
    )
    assert parse_name("Model-A300M-Q8_0.gguf").active_parameters == 300 * M


def test_a_merged_experts_model_states_its_real_total() -> None:
    p = parse_name(
        "Llama-3.2-8X3B-MOE-Dark-Champion-Instruct-uncensored-abliterated-18.4B-Q4_K_M.gguf"
    )
    assert (p.parameters, p.experts, p.size_label) == (18_400_000_000, 8, "8X3B")


def test_a_context_length_after_an_experts_size_is_not_its_total() -> None:
    p = parse_name("Mixtral-8x7B-Instruct-v0.1-32k.Q4_K_M.gguf")
    assert (p.parameters, p.experts) == (56 * B, 8)


def test_a_context_length_before_the_size_is_skipped() -> None:
    p = parse_name("Yarn-Mistral-128k-7B-Q4_K_M.gguf")
    assert (p.parameters, p.size_label) == (7 * B, "7B")


def test_billions_win_over_millions_and_the_first_millions_size_counts() -> None:
    assert parse_name("Draft-160M-for-Llama-7B-Q4_K_M.gguf").parameters == 7 * B
    assert parse_name("Model-135M-360M-Q8_0.gguf").parameters == 135 * M


def test_a_leading_capital_x_is_part_of_the_name() -> None:
    p = parse_name("Xwin-LM-13B-V0.2.Q4_K_M.gguf")
    assert (p.base_name, p.parameters, p.version) == ("Xwin-LM", 13 * B, "V0.2")
    p = parse_name("Xwin-LM-v0.2.Q4_K_M.gguf")  # no size: the version is peeled off the name
    assert (p.base_name, p.version) == ("Xwin-LM", "v0.2")
    assert parse_name("Model-7B-Chat-X-Q4_K_M.gguf").finetune == "Chat-X"


def test_fine_tune_words_of_a_name_without_size_keep_their_order() -> None:
    p = parse_name("TinyMistral-instruct-dpo.Q4_K_M.gguf")
    assert (p.base_name, p.finetune) == ("TinyMistral", "instruct-dpo")


def test_a_version_before_the_fine_tune() -> None:
    p = parse_name("Llama-3-8B-v0.1-Instruct-Q4_K_M.gguf")
    assert (p.version, p.finetune) == ("v0.1", "Instruct")
