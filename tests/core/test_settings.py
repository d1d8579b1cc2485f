"""Typed settings: defaults, round trip, damaged files and validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core import paths
from app.core.options import LoadOptions, OptionError, SamplingOptions, split_overrides
from app.core.settings import SETTINGS_VERSION, Settings, load_settings, save_settings


def test_defaults_and_round_trip(hearth_home: Path) -> None:
    s, warning = load_settings()
    assert warning is None
    assert s.load.n_ctx == 4096 and s.sampling.temperature == 0.7
    s.theme = "dark"
    s.load = s.load.merged({"n_ctx": 8192, "kv_type": "q8_0"})
    s.remember_model("/m/a.gguf")
    s.remember_model("/m/b.gguf")
    s.remember_model("/m/a.gguf")
    save_settings(s)
    assert paths.settings_path().is_relative_to(hearth_home)
    again, _ = load_settings()
    assert again.theme == "dark" and again.load.n_ctx == 8192 and again.load.kv_type == "q8_0"
    assert again.recent_models == ["/m/a.gguf", "/m/b.gguf"]
    assert json.loads(paths.settings_path().read_text())["version"] == SETTINGS_VERSION


def test_damaged_file_is_kept_aside(hearth_home: Path) -> None:
    paths.settings_path().write_text("{ not json")
    s, warning = load_settings()
    assert s == Settings()
    assert warning is not None and "defaults are in use" in warning
    assert list(paths.settings_path().parent.glob("settings.json.damaged-*"))


def test_newer_version_is_not_misread(hearth_home: Path) -> None:
    paths.settings_path().write_text(json.dumps({"version": SETTINGS_VERSION + 5}))
    _s, warning = load_settings()
    assert warning is not None and "newer Hearth" in warning


def test_unknown_keys_are_ignored() -> None:
    assert LoadOptions.from_dict({"n_ctx": 1024, "from_the_future": 1}).n_ctx == 1024


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_ctx": 0}, "context length"),
        ({"n_ctx": -5}, "context length"),
        ({"kv_type": "q3"}, "KV cache type"),
        ({"kv_type": "q8_0", "flash_attn": "off"}, "flash attention"),
        ({"n_threads": "four"}, "whole number"),
    ],
)
def test_bad_load_options(options: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        LoadOptions.from_dict(options)


def test_bad_sampling_and_overrides() -> None:
    with pytest.raises(OptionError, match="temperature"):
        SamplingOptions().merged({"temperature": 9})
    load, samp = split_overrides({"n_ctx": 2048, "temperature": 0.1, "nonsense": 1})
    assert load == {"n_ctx": 2048} and samp == {"temperature": 0.1}
