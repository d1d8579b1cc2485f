"""Every folder and file location Hearth uses, from one place.

Platform folders come from platformdirs. ``HEARTH_HOME`` (or ``set_base_dir``, behind the
``--basedir`` option) puts everything under one folder instead: tests and portable installs use it.

Hearth's folders are only the user's (0700) and so are the files it writes there (0600), whatever
the umask: conversations, settings and logs are private. ``private_dir``, ``private_file`` and
``write_private`` do that for every folder and file Hearth owns; folders the user chose (model
folders) keep their modes.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

import platformdirs

APP_NAME = "Hearth"
_base_override: Path | None = None
PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600
_tightened: set[Path] = set()  # folders already made private in this process


def _tighten(path: Path, mode: int) -> None:
    """Take group and other permissions off ``path`` if the user owns it."""
    try:
        st = path.stat()
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077 & 0o7777 | (mode & 0o700))
    except OSError:
        pass  # another user's or a read-only file system: nothing Hearth can change


def private_dir(path: Path) -> Path:
    """Create ``path`` (0700) with its missing parents, or make an existing one private."""
    path = Path(path)
    if path in _tightened and path.is_dir():
        return path
    missing = []
    parent = path
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass
    _tighten(path, PRIVATE_DIR)
    _tightened.add(path)
    return path


def private_file(path: Path, create: bool = True) -> Path:
    """Make ``path`` readable only by the user, creating it empty (0600) if it is missing and
    ``create``; call it before another library (SQLite) creates or opens the file."""
    path = Path(path)
    if create:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
            return path
        except FileExistsError:
            pass
    if path.exists():
        _tighten(path, PRIVATE_FILE)
    return path


def damaged_name(path: Path, companions: tuple[str, ...] = ()) -> Path:
    """Where to keep a damaged ``path`` aside: ``<name>.damaged-<date>-<time>``, numbered if that
    name (or one with a companion suffix such as ``-wal``) is taken."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in ("", *companions)):
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    return target


def write_private(path: Path, data: str | bytes, encoding: str = "utf-8") -> None:
    """Replace ``path`` with ``data`` atomically (a crash leaves the old file or the new one,
    never half of it); the file is 0600."""
    path = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp creates the file 0600
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
    return private_dir(path)


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
    return private_dir(data_dir() / "models")


def chats_db_path() -> Path:
    return data_dir() / "chats.sqlite3"


def library_db_path() -> Path:
    return data_dir() / "library.sqlite3"


def settings_path() -> Path:
    return config_dir() / "settings.json"
