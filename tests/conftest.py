"""Shared fixtures: the real test models, an isolated Hearth home per test, a loaded engine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# Never a real keyring from tests: the token goes to its 0600 file, which tests can look at.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
os.environ.pop("HF_TOKEN", None)

SMOLLM = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA = "gemma-3-270m-Q4_K_M.gguf"


def _models_dir() -> Path:
    env = os.environ.get("HEARTH_TEST_MODELS")
    if env:
        return Path(env)
    root = os.environ.get("HEARTH_DEV_CACHE") or str(Path.home() / ".cache" / "hearth-dev")
    return Path(root) / "models"


MODELS_DIR = _models_dir()  # fixed before any test moves HOME


def _model(name: str) -> Path:
    path = MODELS_DIR / name
    if not path.exists():
        pytest.fail(
            f"test model {path} is missing: run the tests with `python3 packaging/bootstrap.py test`, "
            "which fetches it"
        )
    return path


@pytest.fixture(scope="session")
def smollm_path() -> Path:
    return _model(SMOLLM)


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    return _model(GEMMA)


@pytest.fixture(autouse=True)
def hearth_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data, config and cache folders."""
    from app.core import paths

    home = tmp_path / "hearth-home"
    monkeypatch.setenv("HEARTH_HOME", str(home))
    # Other apps' model folders are looked for under HOME: keep the real one out of tests.
    user_home = tmp_path / "user-home"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.delenv("HF_HOME", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    paths.set_base_dir(None)
    yield home
    paths.set_base_dir(None)


@pytest.fixture
def starter_installed(hearth_home: Path, smollm_path: Path) -> Path:
    """The starter model placed in the app's model folder, as set-up does."""
    from app.core.library import starter

    target = starter.target_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(smollm_path, target)  # same bytes, no 98 MB copy per test
    except OSError:
        shutil.copyfile(smollm_path, target)
    return target


@pytest.fixture(scope="module")
def smollm_engine(smollm_path: Path) -> Iterator[object]:
    """One worker with SmolLM2 loaded, shared by a module's tests."""
    from app.engine.client import BlockingEngine

    engine = BlockingEngine()
    engine.load(str(smollm_path), {"n_ctx": 2048})
    yield engine
    engine.close()


@pytest.fixture
def hub_server(
    smollm_path: Path, gemma_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[object]:
    """A local server speaking the Hub's HTTP API, serving the real test models; HF_ENDPOINT
    points at it."""
    from tests.gguf_factory import small_model_bytes
    from tests.hub_server import HubServer, add_standard_repos

    with HubServer() as srv:
        add_standard_repos(srv.state, smollm_path, gemma_path, small_model_bytes())
        monkeypatch.setenv("HF_ENDPOINT", srv.url)
        yield srv
