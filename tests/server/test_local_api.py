"""The local API as other programs use it: a real ``hearth serve`` process with the real model,
driven by the official OpenAI and Ollama Python clients (and raw HTTP for what clients hide)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.model]

openai = pytest.importorskip("openai")
ollama = pytest.importorskip("ollama")

MODEL = "SmolLM2-135M-Instruct.Q4_1"
GREEDY = {"temperature": 0, "max_tokens": 16}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, proc: subprocess.Popen[str], port: int, key: str | None) -> None:
        self.proc, self.port, self.key = proc, port, key
        self.url = f"http://127.0.0.1:{port}"
        self.log: list[str] = []
        self.reader: threading.Thread | None = None
        self._clients: list[Any] = []  # closed when the server stops

    def stop(self) -> None:
        """Ctrl+C, as a user stops it; killed if it does not end."""
        for client in self._clients:
            client.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        if self.reader is not None:
            self.reader.join(10)

    def openai(self, key: str | None = None) -> Any:
        client = openai.OpenAI(
            base_url=self.url + "/v1", api_key=key or self.key or "none", max_retries=0
        )
        self._clients.append(client)
        return client

    def ollama(self) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else None
        client = ollama.Client(host=self.url, headers=headers)
        self._clients.append(client._client)  # its httpx client
        return client

    def worker_pid(self) -> int:
        import psutil

        kids = psutil.Process(self.proc.pid).children(recursive=True)
        return next(k.pid for k in kids if "app.engine.worker" in " ".join(k.cmdline()))


def _serve(smollm_path: Path, tmp_path: Path, *extra: str, key: str | None = None) -> Served:
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "app",
        "--basedir",
        str(tmp_path / "home"),
        "serve",
        str(smollm_path),
        "--port",
        str(port),
        "--ctx",
        "2048",
        *extra,
    ]
    if key:
        cmd += ["--api-key", key]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    served = Served(proc, port, key)
    ready = threading.Event()

    def read() -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                served.log.append(line.rstrip())
                if "serving" in line:
                    ready.set()

    served.reader = threading.Thread(target=read, daemon=True)
    served.reader.start()
    if not ready.wait(60):
        proc.kill()
        pytest.fail("hearth serve did not start: " + "\n".join(served.log))
    return served


@pytest.fixture(scope="module")
def server(smollm_path: Path, tmp_path_factory: Any) -> Iterator[Served]:
    # three replies at once, each with a 2,048-token context
    served = _serve(smollm_path, tmp_path_factory.mktemp("api"), "--parallel", "3", "--ctx", "6144")
    yield served
    served.stop()


def _ask(client: Any, text: str = "Say hello", **kw: Any) -> Any:
    return client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": text}], **{**GREEDY, **kw}
    )


def _stream_text(client: Any, text: str = "Say hello", **kw: Any) -> tuple[str, Any]:
    parts, usage = [], None
    for chunk in client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": text}],
        stream=True,
        stream_options={"include_usage": True},
        **{**GREEDY, **kw},
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
        if chunk.usage:
            usage = chunk.usage
    return "".join(parts), usage


def test_openai_client_models_chat_and_stream(server: Served) -> None:
    client = server.openai()
    assert [m.id for m in client.models.list().data] == [MODEL]
    reply = _ask(client, system_prompt := "Say hello")
    assert system_prompt
    text = reply.choices[0].message.content
    assert text.strip() and reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage.completion_tokens > 0 and reply.usage.prompt_tokens > 5
    streamed, usage = _stream_text(client)
    assert streamed == text  # greedy: the same reply, streamed
    assert usage is not None and usage.completion_tokens == reply.usage.completion_tokens
    assert any("/v1/chat/completions 200" in line for line in server.log)


def test_stop_sequences_and_the_token_limit(server: Served) -> None:
    client = server.openai()
    question = "Tell me about the sea."
    full = _ask(client, question, max_tokens=40).choices[0].message.content
    words = full.split()
    assert len(words) > 6
    stop = " " + words[4]  # a word well inside the reply
    cut = _ask(client, question, max_tokens=40, stop=[stop, "never-written"])
    assert cut.choices[0].message.content == full[: full.index(stop)]
    assert cut.choices[0].finish_reason == "stop"
    short = _ask(client, "Tell me a long story.", max_tokens=3)
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 3


def test_ollama_client(server: Served) -> None:
    client = server.ollama()
    names = [m.model for m in client.list().models]
    assert names == [MODEL]
    options = {"temperature": 0, "num_predict": 16}
    msgs = [{"role": "user", "content": "Say hello"}]
    whole = client.chat(model=MODEL, messages=msgs, options=options).message.content
    streamed = "".join(
        p.message.content
        for p in client.chat(model=MODEL, messages=msgs, options=options, stream=True)
    )
    assert whole.strip() and streamed == whole
    assert _ask(server.openai()).choices[0].message.content == whole
    generated = client.generate(model=MODEL, prompt="Say hello", options=options)
    assert generated.response == whole and generated.done


def test_completions_continue_a_raw_prompt(server: Served) -> None:
    client = server.openai()
    prompt = "1, 2, 3, 4, 5,"
    whole = client.completions.create(model=MODEL, prompt=prompt, max_tokens=8, temperature=0)
    text = whole.choices[0].text
    assert text.lstrip().startswith("6")  # continued as text, not answered as a chat
    assert whole.usage.prompt_tokens <= 15  # the text alone (and BOS): no chat template
    streamed = "".join(
        c.choices[0].text
        for c in client.completions.create(
            model=MODEL, prompt=prompt, max_tokens=8, temperature=0, stream=True
        )
        if c.choices
    )
    assert streamed == text
    raw = server.ollama().generate(
        model=MODEL, prompt=prompt, raw=True, options={"temperature": 0, "num_predict": 8}
    )
    assert raw.response == text


def test_errors_have_openai_s_shape_and_status(server: Served) -> None:
    client = server.openai()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model=MODEL, messages=[])
    assert "messages" in str(bad.value)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}
            ],
        )
    with pytest.raises(openai.BadRequestError) as penalty:
        _ask(client, presence_penalty=5)
    assert "presence_penalty" in str(penalty.value)
    with pytest.raises(openai.BadRequestError) as schema:
        _ask(client, response_format={"type": "xml"})
    assert "response_format" in str(schema.value)
    with pytest.raises(openai.BadRequestError) as overflow:  # longer than the context
        _ask(client, "word " * 7000)
    assert "context" in str(overflow.value)
    raw = httpx.post(
        server.url + "/v1/chat/completions",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "invalid_json"
    big = httpx.post(server.url + "/v1/chat/completions", content=b" " * (9 << 20))
    assert big.status_code == 413 and "error" in big.json()
    missing = httpx.get(server.url + "/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # a web page reaching the server through DNS rebinding names another host
    rebound = httpx.get(server.url + "/v1/models", headers={"Host": "attacker.example:8080"})
    assert rebound.status_code == 403


def test_json_mode_and_a_json_schema_are_enforced(server: Served) -> None:
    import json

    client = server.openai()
    reply = _ask(
        client, "Give me a person as JSON.", max_tokens=200, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(reply.choices[0].message.content), dict)
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 20},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "pets": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
        },
        "required": ["name", "age", "pets"],
        "additionalProperties": False,
    }
    reply = _ask(
        client,
        "Describe a person.",
        max_tokens=200,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "person", "schema": schema},
        },
    )
    person = json.loads(reply.choices[0].message.content)
    assert set(person) == {"name", "age", "pets"}
    assert isinstance(person["name"], str) and isinstance(person["age"], int)
    assert 0 <= person["age"] <= 120 and isinstance(person["pets"], list)
    assert all(isinstance(p, str) for p in person["pets"]) and len(person["pets"]) <= 3
    # the Ollama route takes a schema as its "format"
    out = server.ollama().chat(
        model=MODEL,
        messages=[{"role": "user", "content": "A person?"}],
        format=schema,
        options={"temperature": 0, "num_predict": 200},
    )
    assert set(json.loads(out.message.content)) == {"name", "age", "pets"}


def test_three_clients_at_once_get_what_each_gets_alone(server: Served) -> None:
    """Decoded together in one batch per step (--parallel 3), each reply is the one it would
    be alone (greedy), and four at once (one more than the slots) all complete."""
    client = server.openai()
    prompts = ["Say hello", "Name a fruit", "Name a colour", "Name a city"]
    alone = [_ask(client, p).choices[0].message.content for p in prompts]
    together: dict[int, str] = {}

    def run(i: int) -> None:
        together[i] = _stream_text(server.openai(), prompts[i])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert [together.get(i) for i in range(4)] == alone


def test_a_client_that_goes_away_frees_the_server(smollm_path: Path, tmp_path: Path) -> None:
    """One slot: a client hangs up in the middle of a reply of 8,000 tokens (a minute or more
    here); the next client is answered at once, not after it."""
    served = _serve(smollm_path, tmp_path, "--ctx", "8192", "--max-tokens", "8000")
    try:
        client = served.openai()
        long = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Tell me a long story."}],
            stream=True,
            max_tokens=8000,
            temperature=0,
            extra_body={"ignore_eos": True},
        )
        for i, _chunk in enumerate(long):
            if i >= 3:
                break
        long.close()  # the client hangs up mid-reply
        started = time.monotonic()
        assert _ask(client, max_tokens=4).choices[0].message.content
        assert time.monotonic() - started < 25
    finally:
        served.stop()


def test_a_key_is_required_off_localhost_and_checked(smollm_path: Path, tmp_path: Path) -> None:
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "--basedir",
            str(tmp_path / "h"),
            "serve",
            str(smollm_path),
            "--host",
            "0.0.0.0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--api-key" in refused.stderr
    served = _serve(smollm_path, tmp_path, key="s3cret")
    try:
        with pytest.raises(openai.AuthenticationError):
            _ask(served.openai(key="wrong"))
        assert _ask(served.openai()).choices[0].message.content
        assert httpx.get(served.url + "/api/tags").status_code == 401
        assert [m.model for m in served.ollama().list().models] == [MODEL]
    finally:
        served.stop()


def test_a_killed_engine_gives_503_then_recovers(smollm_path: Path, tmp_path: Path) -> None:
    served = _serve(smollm_path, tmp_path)
    try:
        client = served.openai()
        before = _ask(client).choices[0].message.content
        os.kill(served.worker_pid(), signal.SIGKILL)
        statuses = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = httpx.post(
                served.url + "/v1/chat/completions",
                json={
                    "model": MODEL,
                    "messages": [{"role": "user", "content": "Say hello"}],
                    **GREEDY,
                },
            )
            statuses.append(r.status_code)
            if r.status_code == 200:
                assert r.json()["choices"][0]["message"]["content"] == before
                break
            assert r.status_code == 503 and r.headers.get("retry-after")
            assert r.json()["error"]["type"] == "server_error"
            time.sleep(0.2)
        assert statuses[-1] == 200, statuses
    finally:
        served.stop()
