"""The engine worker process with the real models: streaming, stop, cache reuse, failures."""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.engine.client import BlockingEngine, EngineClient, EngineError
from app.engine.protocol import Op
from tests import gguf_factory as F

pytestmark = pytest.mark.model

GREEDY = {"temperature": 0, "seed": 1}


def test_streams_tokens_and_reports_figures(smollm_engine: BlockingEngine) -> None:
    pieces: list[tuple[float, str]] = []
    text, stats = smollm_engine.chat(
        [{"role": "user", "content": "List three fruits."}],
        {**GREEDY, "max_tokens": 40},
        on_token=lambda t: pieces.append((time.monotonic(), t)),
    )
    # Text goes out at most every 30 ms (TokenBatcher): a reply written in 1 s comes in ~30
    # pieces, one a GPU writes in 50 ms in 2 or 3; never in one lump after the end.
    assert len(pieces) >= min(5, int(stats["generation_s"] / 0.03))
    assert "".join(p for _, p in pieces) == text
    if len(pieces) > 1:
        assert pieces[-1][0] - pieces[0][0] > 0  # tokens arrived over time
    assert 0 < stats["completion_tokens"] <= 40
    assert stats["prompt_tokens"] > 10
    assert stats["ttft_s"] > 0 and stats["tokens_per_second"] > 1
    assert stats["stop_reason"] in ("eos", "max_tokens")
    assert stats["n_ctx"] == 2048
    assert stats["context_used"] >= stats["prompt_tokens"]


def test_same_seed_same_reply(smollm_engine: BlockingEngine, smollm_path: Path) -> None:
    msgs = [{"role": "user", "content": "Say something about rivers."}]
    a, _ = smollm_engine.chat(msgs, {"temperature": 0.9, "seed": 42, "max_tokens": 24})
    loaded = smollm_engine.status()["loaded"]
    if loaded and loaded["n_gpu_layers"]:
        # On a GPU, llama.cpp's kernels round differently for a batch of one token (the prompt's
        # last token, evaluated again when the rest comes from the cache) than for the whole
        # prompt, so the same seed gives the same reply from the same state only (README).
        smollm_engine.load(str(smollm_path), {"n_ctx": 2048})
    b, _ = smollm_engine.chat(msgs, {"temperature": 0.9, "seed": 42, "max_tokens": 24})
    assert a == b


def test_next_turn_processes_only_new_tokens(smollm_engine: BlockingEngine) -> None:
    msgs = [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": "Name a color."},
    ]
    reply, first = smollm_engine.chat(msgs, {**GREEDY, "max_tokens": 20})
    msgs += [{"role": "assistant", "content": reply}, {"role": "user", "content": "And a shape?"}]
    _, second = smollm_engine.chat(msgs, {**GREEDY, "max_tokens": 20})
    new = second["prompt_tokens"] - second["reused_tokens"]
    assert second["reused_tokens"] >= first["prompt_tokens"]
    assert new < 20  # just the new user turn and the template around it


def test_stop_during_generation_keeps_partial_reply(smollm_engine: BlockingEngine) -> None:
    got: list[str] = []
    stopped_at: list[float] = []

    def on_token(t: str) -> None:
        got.append(t)
        if len(got) == 10:
            stopped_at.append(time.monotonic())
            smollm_engine.stop()

    text, stats = smollm_engine.chat(
        [{"role": "user", "content": "Write a very long story about a lighthouse."}],
        {"ignore_eos": True, "max_tokens": 1500, "seed": 3},
        on_token=on_token,
    )
    elapsed = time.monotonic() - stopped_at[0]
    assert stats["stop_reason"] == "stopped"
    assert elapsed < 0.5
    assert text == "".join(got) and len(got) >= 10
    # Nothing is written after the stop is seen: the tokens are those of the time it took (a
    # GPU writes hundreds in that time, a CPU tens), far from the 1,500 asked for.
    assert stats["completion_tokens"] < 1500


def test_stop_during_prompt_processing(gemma_path: Path) -> None:
    """A prompt is aborted inside llama_decode, not after it: a stop sent a fifth of the way into
    one big batch ends the reply in a small part of that batch's own time (timed first, on this
    machine, so the test does not depend on its speed), and within the README's 0.5 s."""
    with BlockingEngine() as engine:
        engine.load(str(gemma_path), {"n_ctx": 4096, "n_batch": 2048, "n_ubatch": 2048})

        def prompt(first: str) -> list[dict[str, str]]:
            words = " ".join(f"word{i} and more" for i in range(300))  # ~1,900 tokens: one batch
            return [{"role": "user", "content": f"{first} {words}"}]

        # The same batch uninterrupted (another first word: nothing of it is in the cache).
        _, full = engine.chat(prompt("Apples"), {**GREEDY, "max_tokens": 1})
        batch_tokens = full["prompt_tokens"] - full["reused_tokens"]
        assert 1500 < batch_tokens <= 2048  # one llama_decode call
        batch_s = full["prompt_s"]

        result: dict[str, Any] = {}
        started = threading.Event()

        def run() -> None:
            result["text"], result["stats"] = engine.chat(
                prompt("Pears"), {**GREEDY, "max_tokens": 8}, on_started=lambda _e: started.set()
            )
            result["answered"] = time.monotonic()

        t = threading.Thread(target=run)
        t.start()
        assert started.wait(30)  # sent just before the batch is decoded
        time.sleep(batch_s / 5)
        stop_time = time.monotonic()
        engine.stop()
        t.join(60)
        assert not t.is_alive()
        stats = result["stats"]
        assert stats["stop_reason"] == "stopped"
        assert stats["completion_tokens"] == 0 and result["text"] == ""
        took = result["answered"] - stop_time
        # Finishing the batch would take about 4/5 of it; aborting it takes a few graph nodes.
        assert took < min(0.5, batch_s / 4 + 0.02), (took, batch_s)
        # The engine is usable afterwards.
        _, after = engine.chat([{"role": "user", "content": "Hi"}], {**GREEDY, "max_tokens": 4})
        assert after["completion_tokens"] > 0


def _stop_at_first_progress(engine: BlockingEngine, path: Path) -> tuple[EngineError, float]:
    """Load ``path`` and stop it at its first progress report; the error and how long the stop
    took to end the load (the previous model loaded again, if any, included)."""
    stop_time: list[float] = []

    def on_progress(fraction: float) -> None:
        if not stop_time and fraction < 1.0:
            stop_time.append(time.monotonic())
            engine.stop()

    with pytest.raises(EngineError) as info:
        engine.load(str(path), {"n_ctx": 2048, "use_mmap": False}, on_progress=on_progress)
    assert stop_time, "the load reported no progress before it ended"
    return info.value, time.monotonic() - stop_time[0]


def test_stopping_a_load_keeps_the_previous_model_and_the_worker(
    smollm_path: Path, gemma_path: Path
) -> None:
    """Stop while Gemma is being read: the load ends at once as stopped, the model loaded before
    is loaded again (as for a file llama.cpp refuses), and the next load works."""
    with BlockingEngine() as engine:
        engine.load(str(smollm_path), {"n_ctx": 512})
        error, took = _stop_at_first_progress(engine, gemma_path)
        assert error.code == "cancelled"
        assert "gemma-3-270m-Q4_K_M.gguf" in str(error) and "stopped" in str(error)
        assert took < 2.0  # the rest of Gemma is not read; SmolLM2 is loaded again
        status = engine.status()
        assert status["busy"] is None
        assert status["loaded"] is not None and status["loaded"]["path"] == str(smollm_path)
        assert status["loaded"]["n_ctx"] == 512
        _text, stats = engine.chat([{"role": "user", "content": "Hi"}], {**GREEDY, "max_tokens": 4})
        assert stats["completion_tokens"] > 0
        # The stop was for that load only: the next one runs to the end.
        info = engine.load(str(gemma_path), {"n_ctx": 1024})
        assert info["path"] == str(gemma_path)
        assert engine.status()["loaded"]["path"] == str(gemma_path)


def test_stopping_the_first_load_leaves_no_model(gemma_path: Path) -> None:
    with BlockingEngine() as engine:
        error, took = _stop_at_first_progress(engine, gemma_path)
        assert error.code == "cancelled"
        assert took < 1.0
        assert engine.status()["loaded"] is None
        with pytest.raises(EngineError) as info:
            engine.chat([{"role": "user", "content": "Hi"}], {"max_tokens": 4})
        assert info.value.code == "not_loaded"
        assert engine.load(str(gemma_path), {"n_ctx": 1024})["n_ctx"] == 1024


def test_model_without_template_gets_the_transcript_fallback(gemma_path: Path) -> None:
    with BlockingEngine() as engine:
        info = engine.load(str(gemma_path), {"n_ctx": 1024})
        assert info["has_template"] is False
        assert "no chat template" in info["template_note"]
        started: list[dict] = []
        text, stats = engine.chat(
            [{"role": "user", "content": "The capital of France is"}],
            {**GREEDY, "max_tokens": 16},
            on_started=started.append,
        )
        assert started[0]["template"].startswith("plain transcript")
        assert stats["completion_tokens"] > 0 and text.strip()
        assert "User:" not in text  # the transcript's own stop sequence ends the turn
        # The next turn finds the whole first exchange, reply included, in the KV cache.
        msgs = [
            {"role": "user", "content": "The capital of France is"},
            {"role": "assistant", "content": text},
            {"role": "user", "content": "And of Spain?"},
        ]
        _, second = engine.chat(msgs, {**GREEDY, "max_tokens": 4})
        assert second["reused_tokens"] >= stats["prompt_tokens"] + stats["completion_tokens"] - 2


@pytest.mark.parametrize("damage", ["truncated", "not_gguf", "missing"])
def test_bad_files_give_a_clear_error_and_the_worker_lives_on(
    tmp_path: Path, smollm_path: Path, damage: str
) -> None:
    bad = tmp_path / "bad.gguf"
    if damage == "truncated":
        with smollm_path.open("rb") as f:
            bad.write_bytes(f.read(40_000_000))
        expected = "download is incomplete"
    elif damage == "not_gguf":
        bad.write_bytes(b"<html>404 Not Found</html>" * 10)
        expected = "not a GGUF model"
    else:
        expected = "does not exist"
    with BlockingEngine() as engine:
        with pytest.raises(EngineError) as info:
            engine.load(str(bad))
        assert info.value.code == "load_failed"
        assert expected in str(info.value) and "bad.gguf" in str(info.value)
        loaded = engine.load(str(smollm_path), {"n_ctx": 512})
        assert loaded["n_ctx"] == 512


def test_llama_cpp_rejection_is_explained(tmp_path: Path) -> None:
    """A well-formed header that llama.cpp cannot use: its own reason reaches the user."""
    bad = F.write(tmp_path / "tiny.gguf", F.small_model_bytes())
    with BlockingEngine() as engine, pytest.raises(EngineError) as info:
        engine.load(str(bad))
    assert info.value.code == "load_failed"
    assert "Cannot load tiny.gguf:" in str(info.value)
    assert "llama.cpp gave no reason" not in str(info.value)


@pytest.mark.parametrize("damage", ["truncated", "refused_by_llama_cpp"])
def test_a_failed_load_keeps_the_model_that_was_loaded(
    tmp_path: Path, smollm_path: Path, damage: str
) -> None:
    """Opening a broken file does not cost the user the model they were chatting with: a file
    cut short is refused before anything is unloaded, and a file llama.cpp refuses after the
    unload gets the previous model loaded again (the error event says which is loaded)."""
    bad = tmp_path / "bad.gguf"
    if damage == "truncated":
        with smollm_path.open("rb") as f:
            bad.write_bytes(f.read(40_000_000))
    else:
        F.write(bad, F.small_model_bytes())
    with BlockingEngine() as engine:
        engine.load(str(smollm_path), {"n_ctx": 512})
        req = engine.client.request(Op.LOAD, path=str(bad), options={"n_ctx": 1024})
        error = engine._next(timeout=60)
        while error.get("id") != req or error["event"] == "progress":
            error = engine._next(timeout=60)
        assert error["event"] == "error"
        assert error["code"] == "load_failed" and "bad.gguf" in error["message"]
        assert error["loaded"] is not None and error["loaded"]["path"] == str(smollm_path)
        assert engine.status()["loaded"]["n_ctx"] == 512
        _text, stats = engine.chat(
            [{"role": "user", "content": "Hi"}], {"max_tokens": 4, "temperature": 0}
        )
        assert stats["completion_tokens"] > 0


def test_a_stop_with_nothing_running_stops_nothing_later(smollm_path: Path) -> None:
    """Stop pressed after a reply ended (or before any) must not cancel the next request."""
    with BlockingEngine() as engine:
        engine.load(str(smollm_path), {"n_ctx": 512})
        engine.stop()  # nothing runs: "stop whatever runs"
        engine.client.stop(None)
        _text, stats = engine.chat(
            [{"role": "user", "content": "Hi"}], {"max_tokens": 4, "temperature": 0}
        )
        assert stats["stop_reason"] != "stopped" and stats["completion_tokens"] > 0


def test_hostile_template_in_a_model_file(tmp_path: Path, smollm_path: Path) -> None:
    evil = F.with_chat_template(
        smollm_path,
        tmp_path / "evil.gguf",
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    )
    with BlockingEngine() as engine:
        engine.load(str(evil), {"n_ctx": 512})
        started = time.monotonic()
        with pytest.raises(EngineError) as info:
            engine.chat([{"role": "user", "content": "hi"}], {"max_tokens": 4})
        assert info.value.code == "template"
        assert "stopped" in str(info.value)
        assert time.monotonic() - started < 10
    escape = F.with_chat_template(
        smollm_path, tmp_path / "escape.gguf", "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    )
    with BlockingEngine() as engine:
        engine.load(str(escape), {"n_ctx": 512})
        with pytest.raises(
            EngineError, match="chat template tried to reach Python internals and was blocked"
        ):
            engine.chat([{"role": "user", "content": "hi"}], {"max_tokens": 4})


def test_conversation_longer_than_the_context(smollm_path: Path) -> None:
    with BlockingEngine() as engine:
        engine.load(str(smollm_path), {"n_ctx": 512})
        msgs: list[dict[str, str]] = []
        for i in range(12):
            msgs += [
                {"role": "user", "content": f"Question {i}: " + "tell me about the sea " * 6},
                {"role": "assistant", "content": f"Answer {i}: " + "the sea is wide and deep " * 6},
            ]
        msgs.append({"role": "user", "content": "Last question: what is blue?"})
        started: list[dict] = []
        _, stats = engine.chat(msgs, {**GREEDY, "max_tokens": 16}, on_started=started.append)
        assert started[0]["dropped_messages"] > 0
        assert started[0]["dropped_messages"] % 2 == 0  # whole exchanges
        assert stats["prompt_tokens"] <= 512 - 64
        with pytest.raises(EngineError) as info:
            engine.chat([{"role": "user", "content": "sea " * 2000}], {"max_tokens": 16})
        assert info.value.code == "context_overflow"
        assert "raise the context length" in str(info.value)


@pytest.mark.parametrize(
    ("sig", "words"),
    [
        (signal.SIGKILL, "killed (out of memory"),
        # What a CPU without the build's instructions (AVX2) gets from the first one it meets.
        (signal.SIGILL, "instruction this CPU does not have"),
    ],
)
def test_worker_killed_mid_reply_is_reported(smollm_path: Path, sig: int, words: str) -> None:
    events: queue.Queue[dict] = queue.Queue()
    client = EngineClient(events.put)
    client.start()
    try:
        client.request("load", path=str(smollm_path), options={"n_ctx": 512})
        client.request(
            "generate",
            messages=[{"role": "user", "content": "Tell a long story."}],
            sampling={"ignore_eos": True, "max_tokens": 2000},
        )
        while True:
            ev = events.get(timeout=30)
            if ev["event"] == "token":
                break
        assert client.pid is not None
        os.kill(client.pid, sig)
        while True:
            ev = events.get(timeout=30)
            if ev["event"] == "crashed":
                break
        assert ev["returncode"] == -sig
        assert words in ev["message"] and signal.Signals(sig).name in ev["message"]
    finally:
        client.close()


def test_closing_input_ends_the_worker(smollm_path: Path) -> None:
    events: queue.Queue[dict] = queue.Queue()
    client = EngineClient(events.put)
    client.start()
    assert events.get(timeout=30)["event"] == "ready"
    client.close(timeout=10)
    assert not client.alive
    assert events.get(timeout=5)["event"] == "exited"


def test_a_status_asked_on_a_requests_last_event_is_not_busy(smollm_path: Path) -> None:
    """The app asks for the status when a load or a reply ends: the worker must not still say
    it is busy with what just ended (it once did, for the moment before its loop moved on)."""
    with BlockingEngine() as engine:
        for _ in range(10):
            engine.load(str(smollm_path), {"n_ctx": 512})
            assert engine.status()["busy"] is None
            engine.chat([{"role": "user", "content": "Hi"}], {**GREEDY, "max_tokens": 2})
            assert engine.status()["busy"] is None
