"""The engine bridge's states and signals, with the real worker process and no downloaded model:
loads and replies use a tiny synthetic llama (its weights a hole in a sparse file, so its replies
are random tokens) that llama.cpp loads in a fraction of a second."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.ui.chat.engine_bridge import EngineBridge
from tests.synthetic_models import Config, write_model

pytestmark = pytest.mark.gui

KEY = ("tiny.gguf", "{}")
LONG = {"max_tokens": 30_000, "ignore_eos": True}  # far longer than any test waits
WAIT = 60_000  # a worker's first start imports llama.cpp


class Watched:
    """A bridge and the states it went through."""

    def __init__(self, bridge: EngineBridge) -> None:
        self.bridge = bridge
        self.states: list[str] = []
        bridge.stateChanged.connect(self.states.append)


@pytest.fixture
def make_bridge(qtbot: Any) -> Iterator[Callable[..., Watched]]:
    made: list[EngineBridge] = []

    def make() -> Watched:
        bridge = EngineBridge()
        made.append(bridge)
        return Watched(bridge)

    yield make
    for bridge in made:
        bridge.shutdown()


def started(qtbot: Any, w: Watched) -> dict[str, Any]:
    with qtbot.waitSignal(w.bridge.buildReady, timeout=WAIT) as ready:
        w.bridge.start()
    return ready.args[0]


# -- the real worker ---------------------------------------------------------------------------


def test_start_reports_the_build_then_idle(qtbot: Any, make_bridge: Any) -> None:
    w = make_bridge()
    assert w.bridge.state == "stopped" and not w.bridge.busy
    build = started(qtbot, w)
    assert w.states == ["starting", "idle"]
    assert build["event"] == "ready" and build["backend"]
    assert w.bridge.pid == build["pid"] and w.bridge.build["pid"] == build["pid"]
    w.bridge.start()  # already running: nothing happens
    assert w.states == ["starting", "idle"] and w.bridge.pid == build["pid"]


def test_a_failed_load_returns_to_idle_and_logs_why(
    qtbot: Any, make_bridge: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = make_bridge()
    missing = tmp_path / "missing.gguf"
    with qtbot.waitSignal(w.bridge.loadFailed, timeout=WAIT) as failed:
        w.bridge.load(str(missing), {}, KEY)
        assert w.bridge.state == "loading" and w.bridge.busy
        assert w.bridge.pending_key == KEY
    code, message = failed.args
    assert code == "load_failed" and "missing.gguf" in message and "does not exist" in message
    assert w.states == ["starting", "loading", "idle"]
    assert w.bridge.loaded_info is None and w.bridge.loaded_key is None
    assert w.bridge.pending_key is None
    logged = [r for r in caplog.records if r.name == "app.ui.chat.engine_bridge"]
    assert any(
        "load_failed" in r.getMessage() and "does not exist" in r.getMessage() for r in logged
    )


def test_a_reply_without_a_model_fails_and_returns_to_idle(qtbot: Any, make_bridge: Any) -> None:
    w = make_bridge()
    started(qtbot, w)
    with qtbot.waitSignal(w.bridge.replyFailed, timeout=WAIT) as failed:
        w.bridge.generate([{"role": "user", "content": "Hi"}], {})
        assert w.bridge.state == "generating"
    assert failed.args[0] == "not_loaded"
    assert w.states == ["starting", "idle", "generating", "idle"]


def test_a_killed_worker_is_a_crash_and_the_next_start_a_new_engine(
    qtbot: Any, make_bridge: Any, caplog: pytest.LogCaptureFixture
) -> None:
    w = make_bridge()
    first = started(qtbot, w)["pid"]
    with qtbot.waitSignal(w.bridge.crashed, timeout=WAIT) as crashed:
        os.kill(first, signal.SIGKILL)  # as the system's out-of-memory killer would
    assert "killed" in crashed.args[0] and "SIGKILL" in crashed.args[0]
    assert w.bridge.state == "crashed" and w.bridge.pid is None
    assert w.states == ["starting", "idle", "crashed"]
    w.bridge.stop()  # nothing runs: nothing to stop
    logged = [r for r in caplog.records if r.name == "app.engine.client"]
    assert any(f"pid {first}" in r.getMessage() and "SIGKILL" in r.getMessage() for r in logged)
    second = started(qtbot, w)["pid"]
    assert second != first and w.states[-2:] == ["starting", "idle"]


def test_shutdown_ends_the_worker_without_a_crash(qtbot: Any, make_bridge: Any) -> None:
    w = make_bridge()
    pid = started(qtbot, w)["pid"]
    with qtbot.assertNotEmitted(w.bridge.crashed, wait=300):
        w.bridge.shutdown()
    assert w.bridge.state == "stopped" and w.bridge.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


# -- loads and replies, with a tiny synthetic model ----------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "tiny.gguf"
    return write_model(path, Config("llama", 2, 256, 4, 4, 64, 256, 512, 32768))


def loaded(qtbot: Any, w: Watched, model: Path, n_ctx: int = 32768) -> dict[str, Any]:
    progress: list[float] = []
    w.bridge.loadProgress.connect(progress.append)
    with qtbot.waitSignal(w.bridge.modelLoaded, timeout=WAIT) as done:
        w.bridge.load(str(model), {"n_ctx": n_ctx}, KEY)
    assert progress and progress[-1] == 1.0
    return done.args[0]


def test_load_then_a_reply_streams_and_finishes(qtbot: Any, make_bridge: Any, tiny: Path) -> None:
    w = make_bridge()
    info = loaded(qtbot, w, tiny)
    assert info["path"] == str(tiny) and info["n_ctx"] == 32768 and w.bridge.loaded_info == info
    assert w.bridge.loaded_key == KEY and w.bridge.pending_key is None
    assert w.bridge.state == "idle"
    tokens: list[str] = []
    starts: list[dict[str, Any]] = []
    w.bridge.tokenReceived.connect(tokens.append)
    w.bridge.replyStarted.connect(starts.append)
    with qtbot.waitSignal(w.bridge.replyDone, timeout=WAIT) as done:
        w.bridge.generate(
            [{"role": "user", "content": "Hi"}], {"max_tokens": 8, "ignore_eos": True, "seed": 1}
        )
        assert w.bridge.state == "generating" and w.bridge.busy
    text, stats = done.args
    assert text == "".join(tokens) and stats["completion_tokens"] == 8
    assert stats["stop_reason"] == "max_tokens"
    assert starts[0]["prompt_tokens"] == stats["prompt_tokens"] > 0
    assert w.states == ["starting", "loading", "idle", "generating", "idle"]
    w.bridge.unload()
    assert w.bridge.loaded_info is None and w.bridge.loaded_key is None


def test_stop_ends_the_reply_as_stopped(qtbot: Any, make_bridge: Any, tiny: Path) -> None:
    w = make_bridge()
    loaded(qtbot, w, tiny)
    with qtbot.waitSignal(w.bridge.tokenReceived, timeout=WAIT):
        w.bridge.generate([{"role": "user", "content": "Hi"}], LONG)
    assert w.bridge.state == "generating" and w.bridge.busy
    with qtbot.waitSignal(w.bridge.replyDone, timeout=WAIT) as done:
        w.bridge.stop()
    assert done.args[1]["stop_reason"] == "stopped"
    assert w.bridge.state == "idle" and not w.bridge.busy and w.bridge.loaded_key == KEY


def test_a_failed_reply_keeps_the_model(qtbot: Any, make_bridge: Any, tiny: Path) -> None:
    w = make_bridge()
    loaded(qtbot, w, tiny, n_ctx=256)
    with qtbot.waitSignal(w.bridge.replyFailed, timeout=WAIT) as failed:
        w.bridge.generate([{"role": "user", "content": "w1 " * 400}], {"max_tokens": 16})
    assert failed.args[0] == "context_overflow"
    assert w.bridge.state == "idle" and w.bridge.loaded_key == KEY


def test_a_crash_mid_reply_forgets_the_model(qtbot: Any, make_bridge: Any, tiny: Path) -> None:
    w = make_bridge()
    loaded(qtbot, w, tiny)
    done: list[str] = []
    w.bridge.replyDone.connect(done.append)
    with qtbot.waitSignal(w.bridge.tokenReceived, timeout=WAIT):
        w.bridge.generate([{"role": "user", "content": "Hi"}], LONG)
    pid = w.bridge.pid
    assert pid is not None
    with qtbot.waitSignal(w.bridge.crashed, timeout=WAIT):
        os.kill(pid, signal.SIGKILL)
    assert w.bridge.state == "crashed" and not w.bridge.busy
    assert w.bridge.loaded_info is None and w.bridge.loaded_key is None and done == []
    # The next reply starts a new engine (which has no model: the controller loads it first).
    with qtbot.waitSignal(w.bridge.replyFailed, timeout=WAIT) as failed:
        w.bridge.generate([{"role": "user", "content": "Hi"}], {})
    assert failed.args[0] == "not_loaded" and w.bridge.pid not in (None, pid)
    assert w.states[-4:] == ["crashed", "starting", "generating", "idle"]
