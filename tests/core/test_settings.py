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


@pytest.mark.parametrize("text", ["[1, 2, 3]", "null", '"a string"', "5", "true"])
def test_valid_json_of_the_wrong_type_is_set_aside(hearth_home: Path, text: str) -> None:
    paths.settings_path().write_text(text)
    s, warning = load_settings()
    assert s == Settings()
    assert warning is not None and "defaults are in use" in warning
    aside = list(paths.settings_path().parent.glob("settings.json.damaged-*"))
    assert [p.read_text() for p in aside] == [text]
    assert str(aside[0]) in warning
    again, warning = load_settings()  # said once: the next start is quiet
    assert again == Settings() and warning is None


def test_wrongly_typed_fields_fall_back_and_the_rest_is_kept(hearth_home: Path) -> None:
    good = Settings(theme="dark", system_prompt="Be kind", proxy="http://p:3128")
    good.remember_model("/m/a.gguf")
    data = good.to_dict()
    data.update(
        load=5,
        sampling={"temperature": 0.3, "top_k": "many", "max_tokens": 100},
        recent_models="not a list",
        known_folders_offered="yes",
        models_dir=["x"],
        hub_endpoint=None,
    )
    original = json.dumps(data)
    paths.settings_path().write_text(original)
    s, warning = load_settings()
    assert (s.theme, s.system_prompt, s.proxy, s.last_model) == (
        "dark",
        "Be kind",
        "http://p:3128",
        "/m/a.gguf",
    )
    assert s.load == LoadOptions()
    assert (s.sampling.temperature, s.sampling.max_tokens) == (0.3, 100)
    assert s.sampling.top_k == SamplingOptions().top_k
    assert (s.recent_models, s.known_folders_offered, s.models_dir, s.hub_endpoint) == (
        [],
        False,
        "",
        "",
    )
    assert warning is not None
    for name in ("load", "top_k", "recent_models", "known_folders_offered", "models_dir"):
        assert name in warning
    # The damaged file is kept as it was; the repaired settings are saved in its place.
    aside = list(paths.settings_path().parent.glob("settings.json.damaged-*"))
    assert [p.read_text() for p in aside] == [original]
    again, warning = load_settings()
    assert warning is None and again == s


def test_damage_warning_is_kept_for_the_command_line(hearth_home: Path) -> None:
    from app.core.settings import take_warnings

    take_warnings()
    paths.settings_path().write_text("[1, 2, 3]")
    load_settings()
    load_settings()
    warnings = take_warnings()
    assert len(warnings) == 1 and "defaults are in use" in warnings[0]
    assert take_warnings() == []


def test_damaged_copies_made_in_the_same_second_are_all_kept(hearth_home: Path) -> None:
    for text in ("[1]", "[2]", "[3]"):
        paths.settings_path().write_text(text)
        load_settings()
    aside = sorted(paths.settings_path().parent.glob("settings.json.damaged-*"))
    assert sorted(p.read_text() for p in aside) == ["[1]", "[2]", "[3]"]
