"""Typed application settings, stored as versioned JSON with migrations."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        version = int(data.get("version", 1))
        if version > SETTINGS_VERSION:
            raise ValueError(
                f"settings were written by a newer Hearth (version {version}); "
                f"this one reads up to {SETTINGS_VERSION}"
            )
        while version < SETTINGS_VERSION:
            data = MIGRATIONS[version](dict(data))
            version += 1
        theme = data.get("theme", "system")
        return cls(
            models_dir=str(data.get("models_dir") or ""),
            theme=theme if theme in THEMES else "system",
            system_prompt=str(data.get("system_prompt") or ""),
            last_model=data.get("last_model"),
            recent_models=[str(p) for p in data.get("recent_models") or []],
            known_folders_offered=bool(data.get("known_folders_offered", False)),
            hub_endpoint=str(data.get("hub_endpoint") or ""),
            proxy=str(data.get("proxy") or ""),
            load=LoadOptions.from_dict(data.get("load")),
            sampling=SamplingOptions.from_dict(data.get("sampling")),
        )


def load_settings(path: Path | None = None) -> tuple[Settings, str | None]:
    """Read settings; on a damaged file keep a copy aside and return defaults with a warning."""
    path = path or paths.settings_path()
    if not path.exists():
        return Settings(), None
    try:
        return Settings.from_dict(json.loads(path.read_text(encoding="utf-8"))), None
    except (OSError, ValueError, TypeError, OptionError) as exc:
        backup = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, backup)
        except OSError:
            backup = path
        return (
            Settings(),
            f"Settings could not be read ({exc}); defaults are in use. The old file is kept at {backup}.",
        )


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically: a crash mid-write never leaves a half-written settings file."""
    path = path or paths.settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(settings.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
