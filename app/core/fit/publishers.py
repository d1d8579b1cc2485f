"""What a file name's spelling says about how its GGUF was made.

Most GGUFs on the Hub are llama.cpp's standard conversion of the published checkpoint, quantized
with the presets of the day, and a family's shape (``families``) prices those. A few publishers
whose files are downloaded every day made theirs differently, and they name their files in a
spelling of their own, so the name can tell:

* Qwen's own Qwen2.5 GGUF repos (``qwen2.5-1.5b-instruct-q4_k_m.gguf``, all lower case) carry a
  separate output tensor although the checkpoint ties it to the token embeddings; conversions of
  the checkpoint by others have none. Qwen2.5-Omni's checkpoint stores its own output layer.
* Qwen's own and Unsloth's Qwen3 0.6B and 1.7B files (``Qwen3-1.7B-Q4_0.gguf``) have no separate
  output tensor; the checkpoint stores one, and other conversions (bartowski's
  ``Qwen_Qwen3-0.6B-Q4_K_M.gguf``, ``Qwen3-1.7B.Q2_K.gguf``) keep it.
* Google's quantization-aware q4_0 Gemma 3 files (``gemma-3-4b-it-q4_0.gguf``) keep the token
  embeddings at F16, where llama.cpp's Q4_0 preset gives them Q6_K.
* EXAONE 3.5 2.4B ties its embeddings, yet LG's own files carry an output tensor (the checkpoint
  stores one); the Llamafied checkpoint (``EXAONE-3.5-2.4B-Instruct-Llamafied``) does not.
* bartowski's Qwen3.5 and Qwen3.6 files (``Qwen_Qwen3.5-9B-Q4_K_M.gguf``) keep the checkpoint's
  multi-token-prediction layer, as llama.cpp's converter does by default since 2026; Qwen's,
  Unsloth's, LM Studio's and ggml-org's leave it out unless the name says MTP.
* TheBloke's 2023 conversions (``llama-2-7b-chat.Q2_K.gguf``: the model in lower case, a dot, then
  the quant) of models released before 2024 were made with that year's llama.cpp: its Q2_K gave
  Q3_K to the FFN, ``attn_v`` and ``attn_output`` tensors, and a mixture of experts stored each
  expert as its own tensor, which the preset's rules did not recognise (every expert stayed at the
  preset's base type).

Evidence: rows of ``tests/data/hub_gguf_sizes.csv``, named on each spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Spelling:
    said: str  # what the estimate says it assumed
    pattern: str  # regex on the file name, case-sensitive
    families: str  # regex on the family label it applies to
    output: bool | None = None  # a separate output tensor (None: the family's default)
    embeddings: str = ""  # the type token embeddings are kept at
    presets_2023: bool = False  # made with llama.cpp's 2023 quant presets
    nextn: int | None = None  # multi-token-prediction layers kept (None: the family's default)
    evidence: str = ""
    within: float = 0.05  # how close its files come with it (the table test holds it to this)


SPELLINGS: tuple[Spelling, ...] = (
    Spelling(
        "named like Qwen's own GGUF files (all lower case), which carry a separate output tensor",
        r"^qwen2\.5-[^A-Z]+\.gguf$",
        r"^Qwen2\.5 (0\.5|1\.5|3)B$",
        output=True,
        evidence="Qwen/Qwen2.5-{0.5B,1.5B,3B,Coder-3B}-Instruct-GGUF: q8_0 of 0.5B is 676 MB",
    ),
    Spelling(
        "Qwen2.5-Omni's checkpoint stores its own output layer, which the file carries",
        r"(?i)omni",
        r"^Qwen2\.5 (0\.5|1\.5|3)B$",
        output=True,
        evidence="unsloth/Qwen2.5-Omni-3B-GGUF: BF16 is 6.76 GB, 3.38 B parameters",
    ),
    Spelling(
        "named like Qwen's own and Unsloth's Qwen3 files, which have no separate output tensor",
        r"^Qwen3-[0-9.]+B(-Base)?-[A-Za-z0-9_-]+\.gguf$",
        r"^Qwen3 (0\.6|1\.7)B$",
        output=False,
        evidence="Qwen/Qwen3-0.6B-GGUF Q8_0 639 MB; unsloth/Qwen3-1.7B-GGUF Q4_0 1.06 GB",
    ),
    Spelling(
        "named like Google's quantization-aware q4_0 files, which keep token embeddings at F16",
        r"^gemma-3-[0-9]+[bm]-it-q4_0\.gguf$",
        r"^Gemma 3 ",
        embeddings="F16",
        evidence="google/gemma-3-4b-it-qat-q4_0-gguf: 3.11 GB, where Q4_0 gives 2.36 GB",
    ),
    Spelling(
        "a Llamafied conversion (the checkpoint rewritten as Llama's), which stores no output layer",
        r"(?i)llamafied",
        r"^EXAONE ",
        output=False,
        evidence="mradermacher/EXAONE-3.5-2.4B-Instruct-Llamafied-GGUF: Q4_K_M 1.50 GB, where LG's "
        "own EXAONE-3.5-2.4B-Instruct-Q4_K_M is 1.64 GB",
    ),
    Spelling(
        "named like bartowski's Qwen3.5 and Qwen3.6 files, which keep the multi-token-prediction "
        "layer",
        r"^Qwen_Qwen3\.[56]-",
        r"^Qwen3\.5 ",
        nextn=1,
        evidence="bartowski/Qwen_Qwen3.5-9B-GGUF: bf16 18.36 GB, as unsloth/Qwen3.5-9B-MTP-GGUF's "
        "BF16 (18.36 GB), where unsloth/Qwen3.5-9B-GGUF's is 17.93 GB",
        # his K-quants run 3-10% larger still (up to 10.2%, 0.8B's Q3_K_M; his Q8_0 and IQ4_XS
        # do not): a choice of types of his own that the name does not show
        within=0.11,
    ),
    Spelling(
        "named like TheBloke's 2023 conversions, made with llama.cpp's 2023 presets",
        r"^[^A-Z]+\.Q[2-8]_(K(_[SML])?|[01])\.gguf$",
        r"^(Llama 2|Code Llama|TinyLlama|Mistral 7B|Mixtral 8x7B|Phi-2|Yi|SOLAR|DeepSeek Coder|DeepSeek LLM)\b",
        presets_2023=True,
        evidence="TheBloke: tinyllama-1.1b-chat-v1.0.Q2_K 483 MB, llama-2-7b-chat.Q2_K 2.79 GB, "
        "mixtral-8x7b-instruct-v0.1.Q2_K 15.7 GB and Q4_K_M 26.4 GB, "
        "solar-10.7b-instruct-v1.0.Q2_K 4.55 GB, deepseek-coder-33b-instruct.Q2_K 14.03 GB",
    ),
)


def spelling_for(filename: str, family_label: str) -> Spelling | None:
    """The spelling ``filename`` (the file's name, no folder) has for its family, if any."""
    for s in SPELLINGS:
        if re.search(s.families, family_label) and re.search(s.pattern, filename):
            return s
    return None
