"""The Hugging Face token: in the OS keyring where there is one, else in a file only the user can read."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.core import paths

SERVICE, ACCOUNT = "Hearth", "huggingface-token"


def _file() -> Path:
    return paths.config_dir() / "hf_token"


def _keyring():
    try:
        import keyring
        from keyring.backends import fail

        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None
        return keyring
    except Exception:  # no usable backend (no Secret Service, no D-Bus): use the file
        return None


def save_token(token: str) -> str:
    """Store the token; returns where it went ("keyring" or the file's path)."""
    token = token.strip()
    kr = _keyring()
    if kr is not None:
        try:
            kr.set_password(SERVICE, ACCOUNT, token)
            if kr.get_password(SERVICE, ACCOUNT) == token:  # a null backend keeps nothing
                _file().unlink(missing_ok=True)
                return "the OS keyring"
        except Exception:
            pass
    path = _file()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):  # narrowed before the token goes in, if it was made wider
        os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return str(path)


def load_token() -> str | None:
    """The stored token, else HF_TOKEN from the environment, else None."""
    kr = _keyring()
    if kr is not None:
        try:
            token = kr.get_password(SERVICE, ACCOUNT)
            if token:
                return token
        except Exception:
            pass
    path = _file()
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    return os.environ.get("HF_TOKEN") or None


def forget_token() -> None:
    kr = _keyring()
    if kr is not None:
        try:
            kr.delete_password(SERVICE, ACCOUNT)
        except Exception:
            pass
    _file().unlink(missing_ok=True)


def token_source() -> str | None:
    """Where the token in use comes from ("keyring", the file, "HF_TOKEN"), or None."""
    kr = _keyring()
    if kr is not None:
        try:
            if kr.get_password(SERVICE, ACCOUNT):
                return "OS keyring"
        except Exception:
            pass
    path = _file()
    if path.exists() and path.read_text(encoding="utf-8").strip():
        return str(path)
    return "HF_TOKEN" if os.environ.get("HF_TOKEN") else None
