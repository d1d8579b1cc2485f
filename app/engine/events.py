"""The shapes of the engine's events and of what they carry (see protocol.py for the wire).

TypedDicts, so the events stay the plain JSON objects the worker writes and the client decodes,
and the fields are checked where they are made and read. ``EngineEvent`` is any one of them;
``event`` tells which (compare it with ``Event`` members to narrow the type).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from app.core.quality.stats import QualityResult
from app.engine.protocol import ErrorCode, Event, Op, StopReason


class BuildInfo(TypedDict):
    """The worker's llama.cpp build and the devices it sees."""

    llama_cpp_version: str
    gpu_offload: bool
    mmap: bool
    system_info: str
    devices: list[dict[str, Any]]
    backends: list[dict[str, Any]]
    backend: str


class ModelInfo(TypedDict):
    """The loaded model, as ``loaded`` reports it."""

    path: str
    name: str
    architecture: str | None
    n_ctx: int
    n_ctx_requested: int
    n_ctx_train: int
    n_layer: int
    n_gpu_layers: int
    n_params: int
    model_bytes: int
    threads: int
    kv_type: str
    flash_attn: str
    has_template: bool
    template: str
    template_note: str | None
    system_prompt: Literal["native", "merged"]  # merged: put in front of the first user message
    thinking_switch: bool  # the template reads enable_thinking (Qwen3 style)
    reasoning_efforts: bool  # the template reads reasoning_effort (gpt-oss: low / medium / high)
    notes: list[str]
    buffers_mib: dict[str, float]
    estimate: dict[str, Any]
    n_gpu_layers_planned: int | None
    rss_before: int
    rss_after: int
    load_s: float


class StartedInfo(TypedDict):
    """A reply's prompt, once planned: what ``started`` carries besides ``event`` and ``id``."""

    prompt_tokens: int
    reused_tokens: int
    dropped_messages: int
    n_ctx: int
    template: str
    template_note: str | None


class PromptStats(TypedDict):
    prompt_tokens: int
    reused_tokens: int
    dropped_messages: int
    n_ctx: int
    prompt_s: float
    prompt_tokens_per_second: float | None


class ReplyStats(TypedDict):
    completion_tokens: int
    ttft_s: float | None
    generation_s: float
    tokens_per_second: float | None
    stop_reason: StopReason
    reasoning: str | None  # the thinking, apart from the answer (None: the model did not think)
    reasoning_tokens: int  # tokens spent thinking (its markers included)


class GenerationStats(PromptStats, ReplyStats):
    """The figures of a finished reply (``stats`` of ``done``): the prompt's, the reply's, and
    the context used after it and the seed (None when stopped before sampling)."""

    context_used: int
    seed: int | None


class ReadyEvent(BuildInfo):
    event: Literal[Event.READY]
    pid: int


class _ProgressFields(TypedDict):
    event: Literal[Event.PROGRESS]
    id: int
    fraction: float


class ProgressEvent(_ProgressFields, total=False):
    stage: str  # quality: "reference" or "model"; quantize: "quantize"
    done: int  # chunks (quality) or tensors (quantize) done
    total: int


class EstimateEvent(TypedDict, total=False):
    """How long a quality measurement will take (before it starts, then after a first batch)."""

    event: Literal[Event.ESTIMATE]
    id: int
    seconds: float
    basis: Literal["rough", "measured"]
    stage: str
    chunks: int
    tokens: int
    n_ctx: int
    reference_cached: bool | None


class MeasuredEvent(TypedDict):
    event: Literal[Event.MEASURED]
    id: int
    result: QualityResult


class PlannedEvent(TypedDict):
    """A quantization checked and about to start."""

    event: Literal[Event.PLANNED]
    id: int
    out: str
    type: str
    estimated_bytes: int
    requantize: bool
    warnings: list[str]


class QuantizedEvent(TypedDict):
    event: Literal[Event.QUANTIZED]
    id: int
    result: dict[str, Any]


class LoadedEvent(TypedDict):
    event: Literal[Event.LOADED]
    id: int
    model: ModelInfo


class StartedEvent(StartedInfo):
    event: Literal[Event.STARTED]
    id: int


class _TokenFields(TypedDict):
    event: Literal[Event.TOKEN]
    id: int
    text: str


class TokenEvent(_TokenFields, total=False):
    channel: Literal["reasoning"]  # thinking text; absent for the answer


class DoneEvent(TypedDict):
    event: Literal[Event.DONE]
    id: int
    text: str
    stats: GenerationStats


class UnloadedEvent(TypedDict):
    event: Literal[Event.UNLOADED]
    id: int


class StatusEvent(TypedDict):
    event: Literal[Event.STATUS]
    id: int | None
    loaded: ModelInfo | None
    busy: Op | None
    context_used: int
    rss: int


class _ErrorFields(TypedDict):
    event: Literal[Event.ERROR]
    id: int | None
    code: ErrorCode
    message: str


class ErrorEvent(_ErrorFields, total=False):
    detail: str  # the traceback of an ``internal`` error
    loaded: ModelInfo | None  # a failed load's: the model loaded now (the previous one, or none)


class CrashedEvent(TypedDict):
    """The worker process ended unexpectedly (the client's own event)."""

    event: Literal[Event.CRASHED]
    returncode: int | None
    message: str
    stderr_tail: list[str]


class ExitedEvent(TypedDict):
    """The worker process ended when asked to (the client's own event)."""

    event: Literal[Event.EXITED]
    returncode: int | None


EngineEvent = (
    ReadyEvent
    | ProgressEvent
    | LoadedEvent
    | StartedEvent
    | TokenEvent
    | DoneEvent
    | UnloadedEvent
    | StatusEvent
    | ErrorEvent
    | EstimateEvent
    | MeasuredEvent
    | PlannedEvent
    | QuantizedEvent
    | CrashedEvent
    | ExitedEvent
)
