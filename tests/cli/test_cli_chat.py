"""`hearth chat` as a user runs it: a real process, the real engine, the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
