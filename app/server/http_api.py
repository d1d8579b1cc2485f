"""The local API over HTTP: OpenAI's chat routes and Ollama's, on the model an ``EngineLink``
has loaded (Starlette, served by uvicorn).

Safety: the Host header must name the address the server is bound to (a web page cannot reach
it through DNS rebinding), a key is checked when one is set (required off localhost), bodies are
capped, CORS is off unless origins are named, and nothing is logged beyond the request log.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app import __version__
from app.core.gguf.names import display_name, parse_name
from app.server.link import EngineLink, LinkState, Stream
from app.server.requests import (
    ApiError,
    ChatRequest,
    read_chat,
    read_completion,
    read_ollama,
)

MAX_BODY = 8 << 20  # bytes of a request body
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    api_key: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    max_tokens: int = 4096  # the most one reply may ask for
    sampling_defaults: dict[str, Any] = field(default_factory=dict)  # the user's settings


@dataclass
class LogEntry:
    """One line of the request log the user sees."""

    at: float
    endpoint: str
    status: int
    tokens: int = 0
    tokens_per_second: float | None = None

    def line(self) -> str:
        when = datetime.fromtimestamp(self.at).strftime("%H:%M:%S")
        speed = f", {self.tokens_per_second:.1f} tok/s" if self.tokens_per_second else ""
        return f"{when} {self.endpoint} {self.status} · {self.tokens} tokens{speed}"


class RequestLog:
    def __init__(self, on_entry: Callable[[LogEntry], None] | None = None) -> None:
        self.entries: list[LogEntry] = []
        self.served = 0
        self._on_entry = on_entry

    def add(self, entry: LogEntry) -> None:
        self.entries.append(entry)
        del self.entries[:-500]
        self.served += 1
        if self._on_entry is not None:
            self._on_entry(entry)

    def clear(self) -> None:
        self.entries.clear()


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _engine_error(code: str, message: str) -> ApiError:
    if code in ("context_overflow", "bad_request", "template"):
        return ApiError(400, message, code=code)
    if code in ("crashed", "not_loaded"):
        return ApiError(503, message, "server_error", code, headers={"Retry-After": "5"})
    return ApiError(500, message, "server_error", code)


def _finish_reason(stats: dict[str, Any]) -> str:
    return "length" if stats.get("stop_reason") in ("max_tokens", "context_full") else "stop"


class Api:
    def __init__(self, link: EngineLink, config: ServerConfig, log: RequestLog) -> None:
        self.link = link
        self.config = config
        self.log = log
        self._quant = parse_name(os.path.basename(link.model_path)).quant or ""

    # -- the model ------------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return display_name(self.link.model_path)

    def _check_model(self, asked: str | None) -> None:
        if asked in (None, "", self.model_id, self.link.model_path):
            return
        if asked.split(":")[0] == self.model_id:  # Ollama's "name:tag"
            return
        raise ApiError(
            404,
            f"the model {asked!r} is not served here; this server serves {self.model_id!r}",
            code="model_not_found",
        )

    def _check_ready(self) -> None:
        state = self.link.state
        if state == LinkState.READY:
            return
        if state == LinkState.FAILED:
            raise ApiError(
                503,
                f"the model could not be loaded: {self.link.error}",
                "server_error",
                "model_not_loaded",
            )
        raise ApiError(
            503,
            "the model is loading; try again in a few seconds",
            "server_error",
            "loading",
            headers={"Retry-After": "5"},
        )

    # -- guards ---------------------------------------------------------------------------------

    def guard(self, request: Request) -> None:
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
        bound = self.config.host
        allowed = LOOPBACK | {bound.lower()}
        if bound not in ("0.0.0.0", "::") and host not in allowed:
            raise ApiError(
                403,
                f"this server answers requests for {bound} only (Host: {host})",
                "permission_error",
                "host_not_allowed",
            )
        key = self.config.api_key
        if key:
            given = request.headers.get("authorization", "")
            token = given[7:] if given.lower().startswith("bearer ") else ""
            if token != key:
                raise ApiError(
                    401,
                    "a wrong or missing API key: send it as 'Authorization: Bearer KEY'",
                    "authentication_error",
                    "invalid_api_key",
                )

    async def body(self, request: Request) -> Any:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            raise ApiError(
                413, f"the request body is over {MAX_BODY >> 20} MiB", code="request_too_large"
            )
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise ApiError(
                    413, f"the request body is over {MAX_BODY >> 20} MiB", code="request_too_large"
                )
        try:
            return json.loads(raw or b"null")
        except ValueError as exc:
            raise ApiError(
                400, f"the request body is not valid JSON: {exc}", code="invalid_json"
            ) from None

    # -- replies --------------------------------------------------------------------------------

    async def _events(self, request: Request, stream: Stream) -> AsyncIterator[dict[str, Any]]:
        """The request's engine events up to done or error; stops it if the client goes."""
        done = False
        try:
            while True:
                try:
                    ev = await asyncio.wait_for(stream.queue.get(), 0.5)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        return
                    continue
                if ev["event"] in ("done", "error"):
                    done = True
                yield ev
                if done:
                    return
        finally:
            if done:
                self.link.finished(stream)
            else:
                self.link.stop(stream)

    def _start(self, chat: ChatRequest) -> Stream:
        self._check_model(chat.model)
        self._check_ready()
        try:
            sampling = {**self.config.sampling_defaults, **chat.sampling}
            if chat.prompt is not None:
                return self.link.generate(None, sampling, prompt=chat.prompt)
            return self.link.generate(chat.messages, sampling)
        except RuntimeError as exc:
            raise ApiError(
                503, str(exc), "server_error", "engine_unavailable", headers={"Retry-After": "5"}
            ) from None

    async def _collect(
        self, request: Request, stream: Stream, endpoint: str
    ) -> tuple[str, str, dict[str, Any]]:
        """A whole reply: (answer, thinking, figures); an engine error raises its ApiError."""
        answer: list[str] = []
        reasoning: list[str] = []
        stats: dict[str, Any] = {}
        async for ev in self._events(request, stream):
            if ev["event"] == "token":
                (reasoning if ev.get("channel") == "reasoning" else answer).append(ev["text"])
            elif ev["event"] == "done":
                stats = ev["stats"]
            elif ev["event"] == "error":
                err = _engine_error(ev.get("code", ""), ev.get("message", ""))
                self._log(endpoint, err.status, stats)
                raise err
        self._log(endpoint, 200, stats)
        return "".join(answer), "".join(reasoning), stats

    async def _sse(
        self,
        request: Request,
        stream: Stream,
        endpoint: str,
        first: list[dict[str, Any]],
        on_token: Callable[[dict[str, Any]], dict[str, Any]],
        on_done: Callable[[dict[str, Any]], list[dict[str, Any]]],
    ) -> AsyncIterator[bytes]:
        """A reply as server-sent events: ``first``, a body per piece of text (``on_token``),
        the closing bodies (``on_done(stats)``) or the error, then ``[DONE]``."""

        def data(body: dict[str, Any]) -> bytes:
            return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()

        for body in first:
            yield data(body)
        stats: dict[str, Any] = {}
        status = 200
        async for ev in self._events(request, stream):
            if ev["event"] == "token":
                yield data(on_token(ev))
            elif ev["event"] == "done":
                stats = ev["stats"]
                for body in on_done(stats):
                    yield data(body)
            elif ev["event"] == "error":
                err = _engine_error(ev.get("code", ""), ev.get("message", ""))
                status = err.status
                yield data(err.body())
                break
        self._log(endpoint, status, stats)
        yield b"data: [DONE]\n\n"

    async def chat_completions(self, request: Request) -> Response:
        self.guard(request)
        chat = read_chat(await self.body(request), self.config.max_tokens)
        stream = self._start(chat)
        endpoint = "/v1/chat/completions"
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": self.model_id,
        }
        if chat.stream:

            def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                return {**base, "object": "chat.completion.chunk", "choices": [choice]}

            def token(ev: dict[str, Any]) -> dict[str, Any]:
                key = "reasoning_content" if ev.get("channel") == "reasoning" else "content"
                return chunk({key: ev["text"]})

            def done(stats: dict[str, Any]) -> list[dict[str, Any]]:
                last = [chunk({}, _finish_reason(stats))]
                if chat.include_usage:
                    usage = {"choices": [], "usage": _usage(stats)}
                    last.append({**base, "object": "chat.completion.chunk", **usage})
                return last

            first = [chunk({"role": "assistant", "content": ""})]
            return StreamingResponse(
                self._sse(request, stream, endpoint, first, token, done),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        answer, reasoning, stats = await self._collect(request, stream, endpoint)
        message: dict[str, Any] = {"role": "assistant", "content": answer}
        if reasoning:
            message["reasoning_content"] = reasoning
        return JSONResponse(
            {
                **base,
                "object": "chat.completion",
                "choices": [
                    {"index": 0, "message": message, "finish_reason": _finish_reason(stats)}
                ],
                "usage": _usage(stats),
            }
        )

    async def completions(self, request: Request) -> Response:
        self.guard(request)
        req = read_completion(await self.body(request), self.config.max_tokens)
        stream = self._start(req)
        endpoint = "/v1/completions"
        base = {
            "id": f"cmpl-{uuid.uuid4().hex[:24]}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": self.model_id,
        }

        def choice(text: str, finish: str | None) -> dict[str, Any]:
            return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}

        if req.stream:

            def done(stats: dict[str, Any]) -> list[dict[str, Any]]:
                body = {**base, "choices": [choice("", _finish_reason(stats))]}
                if req.include_usage:
                    body["usage"] = _usage(stats)
                return [body]

            return StreamingResponse(
                self._sse(
                    request,
                    stream,
                    endpoint,
                    [],
                    lambda ev: {**base, "choices": [choice(ev["text"], None)]},
                    done,
                ),
                media_type="text/event-stream",
            )
        text, _reasoning, stats = await self._collect(request, stream, endpoint)
        return JSONResponse(
            {
                **base,
                "choices": [choice(text, _finish_reason(stats))],
                "usage": _usage(stats),
            }
        )

    def _log(self, endpoint: str, status: int, stats: dict[str, Any]) -> None:
        self.log.add(
            LogEntry(
                time.time(),
                endpoint,
                status,
                int(stats.get("completion_tokens") or 0),
                stats.get("tokens_per_second"),
            )
        )

    async def models(self, request: Request) -> Response:
        self.guard(request)
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": self.model_id, "object": "model", "created": 0, "owned_by": "hearth"}
                ],
            }
        )

    # -- Ollama ---------------------------------------------------------------------------------

    async def ollama_version(self, request: Request) -> Response:
        self.guard(request)
        return JSONResponse({"version": __version__})

    async def ollama_tags(self, request: Request) -> Response:
        self.guard(request)
        info = self.link.info
        details = {
            "format": "gguf",
            "family": info.get("architecture") or "",
            "parameter_size": f"{(info.get('n_params') or 0) / 1e9:.2f}B",
            "quantization_level": self._quant,
        }
        return JSONResponse(
            {
                "models": [
                    {
                        "name": self.model_id,
                        "model": self.model_id,
                        "modified_at": datetime.now(timezone.utc).isoformat(),
                        "size": int(info.get("model_bytes") or 0),
                        "digest": "",
                        "details": details,
                    }
                ]
            }
        )

    async def ollama_chat(self, request: Request) -> Response:
        return await self._ollama(request, generate=False)

    async def ollama_generate(self, request: Request) -> Response:
        return await self._ollama(request, generate=True)

    async def _ollama(self, request: Request, generate: bool) -> Response:
        self.guard(request)
        chat = read_ollama(await self.body(request), self.config.max_tokens, generate)
        stream = self._start(chat)
        endpoint = "/api/generate" if generate else "/api/chat"
        if chat.stream:
            return StreamingResponse(
                self._ndjson(request, stream, generate, endpoint),
                media_type="application/x-ndjson",
            )
        answer, thinking, last = [], [], {}
        async for line in self._ollama_events(request, stream, generate, endpoint):
            if line.get("done"):
                last = line
            elif generate:
                answer.append(line.get("response", ""))
                thinking.append(line.get("thinking", ""))
            else:
                answer.append(line["message"].get("content", ""))
                thinking.append(line["message"].get("thinking", ""))
        if "error" in last:
            raise ApiError(500, last["error"], "server_error")
        if generate:
            last["response"] = "".join(answer)
            if any(thinking):
                last["thinking"] = "".join(thinking)
        else:
            last["message"] = {"role": "assistant", "content": "".join(answer)}
            if any(thinking):
                last["message"]["thinking"] = "".join(thinking)
        return JSONResponse(last)

    async def _ndjson(
        self, request: Request, stream: Stream, generate: bool, endpoint: str
    ) -> AsyncIterator[bytes]:
        async for line in self._ollama_events(request, stream, generate, endpoint):
            yield (json.dumps(line, ensure_ascii=False) + "\n").encode()

    async def _ollama_events(
        self, request: Request, stream: Stream, generate: bool, endpoint: str
    ) -> AsyncIterator[dict[str, Any]]:
        def now() -> str:
            return datetime.now(timezone.utc).isoformat()

        head = {"model": self.model_id}
        async for ev in self._events(request, stream):
            if ev["event"] == "token":
                thinking = ev.get("channel") == "reasoning"
                if generate:
                    key = "thinking" if thinking else "response"
                    yield {**head, "created_at": now(), key: ev["text"], "done": False}
                else:
                    msg = {"role": "assistant", "content": ""}
                    msg["thinking" if thinking else "content"] = ev["text"]
                    yield {**head, "created_at": now(), "message": msg, "done": False}
            elif ev["event"] == "done":
                stats = ev["stats"]
                self._log(endpoint, 200, stats)
                final: dict[str, Any] = {
                    **head,
                    "created_at": now(),
                    "done": True,
                    "done_reason": "length" if _finish_reason(stats) == "length" else "stop",
                    "total_duration": int((stats.get("generation_s") or 0) * 1e9),
                    "prompt_eval_count": int(stats.get("prompt_tokens") or 0),
                    "eval_count": int(stats.get("completion_tokens") or 0),
                    "eval_duration": int((stats.get("generation_s") or 0) * 1e9),
                }
                if generate:
                    final["response"] = ""
                else:
                    final["message"] = {"role": "assistant", "content": ""}
                yield final
            elif ev["event"] == "error":
                self._log(endpoint, 500, {})
                yield {**head, "created_at": now(), "done": True, "error": ev.get("message", "")}


def _usage(stats: dict[str, Any]) -> dict[str, int]:
    prompt = int(stats.get("prompt_tokens") or 0)
    completion = int(stats.get("completion_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def build_app(link: EngineLink, config: ServerConfig, log: RequestLog) -> Starlette:
    api = Api(link, config, log)

    def route(path: str, handler: Any, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except ApiError as exc:
                if exc.status != 401 and exc.status != 403:
                    log.add(LogEntry(time.time(), path, exc.status))
                return _error(exc)

        return Route(path, endpoint, methods=methods)

    routes = [
        route("/v1/models", api.models, ["GET"]),
        route("/v1/chat/completions", api.chat_completions, ["POST"]),
        route("/v1/completions", api.completions, ["POST"]),
        route("/api/version", api.ollama_version, ["GET"]),
        route("/api/tags", api.ollama_tags, ["GET"]),
        route("/api/chat", api.ollama_chat, ["POST"]),
        route("/api/generate", api.ollama_generate, ["POST"]),
    ]
    middleware = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=config.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            )
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(
            ApiError(404, f"no route {request.method} {request.url.path}", code="not_found")
        )

    return Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
