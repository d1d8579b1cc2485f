"""Other apps' model folders found on this machine."""

from __future__ import annotations

from pathlib import Path

from app.core.library.folders import known_folders


def test_known_folders(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".lmstudio" / "models").mkdir(parents=True)
    (home / ".cache" / "huggingface" / "hub").mkdir(parents=True)
    (home / ".local" / "share" / "nomic.ai" / "GPT4All").mkdir(parents=True)
    found = known_folders(home, env={})
    assert [(f.label, f.path.relative_to(home).as_posix()) for f in found] == [
        ("LM Studio", ".lmstudio/models"),
        ("Hugging Face cache", ".cache/huggingface/hub"),
        ("GPT4All", ".local/share/nomic.ai/GPT4All"),
    ]
    custom = tmp_path / "hfcache"
    custom.mkdir()
    assert custom in {f.path for f in known_folders(home, env={"HF_HUB_CACHE": str(custom)})}
