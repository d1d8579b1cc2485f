#!/usr/bin/env python3
"""Smoke test of the packaged Linux build: build it, run it, install the .deb into a folder.

    python3 packaging/smoke_test.py [--skip-build]
    HEARTH_BACKEND=vulkan python3 packaging/smoke_test.py       (the Vulkan build)

1. builds the bundle and the .deb (packaging/linux/build.sh) unless --skip-build;
2. runs the frozen app with a temporary data folder: --version, `hearth hw --json` (the build is
   the one asked for: the portable CPU one unless HEARTH_BACKEND=vulkan), and one chat message through the CLI with the bundled starter model;
3. opens the GUI offscreen and closes it (`hearth --exit-after 5`);
4. unpacks the .deb into a temporary root (dpkg -x) and checks that what the desktop entry
   names is there: the command, the app it points to, the icon at several sizes, the AppStream
   metainfo's launchable, the MIME type; then runs the unpacked app.

Exit 0 only if all of it holds. Not part of the test suite (it takes minutes): run it before a
release. Standard library only.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIST = REPO / "dist"
APP_ID = "io.hearth.Hearth"
failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> bool:
    print(f"[{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(what)
    return ok


def run(
    cmd: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


BACKEND = os.environ.get("HEARTH_BACKEND", "cpu-portable")
EXPECTED_BUILD = {"cpu-portable": "CPU", "vulkan": "Vulkan"}.get(BACKEND, BACKEND)


def frozen_app_checks(exe: Path, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEARTH_", "PYTHON"))}
    env["HEARTH_HOME"] = str(home)
    proc = run([str(exe), "--version"], env)
    check(proc.returncode == 0 and proc.stdout.startswith("hearth "), "--version", proc.stderr)

    proc = run([str(exe), "hw", "--json"], env)
    if check(proc.returncode == 0, "hearth hw --json", proc.stderr[-500:]):
        hw = json.loads(proc.stdout)
        check(
            hw.get("build_backend") == EXPECTED_BUILD,
            f"the bundle carries the {EXPECTED_BUILD} build",
            str(hw.get("build_backend")),
        )
    # A Vulkan build must use the system's loader, which finds the installed GPU drivers.
    bundled_loader = sorted(p.name for p in exe.parent.rglob("libvulkan.so*"))
    check(
        not bundled_loader, "the bundle leaves the Vulkan loader to the system", str(bundled_loader)
    )

    started = time.monotonic()
    proc = run(
        [
            str(exe),
            "chat",
            "smollm2",
            "--prompt",
            "Say hello in one short sentence.",
            "--max-tokens",
            "24",
            "--json",
        ],
        env,
    )
    if check(
        proc.returncode == 0, "one chat message with the bundled starter model", proc.stderr[-800:]
    ):
        reply = json.loads(proc.stdout)
        check(reply["completion_tokens"] > 0 and reply["reply"].strip() != "", "the reply has text")
        print(f"       reply ({time.monotonic() - started:.1f} s): {reply['reply'].strip()[:80]!r}")

    gui_env = dict(env, QT_QPA_PLATFORM="offscreen")
    proc = run([str(exe), "--exit-after", "5"], gui_env, timeout=120)
    check(
        proc.returncode == 0 and "the window was shown" in proc.stdout,
        "the GUI opens offscreen and closes",
        (proc.stdout + proc.stderr)[-800:],
    )


def deb_checks(deb: Path, root: Path) -> None:
    proc = subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True, text=True)
    if not check(proc.returncode == 0, f"dpkg -x {deb.name}", proc.stderr):
        return
    info = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True)
    check(
        "libxcb-cursor0" in info.stdout and "libgomp1" in info.stdout,
        "Depends names Qt's and llama.cpp's system libraries",
    )
    if BACKEND == "vulkan":
        check("libvulkan1" in info.stdout, "Depends names the Vulkan loader", info.stdout)

    desktop = root / "usr/share/applications" / f"{APP_ID}.desktop"
    if not check(desktop.is_file(), "the desktop entry is installed"):
        return
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(desktop)
    entry = parser["Desktop Entry"]
    command = entry["Exec"].split()[0]
    launcher = root / "usr/bin" / command if "/" not in command else root / command.lstrip("/")
    check(launcher.is_symlink() or launcher.is_file(), f"Exec's command {command} is in /usr/bin")
    target = os.readlink(launcher) if launcher.is_symlink() else str(launcher)
    app = root / target.lstrip("/")
    check(
        app.is_file() and os.access(app, os.X_OK),
        f"/usr/bin/{command} points at the app ({target})",
    )
    check(entry.get("TryExec") == command, "TryExec names the same command")
    icon = entry["Icon"]
    for size in ("48x48", "128x128", "256x256", "scalable"):
        ext = "svg" if size == "scalable" else "png"
        check(
            (root / "usr/share/icons/hicolor" / size / "apps" / f"{icon}.{ext}").is_file(),
            f"icon {icon} at {size}",
        )
    metainfo = root / "usr/share/metainfo" / f"{APP_ID}.metainfo.xml"
    text = metainfo.read_text() if metainfo.is_file() else ""
    check(
        f'<launchable type="desktop-id">{desktop.name}</launchable>' in text,
        "the metainfo launches this desktop entry",
    )
    check(
        re.search(r'<release version="[^@"]+" date="\d{4}-\d\d-\d\d"', text) is not None,
        "the metainfo has this release",
    )
    mime = entry.get("MimeType", "").rstrip(";")
    mime_file = root / "usr/share/mime/packages" / f"{APP_ID}.xml"
    check(mime_file.is_file() and mime in mime_file.read_text(), f"the MIME type {mime} is defined")
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HEARTH_HOME=home)
        proc = run([str(app), "--version"], env)
        check(proc.returncode == 0, "the unpacked app runs", proc.stderr[-500:])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--skip-build", action="store_true", help="test what dist/ holds")
    args = ap.parse_args(argv)
    if not args.skip_build:
        code = subprocess.call([str(REPO / "packaging/linux/build.sh")])
        if code != 0:
            print(f"smoke test: the build failed (exit code {code})")
            return 1
    exe = DIST / "hearth" / "hearth"
    debs = sorted(DIST.glob("hearth_*.deb"), key=lambda p: p.stat().st_mtime)
    if not check(exe.is_file(), f"the bundle is at {exe}") or not check(
        bool(debs), "a .deb is in dist/"
    ):
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        frozen_app_checks(exe, Path(tmp) / "home")
        deb_checks(debs[-1], Path(tmp) / "root")
    print(f"smoke test: {'FAILED: ' + ', '.join(failures) if failures else 'all checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
