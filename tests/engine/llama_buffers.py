"""Print the buffers llama.cpp sizes for a model and context options, as JSON (MiB).

    python -m tests.engine.llama_buffers MODEL N_CTX KV_TYPE FLASH(0/1) N_UBATCH DRY(0/1)

DRY=1 uses llama.cpp's own memory-fit pass (no_alloc): compute buffers are sized, nothing is
allocated and weights are not read, so files without weight data (tests/synthetic_models.py) work.
"""

from __future__ import annotations

import json
import re
import sys

import llama_cpp as L

lines: list[str] = []


@L.llama_log_callback
def _log(level: int, text: bytes, user: object) -> None:
    lines.append(text.decode("utf-8", errors="replace"))


def main() -> int:
    path, n_ctx, kv, flash, n_ubatch, dry = sys.argv[1:7]
    L.llama_log_set(_log, None)
    L.llama_backend_init()
    mp = L.llama_model_default_params()
    mp.n_gpu_layers = 0
    if dry == "1":
        mp.no_alloc = True
        mp.load_mode = L.LLAMA_LOAD_MODE_NONE
    model = L.llama_model_load_from_file(path.encode(), mp)
    if not model:
        print(json.dumps({"error": "".join(lines)[-2000:]}))
        return 1
    cp = L.llama_context_default_params()
    cp.n_ctx, cp.n_batch, cp.n_ubatch, cp.n_threads = int(n_ctx), 512, int(n_ubatch), 2
    cp.type_k = cp.type_v = {
        "f16": L.GGML_TYPE_F16,
        "q8_0": L.GGML_TYPE_Q8_0,
        "q4_0": L.GGML_TYPE_Q4_0,
    }[kv]
    cp.flash_attn_type = (
        L.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash == "1" else L.LLAMA_FLASH_ATTN_TYPE_DISABLED
    )
    cp.swa_full = False
    ctx = L.llama_init_from_model(model, cp)
    text = "".join(lines)
    out: dict[str, float] = {}
    # Not anchored at a line's start: a debug message without a newline ("set_abort_callback:
    # call") may run into the next line.
    for dev, kind, mib in re.findall(r"(\S+)\s+(\w+)\s+buffer size\s*=\s*([\d.]+) MiB", text):
        key = f"{dev} {kind}"
        out[key] = out.get(key, 0.0) + float(mib)
    # The KV cache's size as llama.cpp computes it from its tensors: printed also by the
    # memory-fit pass, which allocates nothing (its "KV buffer size" is then 0).
    out["KV size"] = sum(
        float(m) for m in re.findall(r"llama_kv_cache: size =\s*([\d.]+) MiB", text)
    )
    out["ok"] = bool(ctx)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
