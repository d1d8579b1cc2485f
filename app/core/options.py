"""Load and sampling options: defaults, validation, and per-conversation overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

KV_TYPES = ("f16", "q8_0", "q4_0")
FLASH_ATTN = ("auto", "on", "off")


class OptionError(ValueError):
    """An option has a value Hearth cannot use; the message names the option."""


T = TypeVar("T", bound="_Options")


@dataclass
class _Options:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any] | None) -> T:
        """Build from a dict, ignoring unknown keys (settings written by newer versions)."""
        known = {f.name for f in fields(cls)}
        obj = cls(**{k: v for k, v in (data or {}).items() if k in known})
        obj.validate()
        return obj

    def merged(self: T, overrides: dict[str, Any] | None) -> T:
        """These options with ``overrides`` applied (keys of other option kinds are ignored)."""
        known = {f.name for f in fields(self)}
        changes = {k: v for k, v in (overrides or {}).items() if k in known}
        obj = dataclasses.replace(self, **changes)
        obj.validate()
        return obj

    def validate(self) -> None:  # pragma: no cover - overridden
        pass


def _check_int(name: str, value: Any, lo: int, hi: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be a whole number, not {value!r}")
    if not lo <= value <= hi:
        raise OptionError(f"{name} must be between {lo} and {hi}, not {value}")


def _check_float(name: str, value: Any, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"{name} must be a number, not {value!r}")
    if not lo <= value <= hi:
        raise OptionError(f"{name} must be between {lo} and {hi}, not {value}")


@dataclass
class LoadOptions(_Options):
    """How llama.cpp loads a model. Changing any of these needs a reload."""

    n_ctx: int = 4096
    n_threads: int | None = None  # None: one per physical core
    n_gpu_layers: int | None = None  # None: all layers if the build can offload, else 0; -1: all
    kv_type: str = "f16"
    flash_attn: str = "auto"
    n_batch: int = 512
    n_ubatch: int = 512
    use_mmap: bool = True
    # Replies written at once (the local API's --parallel): the context is shared out among
    # them, and their tokens are decoded together, one batch per step.
    n_parallel: int = 1

    def validate(self) -> None:
        _check_int("context length", self.n_ctx, 256, 1 << 22)
        _check_int("parallel replies", self.n_parallel, 1, 64)
        _check_int("threads", self.n_threads, 1, 1024, allow_none=True)
        _check_int("GPU layers", self.n_gpu_layers, -1, 100000, allow_none=True)
        _check_int("batch size", self.n_batch, 1, 1 << 16)
        _check_int("micro-batch size", self.n_ubatch, 1, 1 << 16)
        if self.kv_type not in KV_TYPES:
            raise OptionError(f"KV cache type must be one of {', '.join(KV_TYPES)}")
        if self.flash_attn not in FLASH_ATTN:
            raise OptionError(f"flash attention must be one of {', '.join(FLASH_ATTN)}")
        if self.kv_type != "f16" and self.flash_attn == "off":
            raise OptionError(
                f"a {self.kv_type} KV cache needs flash attention: llama.cpp quantizes the V cache "
                "only with flash attention on"
            )


@dataclass
class SamplingOptions(_Options):
    """How the next token is chosen. Takes effect on the next reply, no reload."""

    temperature: float = 0.7
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    max_tokens: int = 2048
    seed: int | None = None  # None: a new random seed for every reply
    stop: list[str] = field(default_factory=list)
    ignore_eos: bool = False  # keep writing past end-of-turn (benchmarks, text continuation)
    # OpenAI's penalties, as llama.cpp's penalties sampler applies them (over repeat_last_n).
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    # A JSON schema the reply must follow (llama.cpp's grammar sampler); {"type": "object"} asks
    # for any JSON object. None: free text. Set per request (the local API), never saved.
    json_schema: dict[str, Any] | None = None

    def validate(self) -> None:
        _check_float("temperature", self.temperature, 0.0, 5.0)
        _check_int("top-k", self.top_k, 0, 1 << 20)
        _check_float("top-p", self.top_p, 0.0, 1.0)
        _check_float("min-p", self.min_p, 0.0, 1.0)
        _check_float("repeat penalty", self.repeat_penalty, 0.0, 10.0)
        _check_int("repeat window", self.repeat_last_n, -1, 1 << 20)
        _check_int("max tokens", self.max_tokens, 1, 1 << 22)
        _check_int("seed", self.seed, 0, (1 << 32) - 1, allow_none=True)
        _check_float("frequency penalty", self.frequency_penalty, -2.0, 2.0)
        _check_float("presence penalty", self.presence_penalty, -2.0, 2.0)
        if self.json_schema is not None and not isinstance(self.json_schema, dict):
            raise OptionError("a JSON schema must be a JSON object")
        if not isinstance(self.stop, list) or not all(isinstance(s, str) for s in self.stop):
            raise OptionError("stop sequences must be a list of strings")


LOAD_KEYS = frozenset(f.name for f in fields(LoadOptions))
SAMPLING_KEYS = frozenset(f.name for f in fields(SamplingOptions))


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a conversation's overrides into (load, sampling) parts."""
    load = {k: v for k, v in overrides.items() if k in LOAD_KEYS}
    sampling = {k: v for k, v in overrides.items() if k in SAMPLING_KEYS}
    return load, sampling
