"""The reference's log-probabilities, computed once and kept on disk.

One compressed numpy file per (reference file, text, context, chunks): the tokens measured, the
reference's top-k token ids and log-probabilities at every scored position, the tokens drawn from
the rest of its distribution (core/quality/kl.py), and its NLL of the actual next token. Comparing five quants against one reference runs the reference once. A file
that changes (size or modification time) gets a new entry; a damaged entry is computed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core import paths
from app.core.quality.kl import TopK

FORMAT = 2


@dataclass
class ReferenceLogits:
    tokens: np.ndarray  # the measured tokens (chunks x n_ctx), as the reference tokenized them
    n_vocab: int
    top: TopK


def cache_folder() -> Path:
    return paths.cache_dir() / "quality"


def cache_key(reference: str | Path, text: str, n_ctx: int, chunks: int, k: int) -> str:
    p = Path(reference).resolve()
    st = p.stat()
    parts = {
        "format": FORMAT,
        "file": str(p),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "text": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "n_ctx": n_ctx,
        "chunks": chunks,
        "k": k,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def cache_path(key: str) -> Path:
    return cache_folder() / f"{key}.npz"


def load(key: str) -> ReferenceLogits | None:
    path = cache_path(key)
    if not path.exists():
        return None
    try:
        with np.load(path) as z:
            return ReferenceLogits(
                z["tokens"],
                int(z["n_vocab"]),
                TopK(z["ids"], z["logp"], z["nll"], z["tail_ids"], z["tail_logp"]),
            )
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        path.unlink(missing_ok=True)  # damaged: measured again
        return None


def save(key: str, ref: ReferenceLogits) -> Path:
    path = cache_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        np.savez_compressed(
            f,
            tokens=ref.tokens.astype(np.int32),
            n_vocab=np.int64(ref.n_vocab),
            ids=ref.top.ids.astype(np.int32),
            logp=ref.top.logp.astype(np.float32),
            nll=ref.top.nll.astype(np.float32),
            tail_ids=ref.top.tail_ids.astype(np.int32),
            tail_logp=ref.top.tail_logp.astype(np.float32),
        )
    os.replace(tmp, path)
    return path
