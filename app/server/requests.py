"""What an API request asks for, read and checked: messages and sampling from OpenAI's and
Ollama's request bodies. Pure Python; an ``ApiError`` carries the HTTP status and OpenAI's error
type and code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "code": self.code}}


def bad(message: str, code: str | None = None) -> ApiError:
    return ApiError(400, message, code=code)


@dataclass
class ChatRequest:
    messages: list[dict[str, str]]
    sampling: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    include_usage: bool = False
    model: str | None = None
    prompt: str | None = None  # a completion's raw text (then ``messages`` is empty)


def _text_of(content: Any, where: str) -> str:
    """A message's content: a string, or OpenAI's list of text parts."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        out = []
        for i, part in enumerate(content):
            if not isinstance(part, dict):
                raise bad(f"{where}.content[{i}] must be an object")
            kind = part.get("type")
            if kind != "text":
                raise bad(
                    f"{where}.content[{i}] has type {kind!r}: this model takes text only",
                    "unsupported_content_type",
                )
            if not isinstance(part.get("text"), str):
                raise bad(f"{where}.content[{i}].text must be a string")
            out.append(part["text"])
        return "".join(out)
    raise bad(f"{where}.content must be a string or a list of text parts")


def read_messages(raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise bad("'messages' must be a non-empty list")
    out = []
    for i, m in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise bad(f"{where} must be an object")
        role = ROLES.get(m.get("role"))  # type: ignore[arg-type]
        if role is None:
            raise bad(f"{where}.role must be one of system, developer, user, assistant")
        out.append({"role": role, "content": _text_of(m.get("content"), where)})
    return out


def _number(body: dict[str, Any], key: str, lo: float, hi: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad(f"'{key}' must be a number")
    if not lo <= value <= hi:
        raise bad(f"'{key}' must be between {lo:g} and {hi:g}")
    return float(value)


def _integer(body: dict[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"'{key}' must be an integer")
    if not lo <= value <= hi:
        raise bad(f"'{key}' must be between {lo} and {hi}")
    return value


def _copy_numbers(
    src: dict[str, Any], dst: dict[str, Any], specs: list[tuple[str, float, float]]
) -> None:
    """Copy each ``(key, low, high)`` number that ``src`` has, checked, into ``dst`` (integer
    bounds ask for an integer)."""
    for key, lo, hi in specs:
        if isinstance(lo, int) and isinstance(hi, int):
            value: float | None = _integer(src, key, lo, hi)
        else:
            value = _number(src, key, lo, hi)
        if value is not None:
            dst[key] = value


def _stops(value: Any, key: str = "stop") -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(s, str) for s in value) and len(value) <= 16:
        return [s for s in value if s]
    raise bad(f"'{key}' must be a string or a list of up to 16 strings")


def read_sampling(body: dict[str, Any], max_tokens_cap: int) -> dict[str, Any]:
    """OpenAI's sampling fields as Hearth's SamplingOptions overrides."""
    out: dict[str, Any] = {}
    max_tokens = _integer(body, "max_completion_tokens", 1, 1 << 22)
    if max_tokens is None:
        max_tokens = _integer(body, "max_tokens", 1, 1 << 22)
    out["max_tokens"] = min(max_tokens or max_tokens_cap, max_tokens_cap)
    _copy_numbers(
        body,
        out,
        [
            ("temperature", 0.0, 2.0),
            ("top_p", 0.0, 1.0),
            ("frequency_penalty", -2.0, 2.0),
            ("presence_penalty", -2.0, 2.0),
        ],
    )
    seed = _integer(body, "seed", -(1 << 63), (1 << 64) - 1)
    if seed is not None:
        out["seed"] = seed % (1 << 32)
    stops = _stops(body.get("stop"))
    if stops:
        out["stop"] = stops
    if body.get("ignore_eos") is True:  # llama-server's extension: write to max_tokens
        out["ignore_eos"] = True
    if body.get("n") not in (None, 1):
        raise bad("'n' other than 1 is not supported: ask again for another reply")
    schema = _response_schema(body.get("response_format"))
    if schema is not None:
        out["json_schema"] = schema
    return out


def _response_schema(fmt: Any) -> dict[str, Any] | None:
    """OpenAI's ``response_format`` as the JSON schema the reply must follow (None: text)."""
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise bad("'response_format' must be an object")
    kind = fmt.get("type")
    if kind in (None, "text"):
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise bad("response_format.json_schema.schema must be a JSON schema object")
        return schema
    raise bad(f"response_format type {kind!r} is not one of text, json_object, json_schema")


def _streaming(body: dict[str, Any]) -> tuple[bool, bool, str | None]:
    """OpenAI's ``stream``, ``stream_options.include_usage`` and ``model``, checked."""
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise bad("'stream' must be true or false")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise bad("'stream_options' must be an object")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise bad("'model' must be a string")
    return stream, bool(options.get("include_usage")), model


def read_chat(body: Any, max_tokens_cap: int) -> ChatRequest:
    if not isinstance(body, dict):
        raise bad("the request body must be a JSON object")
    if body.get("tools"):
        raise bad("tools are not supported by this server", "unsupported_tools")
    stream, usage, model = _streaming(body)
    return ChatRequest(
        read_messages(body.get("messages")),
        read_sampling(body, max_tokens_cap),
        stream,
        usage,
        model,
    )


def read_completion(body: Any, max_tokens_cap: int) -> ChatRequest:
    """OpenAI's /v1/completions body: a raw prompt continued as it is."""
    if not isinstance(body, dict):
        raise bad("the request body must be a JSON object")
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if not isinstance(prompt, str):
        raise bad("'prompt' must be a string (one prompt per request)")
    if body.get("echo") or body.get("suffix") or body.get("logprobs") or body.get("best_of"):
        raise bad("echo, suffix, logprobs and best_of are not supported by this server")
    fields = dict(body)
    if fields.get("max_tokens") is None:
        fields["max_tokens"] = 16  # OpenAI's default for completions
    fields.pop("response_format", None)
    stream, usage, model = _streaming(body)
    return ChatRequest([], read_sampling(fields, max_tokens_cap), stream, usage, model, prompt)


def read_ollama(body: Any, max_tokens_cap: int, generate: bool) -> ChatRequest:
    """Ollama's /api/chat or /api/generate body (``options`` hold the sampling)."""
    if not isinstance(body, dict):
        raise bad("the request body must be a JSON object")
    if generate:
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            raise bad("'prompt' must be a string")
        messages = []
        system = body.get("system")
        if isinstance(system, str) and system:
            messages.append({"role": "system", "content": system})
        messages.append({"role": "user", "content": prompt})
    else:
        messages = read_messages(body.get("messages"))
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise bad("'options' must be an object")
    mapped: dict[str, Any] = {}
    for theirs, ours in (
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("seed", "seed"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
        ("stop", "stop"),
    ):
        if theirs in options:
            mapped[ours] = options[theirs]
    if "num_predict" in options and isinstance(options["num_predict"], int):
        if options["num_predict"] > 0:
            mapped["max_tokens"] = options["num_predict"]
    sampling = read_sampling(mapped, max_tokens_cap)
    _copy_numbers(
        options,
        sampling,
        [
            ("top_k", 0, 1 << 20),
            ("repeat_last_n", -1, 1 << 20),
            ("repeat_penalty", 0.0, 10.0),
            ("min_p", 0.0, 1.0),
        ],
    )
    fmt = body.get("format")  # "json", or a JSON schema
    if fmt == "json":
        sampling["json_schema"] = {"type": "object"}
    elif isinstance(fmt, dict):
        sampling["json_schema"] = fmt
    elif fmt not in (None, ""):
        raise bad("'format' must be \"json\" or a JSON schema object")
    stream = body.get("stream", True)
    if not isinstance(stream, bool):
        raise bad("'stream' must be true or false")
    model = body.get("model")
    raw = generate and body.get("raw") is True  # the prompt continued as it is, no template
    return ChatRequest(
        [] if raw else messages,
        sampling,
        stream,
        False,
        model if isinstance(model, str) else None,
        body["prompt"] if raw else None,
    )
