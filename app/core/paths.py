"""Every folder and file location Hearth uses, from one place.

Platform folders come from platformdirs. ``HEARTH_HOME`` (or ``set_base_dir``, behind the
``--basedir`` option) puts everything under one folder instead: tests and portable installs use it.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"
_base_override: Path | None = None


def set_base_dir(path: str | os.PathLike[str] | None) -> None:
    """Keep all data, configuration and caches under ``path`` (None: platform folders)."""
    global _base_override
    _base_override = Path(path).expanduser().resolve() if path else None


def base_dir() -> Path | None:
    if _base_override is not None:
        return _base_override
    env = os.environ.get("HEARTH_HOME")
    return Path(env).expanduser().resolve() if env else None


def _dir(kind: str) -> Path:
    base = base_dir()
    if base is not None:
        path = base / kind
    elif kind == "data":
        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    elif kind == "cache":
        path = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    elif kind == "logs":
        path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    else:  # pragma: no cover - programming error
        raise ValueError(kind)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path:
    return _dir("data")


def config_dir() -> Path:
    return _dir("config")


def cache_dir() -> Path:
    return _dir("cache")


def log_dir() -> Path:
    return _dir("logs")


def default_models_dir() -> Path:
    """The app's own model folder, laid out ``<publisher>/<repo>/<file>.gguf``."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def chats_db_path() -> Path:
    return data_dir() / "chats.sqlite3"


def library_db_path() -> Path:
    return data_dir() / "library.sqlite3"


def settings_path() -> Path:
    return config_dir() / "settings.json"
