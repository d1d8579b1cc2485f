"""llama.cpp's own sampler chain for a reply, built from SamplingOptions."""

from __future__ import annotations

from typing import Any

import llama_cpp as L

from app.core.options import SamplingOptions
from app.engine.loader import LoadedModel


def _eog_tokens(lm: LoadedModel) -> list[int]:
    """Every end-of-generation token of the vocabulary (computed once per model)."""
    if lm.eog is None:
        n = L.llama_vocab_n_tokens(lm.vocab)
        lm.eog = [t for t in range(n) if L.llama_vocab_is_eog(lm.vocab, t)]
    return lm.eog


def make_sampler(lm: LoadedModel, s: SamplingOptions, seed: int, prompt: list[int]) -> Any:
    """llama.cpp's own sampler chain. Top-k runs first so that the repeat penalty (which
    looks up every candidate) works on a few dozen tokens, not the whole vocabulary."""
    n_vocab = L.llama_vocab_n_tokens(lm.vocab)
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    add = L.llama_sampler_chain_add
    if s.ignore_eos:
        eog = _eog_tokens(lm)
        biases = (L.llama_logit_bias * len(eog))(
            *[L.llama_logit_bias(t, float("-inf")) for t in eog]
        )
        add(chain, L.llama_sampler_init_logit_bias(n_vocab, len(eog), biases))
    if s.top_k > 0:
        add(chain, L.llama_sampler_init_top_k(s.top_k))
    penalised = s.repeat_penalty != 1.0 or s.frequency_penalty or s.presence_penalty
    if penalised and s.repeat_last_n != 0:
        add(
            chain,
            L.llama_sampler_init_penalties(
                n_vocab,
                s.repeat_last_n,
                s.repeat_penalty,
                s.frequency_penalty,
                s.presence_penalty,
            ),
        )
    if s.temperature <= 0:
        add(chain, L.llama_sampler_init_greedy())
    else:
        if s.top_p < 1.0:
            add(chain, L.llama_sampler_init_top_p(s.top_p, 1))
        if s.min_p > 0.0:
            add(chain, L.llama_sampler_init_min_p(s.min_p, 1))
        add(chain, L.llama_sampler_init_temp(s.temperature))
        add(chain, L.llama_sampler_init_dist(seed))
    window = len(prompt) if s.repeat_last_n < 0 else s.repeat_last_n
    for tok in prompt[-window:] if window else []:
        L.llama_sampler_accept(chain, tok)
    return chain
