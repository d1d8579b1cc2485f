"""`hearth list`, `inspect`, `library add-folder` and `import`, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import gguf_factory as F
from tests.cli import hearth

INSPECT_FIELDS = {
    "path",
    "valid",
    "error",
    "architecture",
    "name",
    "parameters",
    "quant",
    "bits_per_weight",
    "file_size",
    "context_length",
    "block_count",
    "embedding_length",
    "head_count",
    "head_count_kv",
    "sliding_window",
    "has_chat_template",
    "tensor_types",
    "parts",
}


def test_inspect_json(smollm_path: Path, gemma_path: Path) -> None:
    proc = hearth("inspect", str(smollm_path), "--json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert set(d) >= INSPECT_FIELDS
    assert (d["valid"], d["error"], d["architecture"], d["quant"]) == (True, None, "llama", "Q4_1")
    assert d["parameters"] == 134_515_008 and isinstance(d["parameters"], int)
    assert d["file_size"] == smollm_path.stat().st_size
    assert (d["context_length"], d["block_count"], d["embedding_length"]) == (8192, 30, 576)
    assert (d["head_count"], d["head_count_kv"], d["sliding_window"]) == (9, 3, None)
    assert d["has_chat_template"] is True
    assert d["tensor_types"] == {"Q4_1": 66_355_200, "Q8_0": 30_081_024, "F32": 140_544}
    assert d["parts"] == [str(smollm_path)]
    g = json.loads(hearth("inspect", str(gemma_path), "--json").stdout)
    assert (g["sliding_window"], g["has_chat_template"], g["quant"]) == (512, False, "Q4_K_M")


def test_inspect_text(gemma_path: Path) -> None:
    proc = hearth("inspect", str(gemma_path))
    assert proc.returncode == 0, proc.stderr
    assert "gemma3" in proc.stdout and "sliding window: 512" in proc.stdout


def test_inspect_bad_file(tmp_path: Path) -> None:
    bad = F.write(tmp_path / "half.gguf", F.small_model_bytes()[:-200])
    proc = hearth("inspect", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "download is incomplete" in proc.stderr
    proc = hearth("inspect", str(bad), "--json")
    assert proc.returncode == 2
    d = json.loads(proc.stdout)
    assert d["valid"] is False and "download is incomplete" in d["error"]


def test_add_folder_list_and_import(tmp_path: Path, smollm_path: Path, hearth_home: Path) -> None:
    folder = tmp_path / "Downloads"
    folder.mkdir()
    os.link(smollm_path, folder / "SmolLM2-135M-Instruct.Q4_1.gguf")
    F.write(folder / "broken.gguf", b"not a model" * 10)
    proc = hearth("library", "add-folder", str(folder))
    assert proc.returncode == 0 and "2 model(s)" in proc.stdout
    listed = json.loads(hearth("list", "--json").stdout)
    by_name = {Path(d["path"]).name: d for d in listed}
    assert by_name["SmolLM2-135M-Instruct.Q4_1.gguf"]["status"] == "ok"
    assert (
        by_name["broken.gguf"]["status"] == "invalid" and by_name["broken.gguf"]["valid"] is False
    )
    assert "not a GGUF model" in by_name["broken.gguf"]["error"]
    text = hearth("list").stdout
    assert "SmolLM2-135M-Instruct.Q4_1" in text and "invalid" in text

    extra = F.write(tmp_path / "single-Q8_0.gguf", F.small_model_bytes())
    assert hearth("import", str(extra)).returncode == 0  # kept in place
    copied = F.write(tmp_path / "copied-Q8_0.gguf", F.small_model_bytes())
    proc = hearth("import", str(copied), "--copy")
    assert proc.returncode == 0, proc.stderr
    placed = Path(proc.stdout.split("imported ", 1)[1].strip())
    assert (
        placed.exists() and (hearth_home / "data" / "models") in placed.parents and copied.exists()
    )
    names = {Path(d["path"]).name for d in json.loads(hearth("list", "--json").stdout)}
    assert names == {
        "SmolLM2-135M-Instruct.Q4_1.gguf",
        "broken.gguf",
        "single-Q8_0.gguf",
        "copied-Q8_0.gguf",
    }
    shutil.rmtree(folder)
    after = {Path(d["path"]).name: d["status"] for d in json.loads(hearth("list", "--json").stdout)}
    assert after["SmolLM2-135M-Instruct.Q4_1.gguf"] == "missing"
    assert hearth("import", str(tmp_path / "nope.gguf")).returncode == 2


def test_add_folder_that_is_not_there(tmp_path: Path) -> None:
    proc = hearth("library", "add-folder", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "is not a folder" in proc.stderr


def test_a_fifo_named_gguf_hangs_nothing(tmp_path: Path) -> None:
    """`inspect`, `add-folder` and `list` with a FIFO among the models: a reason, no hang."""
    folder = tmp_path / "models"
    folder.mkdir()
    os.mkfifo(folder / "x.gguf")
    F.write(folder / "good.gguf", F.small_model_bytes())
    proc = hearth("inspect", str(folder / "x.gguf"), timeout=30)
    assert proc.returncode == 2
    assert (
        proc.stderr
        == f"hearth: error: cannot read {folder / 'x.gguf'}: it is a named pipe (FIFO), not a model file\n"
    )
    proc = hearth("library", "add-folder", str(folder), timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "1 model(s)" in proc.stdout
    proc = hearth("list", "--json", timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert [Path(e["path"]).name for e in json.loads(proc.stdout)] == ["good.gguf"]


def test_header_strings_reach_the_terminal_without_escapes(tmp_path: Path) -> None:
    evil = "\x1b]0;owned\x07\x1b[2J\x1b[?1049h\x9b31m"
    kvs = [
        F.kv("general.architecture", F.STRING, "llama"),
        F.kv("general.name", F.STRING, f"Evil{evil}Model"),
        F.kv("general.license", F.STRING, f"mit{evil}"),
        F.kv("llama.context_length", F.U32, 512),
        F.kv("llama.block_count", F.U32, 1),
    ]
    head = F.header(kvs, [F.tensor("a.weight", (256,), F.F16_TYPE, 0)])
    folder = tmp_path / "models"
    folder.mkdir()
    model = F.write(folder / f"file{evil}.gguf", head + b"\0" * ((-len(head)) % 32) + b"\1" * 512)
    proc = hearth("inspect", str(model))
    assert proc.returncode == 0, proc.stderr
    assert "Evil]0;owned[2J[?1049h31mModel" in proc.stdout
    assert hearth("library", "add-folder", str(folder)).returncode == 0
    proc = hearth("list")
    assert proc.returncode == 0, proc.stderr
    assert "file]0;owned[2J[?1049h31m" in proc.stdout  # the file name, cleaned too
    for out in (hearth("inspect", str(model)).stdout, proc.stdout):
        assert not any(c in out for c in "\x1b\x07\x9b")
    data = json.loads(hearth("inspect", str(model), "--json").stdout)
    assert data["name"] == "Evil]0;owned[2J[?1049h31mModel"  # JSON carries the cleaned name


def test_a_damaged_library_index_is_rebuilt(tmp_path: Path, hearth_home: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    F.write(folder / "good.gguf", F.small_model_bytes())
    assert hearth("library", "add-folder", str(folder)).returncode == 0
    index = hearth_home / "data" / "library.sqlite3"
    raw = bytearray(index.read_bytes())
    raw[:100] = b"\xff" * 100
    index.write_bytes(bytes(raw))
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    proc = hearth("list")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "index was damaged and has been rebuilt" in proc.stderr
    proc = hearth("list")
    assert proc.returncode == 0 and proc.stderr == ""


def test_settings_of_the_wrong_shape_are_said_once_and_every_command_runs(
    hearth_home: Path,
) -> None:
    settings = hearth_home / "config" / "settings.json"
    for damaged in ("[1, 2, 3]", "null", '{"load": 5, "theme": "dark"}'):
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(damaged)
        proc = hearth("list")
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("hearth: ") and "ettings" in lines[0]
        assert hearth("list").stderr == ""  # set aside or repaired: said once
    assert len(list(settings.parent.glob("settings.json.damaged-*"))) == 3


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_library_index_is_private(hearth_home: Path) -> None:
    proc = subprocess.run(
        ["sh", "-c", f'umask 022 && exec "{sys.executable}" -m app list'],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("library.sqlite3", "library.sqlite3-wal"):
        path = hearth_home / "data" / name
        if path.exists():
            assert path.stat().st_mode & 0o777 == 0o600, name
    assert (hearth_home / "data").stat().st_mode & 0o777 == 0o700
