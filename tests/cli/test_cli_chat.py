"""`hearth chat` as a user runs it: a real process, the real engine, the real model."""

from __future__ import annotations

import itertools
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.chat_templates import OPENS_THINKING, QWEN3_STYLE
from tests.cli import hearth

pytestmark = pytest.mark.model


def test_one_prompt_as_json(smollm_path: Path) -> None:
    proc = hearth(
        "chat",
        str(smollm_path),
        "--prompt",
        "What is 2+2?",
        "--max-tokens",
        "24",
        "--temperature",
        "0",
        "--seed",
        "7",
        "--ctx",
        "1024",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {
        "reply",
        "prompt_tokens",
        "completion_tokens",
        "ttft_s",
        "tokens_per_second",
        "stop_reason",
        "n_ctx",
    } <= set(data)
    assert data["reply"].strip()
    assert data["n_ctx"] == 1024
    assert 0 < data["completion_tokens"] <= 24
    assert data["stop_reason"] in ("eos", "max_tokens")
    assert data["ttft_s"] > 0


def test_streams_plain_text_with_system_prompt(smollm_path: Path) -> None:
    proc = hearth(
        "chat",
        str(smollm_path),
        "-p",
        "Say hello.",
        "--system",
        "You are terse.",
        "--max-tokens",
        "16",
        "--temperature",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()
    assert not proc.stdout.lstrip().startswith("{")


def test_model_by_library_name(starter_installed: Path) -> None:
    proc = hearth("chat", "smollm2-135m", "-p", "Hi", "--max-tokens", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["completion_tokens"] > 0


def test_a_bundled_starter_model_is_found_by_name(
    smollm_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A packaged build carries the starter model: `hearth chat smollm2` works before the user
    has added any model."""
    monkeypatch.setenv("HEARTH_STARTER_MODEL", str(smollm_path))
    proc = hearth("chat", "smollm2", "--prompt", "Hi", "--max-tokens", "4", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["completion_tokens"] >= 1


def test_interactive_chat_from_a_pipe(smollm_path: Path) -> None:
    proc = hearth(
        "chat",
        str(smollm_path),
        "--max-tokens",
        "12",
        "--temperature",
        "0",
        stdin="Name a fruit.\nName another one.\n/quit\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert len([ln for ln in proc.stdout.splitlines() if ln.strip()]) >= 2


STATS_LINE = re.compile(
    r"^\[prompt ([\d,]+) tokens, ([\d,]+) from the cache; reply ([\d,]+) tokens, .*"
    r"stop: (\w+)\]$",
    re.M,
)


def test_interactive_chat_reuses_the_kv_cache_across_turns(smollm_path: Path) -> None:
    """Three turns through the real command: each later turn finds the whole conversation so
    far in the KV cache, the previous reply included token for token, and evaluates only the
    new message. A reply kept in the history in any other form than generated (whitespace
    normalized, a character lost, a prefix added) loses cached tokens at the next turn.

    Trimming the reply alone goes unseen here: SmolLM2's trailing whitespace is always part of
    the last token sampled ("\\n   " after thirteen tokens), which is never evaluated, so the
    cache does not hold it either way."""
    proc = hearth(
        "chat",
        str(smollm_path),
        "--max-tokens",
        "13",
        "--temperature",
        "0",
        "--ctx",
        "2048",
        "--verbose",
        stdin="Write a Python function that adds two numbers.\n"
        "Now one that multiplies them.\nAnd one that subtracts them.\n",
    )
    assert proc.returncode == 0, proc.stderr
    turns = [
        (int(p.replace(",", "")), int(r.replace(",", "")), int(c.replace(",", "")), stop)
        for p, r, c, stop in STATS_LINE.findall(proc.stderr)
    ]
    assert len(turns) == 3, proc.stderr
    # The first reply has lines and an indent to lose (the CLI adds one newline of its own).
    assert proc.stdout.startswith("```python\ndef add_numbers(a, b):\n   \n"), proc.stdout
    assert turns[0][1] == 0
    for before, after in itertools.pairwise(turns):
        prompt, _reused, completion, stop = before
        next_prompt, next_reused, _c, _s = after
        # What the cache holds after a reply: the prompt and every generated token (the last
        # one sampled at max_tokens is never evaluated).
        held = prompt + completion - (1 if stop == "max_tokens" else 0)
        assert next_reused == held, turns
        assert next_prompt - next_reused < 25, turns  # the new message and the template around it


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("missing", "no such file"),
        ("text", "not a GGUF model"),
        ("truncated", "download is incomplete"),
        ("empty", "only 0 bytes"),
    ],
)
def test_bad_model_files_exit_2_with_one_line(
    tmp_path: Path, smollm_path: Path, make: str, expected: str
) -> None:
    path = tmp_path / "model.gguf"
    if make == "text":
        path.write_text("not a model at all\n" * 20)
    elif make == "truncated":
        with smollm_path.open("rb") as f:
            path.write_bytes(f.read(5_000_000))
    elif make == "empty":
        path.write_bytes(b"")
    proc = hearth("chat", str(path), "-p", "hi")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("hearth: error:") and expected in lines[0]
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_unknown_library_name_exits_2() -> None:
    proc = hearth("chat", "no-such-model", "-p", "hi")
    assert proc.returncode == 2
    assert "no model named 'no-such-model'" in proc.stderr


def test_bad_option_exits_2(smollm_path: Path) -> None:
    proc = hearth("chat", str(smollm_path), "-p", "hi", "--ctx", "0")
    assert proc.returncode == 2
    assert "context length" in proc.stderr and "Traceback" not in proc.stderr


# -- Ctrl+C, as a terminal sends it ----------------------------------------------------------------

# A reply of about 1,000 tokens (16 s on one thread here), so the Ctrl+C lands mid-reply even on
# a busy machine.
STORY = ["--max-tokens", "3000", "--temperature", "0.9", "--seed", "3", "--ctx", "4096"]
STORY += ["--threads", "1"]
PROMPT = "Write a 5000-word essay on the history of lighthouses, chapter by chapter."


class Terminal:
    """``hearth`` on a pseudo-terminal of its own, as its controlling terminal: writing ^C to
    it makes the line discipline send SIGINT to the foreground process group (the CLI and its
    engine worker alike), exactly as pressing Ctrl+C does."""

    def __init__(self, *args: str) -> None:
        import fcntl
        import pty
        import termios

        self.master, slave = pty.openpty()

        def become_terminal_owner() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=become_terminal_owner,
            env=dict(os.environ),
        )
        os.close(slave)
        self.seen = b""

    def read_until(self, pattern: bytes, timeout: float = 120) -> bytes:
        """Read until ``pattern`` appears after what was already read; returns the new part."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        while pattern not in self.seen[start:]:
            left = deadline - time.monotonic()
            assert left > 0, f"no {pattern!r} in {self.seen[start:][-2000:]!r}"
            ready, _, _ = select.select([self.master], [], [], min(left, 1))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other end closed
                    chunk = b""
                assert chunk or self.proc.poll() is None, f"exited: {self.seen[start:]!r}"
                self.seen += chunk
        return self.seen[start:]

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    pass
        return self.proc.wait(1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal():
    opened: list[Terminal] = []

    def open_terminal(*args: str) -> Terminal:
        opened.append(Terminal(*args))
        return opened[-1]

    yield open_terminal
    for t in opened:
        t.close()


def _generating(t: Terminal, loaded: bytes = b"\r" + b" " * 24 + b"\r") -> None:
    """Wait until the model is loaded (its progress line cleared) and the reply has streamed
    a few words."""
    t.read_until(loaded, timeout=120)
    for _ in range(3):
        t.read_until(b" ")


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_ctrl_c_stops_a_one_shot_reply_with_exit_130(smollm_path: Path, terminal) -> None:
    t = terminal("chat", str(smollm_path), "--prompt", PROMPT, *STORY)
    _generating(t)
    t.type(b"\x03")
    started = time.monotonic()
    assert t.wait() == 130, t.seen[-2000:]
    assert time.monotonic() - started < 10
    out = t.seen.decode(errors="replace")
    assert "Traceback" not in out and "KeyError" not in out
    assert len(out.split()) >= 3  # the partial reply stays on screen


@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_ctrl_c_in_interactive_chat_stops_the_reply_and_asks_again(
    smollm_path: Path, terminal
) -> None:
    t = terminal("chat", str(smollm_path), *STORY)
    t.read_until(b"> ")
    t.type(PROMPT.encode() + b"\r")
    _generating(t, loaded=PROMPT[-20:].encode())  # the typed line echoed
    t.type(b"\x03")
    t.read_until(b"\n> ", timeout=30)  # the reply ended; the next prompt is there
    t.type(b"Now say just: ok\r")  # the same engine answers the next message
    t.read_until(b"\n> ", timeout=120)
    t.type(b"/quit\r")
    assert t.wait() == 0, t.seen[-2000:]
    out = t.seen.decode(errors="replace")
    assert "Traceback" not in out and "crashed" not in out and "killed" not in out


@pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")
def test_sigint_reaches_a_background_chat(smollm_path: Path) -> None:
    """A shell starts a background job with SIGINT ignored; `kill -INT` must still stop it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "chat", str(smollm_path), "--prompt", PROMPT, *STORY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.read(40)  # the reply has begun
        assert first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert b"Traceback" not in err
        assert len((first + out).split()) >= 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- reasoning: a template whose generation prompt opens a think block -------------------------

THINK_ARGS = ("-p", "What is 2+2?", "--max-tokens", "24", "--temperature", "0", "--ctx", "512")


@pytest.fixture
def thinking_model(smollm_path: Path, tmp_path: Path) -> Path:
    from tests.gguf_factory import with_chat_template

    return with_chat_template(smollm_path, tmp_path / "think.gguf", OPENS_THINKING)


def test_json_gives_thinking_apart_from_the_reply(thinking_model: Path) -> None:
    proc = hearth("chat", str(thinking_model), *THINK_ARGS, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    # The reply starts inside the think block: everything up to </think> is thinking.
    assert data["reasoning"] and data["reasoning"] == data["reasoning"].strip()
    assert 0 < data["reasoning_tokens"] <= data["completion_tokens"]
    if "</think>" not in data["reasoning"] and not data["reply"]:
        assert data["reasoning_tokens"] == data["completion_tokens"]
    for text in (data["reply"], data["reasoning"]):
        assert "<think>" not in text and "</think>" not in text


def test_a_model_that_does_not_think_has_no_reasoning(smollm_path: Path) -> None:
    proc = hearth("chat", str(smollm_path), *THINK_ARGS, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["reasoning"] is None and data["reasoning_tokens"] == 0
    assert data["reply"].strip()


def test_plain_output_shows_thinking_or_leaves_it_out(thinking_model: Path) -> None:
    reasoning = json.loads(hearth("chat", str(thinking_model), *THINK_ARGS, "--json").stdout)[
        "reasoning"
    ]
    shown = hearth("chat", str(thinking_model), *THINK_ARGS)
    assert shown.returncode == 0, shown.stderr
    assert reasoning in shown.stdout
    assert "\x1b[" not in shown.stdout  # not a terminal: no escape codes
    hidden = hearth("chat", str(thinking_model), *THINK_ARGS, "--no-thinking")
    assert hidden.returncode == 0, hidden.stderr
    assert reasoning[:20] not in hidden.stdout


def test_thinking_is_dimmed_on_a_terminal(thinking_model: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "chat", str(thinking_model), *THINK_ARGS],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    text = out.decode("utf-8", errors="replace")
    assert "\x1b[2m" in text and "\x1b[0m" in text


# -- the thinking switch: a Qwen3-style template writes an empty think block when it is off -----


def test_think_off_gives_an_answer_without_thinking(smollm_path: Path, tmp_path: Path) -> None:
    from tests.gguf_factory import with_chat_template

    model = with_chat_template(smollm_path, tmp_path / "q3.gguf", QWEN3_STYLE)
    on = json.loads(hearth("chat", str(model), *THINK_ARGS, "--json", "--think", "on").stdout)
    off = json.loads(hearth("chat", str(model), *THINK_ARGS, "--json", "--think", "off").stdout)
    assert on["reasoning"] and on["reasoning_tokens"] > 0
    assert off["reasoning"] is None and off["reasoning_tokens"] == 0 and off["reply"]
    assert off["prompt_tokens"] > on["prompt_tokens"]  # the empty think block


def test_template_options_the_model_does_not_take_are_refused(smollm_path: Path) -> None:
    for flag in (("--think", "off"), ("--reasoning-effort", "high")):
        proc = hearth("chat", str(smollm_path), "-p", "hi", *flag)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and flag[0] in lines[0] and "Traceback" not in proc.stderr
    bad = hearth("chat", str(smollm_path), "-p", "hi", "--reasoning-effort", "max")
    assert bad.returncode == 2
