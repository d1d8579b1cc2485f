"""Hearth's folders and files are the user's alone (0700 / 0600), whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import paths
from app.core.chat.store import ChatStore
from app.core.fit import calibration
from app.core.settings import Settings, load_settings, save_settings


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_folders_are_private(hearth_home: Path) -> None:
    for folder in (
        paths.data_dir(),
        paths.config_dir(),
        paths.cache_dir(),
        paths.log_dir(),
        paths.default_models_dir(),
    ):
        assert mode(folder) == 0o700, folder


def test_existing_folders_hearth_owns_are_tightened(hearth_home: Path) -> None:
    (hearth_home / "data").mkdir(parents=True)
    os.chmod(hearth_home / "data", 0o755)
    assert mode(paths.data_dir()) == 0o700


def test_a_folder_the_user_chose_keeps_its_mode(hearth_home: Path, tmp_path: Path) -> None:
    models = tmp_path / "my-models"
    models.mkdir()
    os.chmod(models, 0o755)
    s = Settings(models_dir=str(models))
    assert s.models_path() == models
    assert mode(models) == 0o755


def test_chat_database_and_its_wal_are_private(hearth_home: Path) -> None:
    store = ChatStore(paths.chats_db_path())
    try:
        store.add_message(store.create_conversation("secret").id, "user", "my secret")
        db = paths.chats_db_path()
        for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert p.exists() and mode(p) == 0o600, p
    finally:
        store.close()


def test_an_existing_readable_database_is_tightened(hearth_home: Path) -> None:
    ChatStore(paths.chats_db_path()).close()
    os.chmod(paths.chats_db_path(), 0o644)
    ChatStore(paths.chats_db_path()).close()
    assert mode(paths.chats_db_path()) == 0o600


def test_settings_file_is_private(hearth_home: Path) -> None:
    save_settings(Settings(theme="dark"))
    assert mode(paths.settings_path()) == 0o600
    assert load_settings()[0].theme == "dark"
    assert not list(paths.config_dir().glob("*.tmp"))


def test_calibration_log_is_private(hearth_home: Path) -> None:
    calibration.record({"path": "/m/a.gguf", "buffers_mib": {"CPU KV": 10.0}})
    assert mode(paths.data_dir() / "calibration.jsonl") == 0o600


def test_crash_log_is_private(hearth_home: Path) -> None:
    messages = pytest.importorskip("app.ui.common.messages")
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        log = messages.write_crash_log(type(exc), exc, exc.__traceback__)
    assert log and mode(Path(log)) == 0o600


def test_write_private_replaces_atomically(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "x.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    paths.write_private(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600
    assert [p.name for p in folder.iterdir()] == ["x.json"]
