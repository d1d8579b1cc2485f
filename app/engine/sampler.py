"""llama.cpp's own sampler chain for a reply, built from SamplingOptions."""

from __future__ import annotations

import json
from typing import Any

import llama_cpp as L

from app.core.options import SamplingOptions
from app.engine.loader import LoadedModel
from app.engine.protocol import EngineError, ErrorCode


def _eog_tokens(lm: LoadedModel) -> list[int]:
    """Every end-of-generation token of the vocabulary (computed once per model)."""
    if lm.eog is None:
        n = L.llama_vocab_n_tokens(lm.vocab)
        lm.eog = [t for t in range(n) if L.llama_vocab_is_eog(lm.vocab, t)]
    return lm.eog


def json_grammar(schema: dict[str, Any]) -> str:
    """GBNF for replies that follow ``schema`` (llama.cpp's JSON-schema converter, as shipped
    with llama-cpp-python)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return str(json_schema_to_gbnf(json.dumps(schema)))
    except Exception as exc:  # the converter raises plain exceptions for what it cannot do
        raise EngineError(
            ErrorCode.BAD_REQUEST, f"the JSON schema cannot be enforced: {exc}"
        ) from None


def make_sampler(lm: LoadedModel, s: SamplingOptions, seed: int, prompt: list[int]) -> Any:
    """llama.cpp's own sampler chain. A JSON grammar, when asked for, comes first (only tokens
    that keep the reply valid stay); top-k runs next so that the repeat penalty (which looks up
    every candidate) works on a few dozen tokens, not the whole vocabulary. Only the penalties
    sampler sees the prompt's tokens (the grammar starts with the reply)."""
    n_vocab = L.llama_vocab_n_tokens(lm.vocab)
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    add = L.llama_sampler_chain_add
    if s.json_schema is not None:
        grammar = L.llama_sampler_init_grammar(
            lm.vocab, json_grammar(s.json_schema).encode("utf-8"), b"root"
        )
        if not grammar:
            L.llama_sampler_free(chain)
            raise EngineError(ErrorCode.BAD_REQUEST, "the JSON schema cannot be enforced")
        add(chain, grammar)
    if s.ignore_eos:
        eog = _eog_tokens(lm)
        biases = (L.llama_logit_bias * len(eog))(
            *[L.llama_logit_bias(t, float("-inf")) for t in eog]
        )
        add(chain, L.llama_sampler_init_logit_bias(n_vocab, len(eog), biases))
    if s.top_k > 0:
        add(chain, L.llama_sampler_init_top_k(s.top_k))
    penalties = None
    penalised = s.repeat_penalty != 1.0 or s.frequency_penalty or s.presence_penalty
    if penalised and s.repeat_last_n != 0:
        penalties = L.llama_sampler_init_penalties(
            n_vocab,
            s.repeat_last_n,
            s.repeat_penalty,
            s.frequency_penalty,
            s.presence_penalty,
        )
        window = len(prompt) if s.repeat_last_n < 0 else s.repeat_last_n
        for tok in prompt[-window:] if window else []:
            L.llama_sampler_accept(penalties, tok)
        add(chain, penalties)
    if s.temperature <= 0:
        add(chain, L.llama_sampler_init_greedy())
    else:
        if s.top_p < 1.0:
            add(chain, L.llama_sampler_init_top_p(s.top_p, 1))
        if s.min_p > 0.0:
            add(chain, L.llama_sampler_init_min_p(s.min_p, 1))
        add(chain, L.llama_sampler_init_temp(s.temperature))
        add(chain, L.llama_sampler_init_dist(seed))
    return chain
