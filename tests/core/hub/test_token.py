"""The Hugging Face token: stored in the OS keyring (a real Secret Service here) or a 0600 file,
``HF_TOKEN`` from the environment when nothing is stored, and sent to the Hub with requests."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.core.hub import token as secrets
from app.core.hub.client import open_hub
from tests.hub_server import GEMMA_REPO

REPO_ROOT = Path(__file__).resolve().parents[3]


def _gated_download(hub_server, folder: Path) -> Path:
    """Gemma (gated on the local Hub) fetched with the client the app makes: its stored token,
    else HF_TOKEN."""
    hub = open_hub(hub_server.url)
    files = hub.repo(GEMMA_REPO)
    return hub.download(hub.jobs_for(files, files.groups[0], folder)[0])


def _file_requests(hub_server) -> list[tuple[str, str | None]]:
    """The file requests the server saw (resolve and CDN), each with its Authorization header."""
    st = hub_server.state
    return [
        (line, auth)
        for line, auth in zip(st.requests, st.request_auth, strict=True)
        if "/resolve/" in line or "/cdn/" in line
    ]


def test_hf_token_is_used_when_nothing_is_stored(hub_server, gemma_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", hub_server.state.token)
    assert secrets.load_token() == hub_server.state.token
    assert secrets.token_source() == "HF_TOKEN"
    path = _gated_download(hub_server, tmp_path)
    assert path.read_bytes()[:4] == b"GGUF" and path.stat().st_size == gemma_path.stat().st_size
    sent = _file_requests(hub_server)
    resolve = [auth for line, auth in sent if "/resolve/" in line]
    assert resolve and set(resolve) == {f"Bearer {hub_server.state.token}"}
    # The redirect goes to another host (the Hub's CDN): the token is not sent there.
    assert [auth for line, auth in sent if "/cdn/" in line] == [None]


def test_a_stored_token_wins_over_hf_token(hub_server, gemma_path, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_from_the_environment")
    secrets.save_token(hub_server.state.token)
    assert secrets.load_token() == hub_server.state.token
    assert secrets.token_source() == str(secrets._file())
    _gated_download(hub_server, tmp_path)
    assert "Bearer hf_from_the_environment" not in hub_server.state.request_auth
    assert f"Bearer {hub_server.state.token}" in hub_server.state.request_auth

    secrets.forget_token()  # nothing stored: the environment's token again
    assert secrets.load_token() == "hf_from_the_environment"
    assert secrets.token_source() == "HF_TOKEN"


def test_without_a_keyring_the_token_is_a_file_only_the_user_can_read(hearth_home):
    old_umask = os.umask(0)  # a permissive umask must not widen the file's mode
    try:
        where = secrets.save_token("  hf_first\n")
    finally:
        os.umask(old_umask)
    path = hearth_home / "config" / "hf_token"
    assert where == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secrets.load_token() == "hf_first"

    path.chmod(0o644)  # a file someone widened: a new token narrows it again
    secrets.save_token("hf_second")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "hf_second\n" and secrets.load_token() == "hf_second"

    secrets.forget_token()
    assert not path.exists() and secrets.load_token() is None


# The real `hearth token` commands inside a private D-Bus session with an unlocked
# gnome-keyring, the Secret Service a Linux desktop has.
_IN_KEYRING_SESSION = """
echo -n test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
{python} -m app token set <<EOF
hf_in_the_keyring
EOF
echo "file: $(cat "$HEARTH_HOME/config/hf_token" 2>/dev/null || echo none)"
echo "status: $({python} -m app token)"
echo "secret-tool: $(secret-tool lookup service Hearth username huggingface-token)"
{python} -c 'from app.core.hub.token import load_token; print("loaded:", load_token())'
{python} -m app token forget >/dev/null
echo "after forget: $(secret-tool lookup service Hearth username huggingface-token)"
"""


def _missing_secret_service() -> str | None:
    tools = ("dbus-run-session", "gnome-keyring-daemon", "secret-tool")
    missing = [t for t in tools if shutil.which(t) is None]
    if not missing:
        return None
    return f"{', '.join(missing)} not installed (packaging/bootstrap.py test installs them as root)"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Secret Service is Linux's")
def test_the_token_goes_to_a_real_secret_service_and_not_to_a_file(hearth_home, tmp_path):
    why = _missing_secret_service()
    if why:
        pytest.skip(why)
    token_file = hearth_home / "config" / "hf_token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text("hf_older_in_a_file\n")  # from before there was a keyring
    env = dict(os.environ)
    env.pop("PYTHON_KEYRING_BACKEND")  # keyring finds the Secret Service itself, as for users
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    (tmp_path / "run").mkdir(mode=0o700)
    script = textwrap.dedent(_IN_KEYRING_SESSION).format(python=sys.executable)
    proc = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=REPO_ROOT,
    )
    out = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out[0] == "token saved in the OS keyring", proc.stdout + proc.stderr
    assert out[1:] == [
        "file: none",  # not written to the file, and the older file token is gone
        "status: a token is set (OS keyring)",
        "secret-tool: hf_in_the_keyring",  # read back by another program, from the keyring
        "loaded: hf_in_the_keyring",
        "after forget: ",
    ]
    assert not token_file.exists()
    assert "hf_in_the_keyring" not in "".join(
        p.read_text(errors="replace") for p in hearth_home.rglob("*") if p.is_file()
    )
