"""Typed application settings, stored as versioned JSON with migrations."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from app.core import paths
from app.core.options import LoadOptions, OptionError, SamplingOptions

SETTINGS_VERSION = 1
THEMES = ("system", "light", "dark")

# MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict. Add one with every
# change of meaning or shape of a stored field, and raise SETTINGS_VERSION.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass
class Settings:
    models_dir: str = ""  # empty: the app's own folder in the platform data dir
    theme: str = "system"
    system_prompt: str = ""
    last_model: str | None = None
    recent_models: list[str] = field(default_factory=list)
    known_folders_offered: bool = False  # the first-run offer of other apps' model folders
    hub_endpoint: str = ""  # empty: HF_ENDPOINT from the environment, else huggingface.co
    proxy: str = ""  # empty: the system's (HTTPS_PROXY and friends)
    load: LoadOptions = field(default_factory=LoadOptions)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)

    def models_path(self) -> Path:
        return Path(self.models_dir).expanduser() if self.models_dir else paths.default_models_dir()

    def remember_model(self, path: str, keep: int = 12) -> None:
        self.last_model = path
        self.recent_models = [path, *[p for p in self.recent_models if p != path][: keep - 1]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SETTINGS_VERSION,
            "models_dir": self.models_dir,
            "theme": self.theme,
            "system_prompt": self.system_prompt,
            "last_model": self.last_model,
            "recent_models": list(self.recent_models),
            "known_folders_offered": self.known_folders_offered,
            "hub_endpoint": self.hub_endpoint,
            "proxy": self.proxy,
            "load": self.load.to_dict(),
            "sampling": self.sampling.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Read a settings dict; raises ValueError on the first field that is not usable."""
        settings, problems = cls.read(data)
        if problems:
            raise ValueError("; ".join(problems))
        return settings

    @classmethod
    def read(cls, data: Any) -> tuple[Settings, list[str]]:
        """Read what is usable of ``data``: a field of the wrong type or value keeps its default
        and is named in the returned problems. Raises ValueError when ``data`` is not settings at
        all (not an object, or written by a newer Hearth)."""
        if not isinstance(data, dict):
            raise ValueError(f"it holds {type(data).__name__} instead of an object of settings")
        version = data.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"its version is {version!r}")
        if version > SETTINGS_VERSION:
            raise ValueError(
                f"settings were written by a newer Hearth (version {version}); "
                f"this one reads up to {SETTINGS_VERSION}"
            )
        while version < SETTINGS_VERSION:
            data = MIGRATIONS[version](dict(data))
            version += 1
        problems: list[str] = []
        defaults = cls()
        values: dict[str, Any] = {}
        for name, check in _FIELDS.items():
            if name not in data:
                continue
            value = data[name]
            if check(value):
                values[name] = list(value) if isinstance(value, list) else value
            else:
                problems.append(f"{name} was {_show(value)}")
        bad: list[str] = []
        if "load" in data:
            values["load"], bad = _read_options(LoadOptions, data["load"])
            problems.extend(f"load {b}" if b.startswith("was ") else b for b in bad)
        if "sampling" in data:
            values["sampling"], bad = _read_options(SamplingOptions, data["sampling"])
            problems.extend(f"sampling {b}" if b.startswith("was ") else b for b in bad)
        return dataclasses.replace(defaults, **values), problems


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


# How each plain field is checked; a field that fails keeps its default.
_FIELDS: dict[str, Callable[[Any], bool]] = {
    "models_dir": _is_str,
    "theme": lambda v: v in THEMES,
    "system_prompt": _is_str,
    "last_model": lambda v: v is None or isinstance(v, str),
    "recent_models": lambda v: isinstance(v, list) and all(isinstance(p, str) for p in v),
    "known_folders_offered": lambda v: isinstance(v, bool),
    "hub_endpoint": _is_str,
    "proxy": _is_str,
}

OptionsT = TypeVar("OptionsT", LoadOptions, SamplingOptions)


def _read_options(kind: type[OptionsT], data: Any) -> tuple[OptionsT, list[str]]:
    """Options from ``data`` one key at a time: a bad key keeps its default."""
    options = kind()
    if not isinstance(data, dict):
        return options, [f"was {_show(data)}"]
    problems = []
    defaults = options.to_dict()
    for key, value in data.items():
        if key not in defaults:
            continue  # written by a newer Hearth
        if isinstance(defaults[key], bool) and not isinstance(value, bool):
            problems.append(f"{key} was {_show(value)}")
            continue
        try:
            options = options.merged({key: value})
        except (OptionError, TypeError) as exc:
            problems.append(f"{key} was {_show(value)} ({exc})")
    return options, problems


_warnings: list[str] = []


def take_warnings() -> list[str]:
    """The warnings ``load_settings`` gave since the last call (for the command line to print
    once, however many times a command reads the settings)."""
    out = list(dict.fromkeys(_warnings))  # a file that could not be repaired warns each read
    _warnings.clear()
    return out


def load_settings(path: Path | None = None) -> tuple[Settings, str | None]:
    """Read settings; a damaged file is kept aside and what was readable of it is used.

    Returns the settings and a warning for the user (None when the file was whole). A file that
    is not settings at all gives defaults; a file with some unusable fields keeps the others and
    is rewritten with them, so the warning is given once.
    """
    path = path or paths.settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings(), None
    except (OSError, ValueError) as exc:
        return _set_aside(path, Settings(), f"Settings could not be read ({exc})", move=True)
    paths.private_file(path, create=False)
    try:
        settings, problems = Settings.read(json.loads(text))
    except ValueError as exc:
        return _set_aside(path, Settings(), f"Settings could not be read ({exc})", move=True)
    if not problems:
        return settings, None
    return _set_aside(
        path,
        settings,
        "Some settings could not be read and are back to their defaults: " + "; ".join(problems),
        move=False,
    )


def _set_aside(path: Path, settings: Settings, what: str, move: bool) -> tuple[Settings, str]:
    backup = paths.damaged_name(path)
    try:
        if move:
            os.replace(path, backup)
            what += "; defaults are in use"
        else:
            shutil.copyfile(path, backup)
            save_settings(settings, path)  # the readable fields, so the next start is quiet
        os.chmod(backup, 0o600)
        where = f"The old file is kept at {backup}."
    except OSError:
        where = f"The file at {path} is left as it is."
    warning = f"{what}. {where}"
    _warnings.append(warning)
    return settings, warning


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically (a crash mid-write never leaves a half-written file), readable only by
    the user."""
    path = path or paths.settings_path()
    paths.private_dir(path.parent)
    paths.write_private(path, json.dumps(settings.to_dict(), indent=2) + "\n")


class SettingsWriter:
    """Saves settings on one thread, one save after another in the order they were asked for, so
    an older snapshot never replaces a newer one on disk.

    ``save`` takes a snapshot at once and returns; ``on_error(exc)`` is called on the writer's
    thread; ``close`` writes what is queued, then ends the thread.
    """

    def __init__(
        self,
        path: Path | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._path = path
        self._on_error = on_error
        self._jobs: queue.Queue[Settings | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="settings-writer", daemon=True)
        self._thread.start()

    def save(self, settings: Settings) -> None:
        self._jobs.put(Settings.from_dict(settings.to_dict()))

    def _run(self) -> None:
        while (snapshot := self._jobs.get()) is not None:
            try:
                save_settings(snapshot, self._path)
            except Exception as exc:
                if self._on_error is not None:
                    self._on_error(exc)

    def close(self, timeout: float = 5.0) -> None:
        self._jobs.put(None)
        self._thread.join(timeout)
