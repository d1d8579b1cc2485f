"""The engine worker protocol: JSON objects, one per line, over the worker's stdin and stdout.

Requests (app -> worker) carry ``op`` and an integer ``id``::

    {"op": "load", "id": 1, "path": "/m/model.gguf", "options": {LoadOptions fields}}
    {"op": "generate", "id": 2, "messages": [{"role": "user", "content": "Hi"}],
     "sampling": {SamplingOptions fields},
     "template_kwargs": {"enable_thinking": false}}   optional template options
    {"op": "generate", "id": 2, "prompt": "Once upon a time", "sampling": {...}}
                                       raw text continued as it is (no chat template)
    {"op": "stop", "id": 2}            stop request 2 (a load or a generation) now
    {"op": "unload", "id": 3}
    {"op": "status", "id": 4}          answered at once, even while busy
    {"op": "quality", "id": 5, "model": "/m/q4.gguf", "reference": "/m/f16.gguf" or null,
     "text_path": "/t.txt" or null (the bundled text), "n_ctx": 512, "chunks": 20 or null,
     "threads": null}
    {"op": "quantize", "id": 6, "source": "/m/f16.gguf", "type": "Q4_K_M",
     "out": "/m/q4.gguf" or null (next to the source), "allow_requantize": false}
    {"op": "exit"}                     or closing stdin: the worker exits

Events (worker -> app) carry ``event`` and the ``id`` of the request they answer::

    {"event": "ready", "pid": 123, "llama_cpp_version": "...", "gpu_offload": false, ...}
    {"event": "progress", "id": 1, "fraction": 0.42}
    {"event": "loaded", "id": 1, "model": {...}}
    {"event": "started", "id": 2, "prompt_tokens": 812, "reused_tokens": 790,
     "dropped_messages": 0, "n_ctx": 4096, "template": "...", "template_note": null}
    {"event": "token", "id": 2, "text": "The user", "channel": "reasoning"}   thinking
    {"event": "token", "id": 2, "text": "Hel"}                                 the answer
    {"event": "done", "id": 2, "text": "Hello!", "stats": {...}}
    {"event": "unloaded", "id": 3}
    {"event": "status", "id": 4, "loaded": {...} or null, "busy": "generate" or null}
    {"event": "error", "id": 1, "code": "load_failed", "message": "..."}
    {"event": "estimate", "id": 5, "seconds": 41.0, "basis": "rough" or "measured",
     "chunks": 20, "tokens": 5100, "n_ctx": 512, "reference_cached": false, "stage": "model"}
    {"event": "progress", "id": 5, "fraction": 0.5, "stage": "reference", "done": 10, "total": 20}
    {"event": "measured", "id": 5, "result": {QualityResult fields}}
    {"event": "planned", "id": 6, "out": "/m/q4.gguf", "type": "Q4_K_M", "estimated_bytes": 1,
     "requantize": false, "warnings": ["..."]}
    {"event": "quantized", "id": 6, "result": {"path", "bytes", "seconds", "tensors", ...}}

``stats`` of ``done``: prompt_tokens, reused_tokens, completion_tokens, ttft_s, prompt_s,
generation_s, tokens_per_second, prompt_tokens_per_second, stop_reason (eos, max_tokens,
stop_string, stopped, context_full), n_ctx, context_used, dropped_messages, seed, reasoning (the
thinking's text, or null) and reasoning_tokens.

``template_kwargs`` of ``generate`` (optional) passes options to the chat template:
``enable_thinking`` (true or false; Qwen3-style templates write an empty think block when it is
false) and ``reasoning_effort`` ("low", "medium" or "high"; gpt-oss). Any other key or value is a
``bad_request``. ``loaded``'s model says which the template takes: ``thinking_switch`` (it reads
``enable_thinking``) and ``reasoning_efforts`` (it reads ``reasoning_effort``).

Reasoning models: the worker tells thinking from the answer as tokens stream (think tags such as
``<think>…</think>``, gpt-oss's harmony channels; app/core/chat/reasoning.py). A ``token`` event
of thinking carries ``"channel": "reasoning"``; the answer's have no ``channel``, and format
markers are never sent. ``done``'s ``text`` is the whole reply as shown: for think tags the
model's own text with its tags (a template drops old thinking from history by them), for harmony
the thinking and the answer without markers. The answer alone is the text of the token events
without ``channel``.

``quality`` (app/engine/quality.py) loads the models it measures with contexts of its own; the
chat model stays loaded. The first ``estimate`` comes before any evaluation (from the model's
size), a ``measured`` one after the first batch; ``progress`` carries the stage (``reference``
while the reference's log-probabilities are computed, then ``model``) and chunks done.
``quantize`` (app/engine/quantize.py) checks type, source and free space first (``planned``), then
reports tensors done. llama.cpp's quantizer cannot be interrupted: stopping a quantize removes
the partial file, answers ``cancelled`` and ends the worker, so run it in a worker of its own.

Requests run one at a time in order; ``stop`` and ``status`` are handled as soon as they arrive.
The client side adds one event of its own when the worker process ends unexpectedly::

    {"event": "crashed", "returncode": -9, "message": "...", "stderr_tail": [...]}

The names below are str-valued enums: a member equals its wire text and is written as it, so
code compares decoded events with ``Event.TOKEN`` and sends ``ErrorCode.LOAD_FAILED``. The
TypedDicts in events.py describe each event's fields.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from app.core.errors import CodedError


class WireName(str, Enum):
    """A name on the wire: equal to its text, and ``str()``/JSON give the bare text."""

    def __str__(self) -> str:
        return str(self.value)


class Op(WireName):
    """What a request asks for."""

    LOAD = "load"
    GENERATE = "generate"
    STOP = "stop"
    UNLOAD = "unload"
    STATUS = "status"
    EXIT = "exit"
    QUALITY = "quality"
    QUANTIZE = "quantize"


class Event(WireName):
    """What an event reports (``crashed`` and ``exited`` come from the client, not the worker)."""

    READY = "ready"
    PROGRESS = "progress"
    LOADED = "loaded"
    STARTED = "started"
    TOKEN = "token"
    DONE = "done"
    UNLOADED = "unloaded"
    STATUS = "status"
    ERROR = "error"
    ESTIMATE = "estimate"
    MEASURED = "measured"
    PLANNED = "planned"
    QUANTIZED = "quantized"
    CRASHED = "crashed"
    EXITED = "exited"


class ErrorCode(WireName):
    """The ``code`` of an ``error`` event and of an ``EngineError``."""

    BAD_REQUEST = "bad_request"
    LOAD_FAILED = "load_failed"
    NOT_LOADED = "not_loaded"
    CANCELLED = "cancelled"
    TEMPLATE = "template"
    CONTEXT_OVERFLOW = "context_overflow"
    DECODE_FAILED = "decode_failed"
    INTERNAL = "internal"
    QUANTIZE_FAILED = "quantize_failed"
    # The client's own: the worker died, or did not answer in time.
    CRASHED = "crashed"
    TIMEOUT = "timeout"


class StopReason(WireName):
    """Why a reply ended (``stats["stop_reason"]`` of ``done``)."""

    EOS = "eos"
    MAX_TOKENS = "max_tokens"
    STOP_STRING = "stop_string"
    STOPPED = "stopped"
    CONTEXT_FULL = "context_full"


REASONING_EFFORTS = ("low", "medium", "high")


def template_kwargs(obj: Any) -> dict[str, Any]:
    """The ``template_kwargs`` of a generate request, checked (ValueError says what is wrong)."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise ValueError("template_kwargs must be an object")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "enable_thinking":
            if not isinstance(value, bool):
                raise ValueError("enable_thinking must be true or false")
        elif key == "reasoning_effort":
            if value not in REASONING_EFFORTS:
                raise ValueError("reasoning_effort must be one of " + ", ".join(REASONING_EFFORTS))
        else:
            raise ValueError(f"unknown template option {key!r}")
        out[key] = value
    return out


def encode(obj: Any) -> bytes:
    """One protocol line (a request or an event: any JSON object)."""
    return (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def decode(line: bytes | str) -> dict[str, Any]:
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("a protocol message must be a JSON object")
    return obj


class EngineError(CodedError):
    """A failure in the worker or of the worker, with an ``ErrorCode``; the worker reports it as
    an ``error`` event."""

    code: ErrorCode

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(code, message)
