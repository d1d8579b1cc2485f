"""gpt-oss's real tokenizer (o200k_harmony) and chat template as a vocab-only GGUF for llama.cpp.

No gpt-oss file is needed: OpenAI's o200k_base ranks come from the js-tiktoken npm package
(fetched once into the development cache by ``packaging/bootstrap.py``, verified by SHA-256),
and are checked against tiktoken's own hash of ``o200k_base.tiktoken``. The file is laid out as
llama.cpp's converter writes gpt-oss (``conversion/gpt_oss.py``, ``_set_vocab_gpt2``):
byte-level BPE tokens, merges recovered from the ranks, harmony's special tokens as control
tokens, pre-tokenizer ``gpt-4o``; the chat template is llama.cpp's copy of gpt-oss's own
(``models/templates/openai-gpt-oss-120b.jinja`` in the pinned llama-cpp-python sdist). It is
built once per tarball, template and builder version and kept next to the tarball.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

NPM_PACKAGE, NPM_VERSION = "js-tiktoken", "1.0.21"  # as packaging/bootstrap.py pins it
TARBALL_SHA256 = "3b1f24b185565ca9a8d8f51466dfc4f99d67f1f05bc009258710ddb7a8d810fa"
RANKS_MEMBER = "package/dist/ranks/o200k_base.js"
# tiktoken's expected SHA-256 of o200k_base.tiktoken ("<base64 token> <rank>" lines).
O200K_BASE_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# The URL tiktoken loads o200k_base from: its offline cache names the file by this URL's SHA-1.
O200K_BASE_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
TEMPLATE = "models/templates/openai-gpt-oss-120b.jinja"
BUILDER_VERSION = 1  # raise when the file written changes

N_RANKS = 199998
N_VOCAB = 201088
# o200k_harmony's named special tokens (tiktoken_ext.openai_public.o200k_harmony); every other
# id from N_RANKS on is <|reserved_N|>. 200018 is o200k_base's <|endofprompt|>, which harmony
# also lists as reserved: its name here is the one the gpt-tokenizer package decodes it to.
SPECIAL = {
    199998: "<|startoftext|>",
    199999: "<|endoftext|>",
    200002: "<|return|>",
    200003: "<|constrain|>",
    200005: "<|channel|>",
    200006: "<|start|>",
    200007: "<|end|>",
    200008: "<|message|>",
    200012: "<|call|>",
    200018: "<|endofprompt|>",
}
BOS, EOS, PAD = 199998, 200002, 199999  # <|startoftext|>, <|return|>, <|endoftext|>

_CACHE = Path(
    os.environ.get("HEARTH_DEV_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hearth-dev"
).expanduser()  # as packaging/bootstrap.py finds it; fixed before any test moves HOME
NPM_DIR = _CACHE / "npm"


def tarball_path() -> Path:
    return NPM_DIR / f"{NPM_PACKAGE}-{NPM_VERSION}.tgz"


def special_text(token: int) -> str:
    return SPECIAL.get(token, f"<|reserved_{token}|>")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_ranks(tarball_bytes: bytes) -> tuple[list[bytes], str]:
    """o200k_base's tokens by rank, and the rank file's text in tiktoken's format."""
    with tarfile.open(fileobj=io.BytesIO(tarball_bytes)) as tar:
        member = tar.extractfile(RANKS_MEMBER)
        if member is None:
            raise ValueError(f"{RANKS_MEMBER} is not a file in the {NPM_PACKAGE} package")
        js = member.read().decode("utf-8")
    data = json.loads(js[js.index("{") : js.rindex("}") + 1])
    # js-tiktoken's compressed form: "! <first rank> <base64 token> <base64 token> ..."
    bang, first, *encoded = data["bpe_ranks"].split(" ")
    if bang != "!" or first != "0" or len(encoded) != N_RANKS:
        raise ValueError(f"unexpected rank data in {RANKS_MEMBER}: {len(encoded)} tokens")
    text = "".join(f"{tok} {rank}\n" for rank, tok in enumerate(encoded))
    if _sha256(text.encode()) != O200K_BASE_SHA256:
        raise ValueError("the o200k_base ranks differ from OpenAI's (tiktoken's hash)")
    return [base64.b64decode(tok) for tok in encoded], text


def _byte_chars() -> list[str]:
    """GPT-2's byte-to-character table: printable bytes stand for themselves."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in chars:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def merges_of(tokens: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The merge that made each multi-byte token: byte-pair encoding of its bytes with only the
    ranks below its own ends in exactly two parts (llama.cpp's ``QwenModel.bpe``)."""
    ranks = {tok: rank for rank, tok in enumerate(tokens)}
    out = []
    for rank, tok in enumerate(tokens):
        if len(tok) == 1:
            continue
        parts = [tok[i : i + 1] for i in range(len(tok))]
        while True:
            best, at = rank, -1
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < best:
                    best, at = r, i
            if at < 0:
                break
            parts[at : at + 2] = [parts[at] + parts[at + 1]]
        if len(parts) != 2:
            raise ValueError(f"token {rank} {tok!r} is not one merge of two lower-ranked tokens")
        out.append((parts[0], parts[1]))
    return out


def write_gguf(tokens: list[bytes], template: str, out: Path) -> None:
    import gguf

    table = _byte_chars()

    def text(b: bytes) -> str:
        return "".join(table[x] for x in b)

    w = gguf.GGUFWriter(str(out), "gpt-oss")
    w.add_name("gpt-oss tokenizer (o200k_harmony)")
    # gpt-oss-20b's shape: llama.cpp reads the hyperparameters even for a vocab-only load.
    w.add_block_count(24)
    w.add_context_length(131072)
    w.add_embedding_length(2880)
    w.add_feed_forward_length(2880)
    w.add_head_count(64)
    w.add_head_count_kv(8)
    w.add_key_length(64)
    w.add_value_length(64)
    w.add_rope_freq_base(150000.0)
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(32.0)
    w.add_rope_scaling_orig_ctx_len(4096)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_expert_count(32)
    w.add_expert_used_count(4)
    w.add_expert_feed_forward_length(2880)
    w.add_sliding_window(128)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-4o")
    w.add_token_list([text(t) for t in tokens] + [special_text(i) for i in range(N_RANKS, N_VOCAB)])
    normal, control = gguf.TokenType.NORMAL, gguf.TokenType.CONTROL
    w.add_token_types([normal] * N_RANKS + [control] * (N_VOCAB - N_RANKS))
    w.add_token_merges([f"{text(a)} {text(b)}" for a, b in merges_of(tokens)])
    w.add_bos_token_id(BOS)
    w.add_eos_token_id(EOS)
    w.add_pad_token_id(PAD)
    w.add_chat_template(template)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def _tiktoken_cache_name() -> str:
    return hashlib.sha1(O200K_BASE_URL.encode()).hexdigest()


def build(tarball: Path, template: str, folder: Path) -> Path:
    """The vocab-only GGUF for ``tarball`` and ``template`` in ``folder``, built if missing.

    Next to it, ``tiktoken/`` holds the rank file under the name tiktoken's offline cache
    (``TIKTOKEN_CACHE_DIR``) looks for, so tiktoken's own o200k_harmony loads without a network.
    """
    data = tarball.read_bytes()
    digest = _sha256(data)
    if digest != TARBALL_SHA256:
        raise ValueError(f"{tarball}: sha256 {digest}, expected {TARBALL_SHA256}")
    key = _sha256(f"{digest} {_sha256(template.encode())} {BUILDER_VERSION}".encode())[:12]
    out = folder / f"gpt-oss-vocab-{key}.gguf"
    ranks_file = folder / "tiktoken" / _tiktoken_cache_name()
    if out.exists() and ranks_file.exists():
        return out
    tokens, rank_text = read_ranks(data)
    ranks_file.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(ranks_file, lambda p: p.write_text(rank_text))
    _write_atomically(out, lambda p: write_gguf(tokens, template, p))
    return out


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".partial")
    os.close(fd)
    try:
        write(Path(name))
        os.chmod(name, 0o644)  # mkstemp's files are private; this is shared cache data
        os.replace(name, target)
    finally:
        if os.path.exists(name):
            os.unlink(name)


def gpt_oss_vocab() -> Path:
    """The cached vocab-only gpt-oss GGUF; fails the test when the tarball was never fetched."""
    tarball = tarball_path()
    if not tarball.exists():
        pytest.fail(
            f"{tarball} is missing: gpt-oss's tokenizer is built from it. Run "
            "`python3 packaging/bootstrap.py test`, which fetches it"
        )
    from tests.core.chat.conftest import llama_cpp_tree

    template = (llama_cpp_tree() / TEMPLATE).read_text(encoding="utf-8")
    return build(tarball, template, NPM_DIR)


def tiktoken_cache_dir(vocab_path: Path) -> Path:
    """The folder to give tiktoken as ``TIKTOKEN_CACHE_DIR`` (written by :func:`build`)."""
    return vocab_path.parent / "tiktoken"
