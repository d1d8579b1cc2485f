"""The layout rules: Qt only in app.ui, llama_cpp only in app.engine, core depends on neither."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 kept, 0 broken" in proc.stdout


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_the_gui_process_never_loads_llama_cpp() -> None:
    mods = _modules_after("import app.ui.app, app.ui.main_window, app.engine.client")
    assert "PySide6.QtWidgets" in mods
    assert not any(m == "llama_cpp" or m.startswith("llama_cpp.") for m in mods)


def test_core_and_cli_never_load_qt() -> None:
    mods = _modules_after(
        "import app.cli, app.core.chat.store, app.core.gguf.header, app.core.chat.template"
    )
    assert not any(m.startswith("PySide6") for m in mods)
    assert not any(m.startswith("llama_cpp") for m in mods)


def test_code_is_linted() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run(
        [str(ruff), "check", "app", "tests", "bench", "packaging"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout
