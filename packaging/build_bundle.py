#!/usr/bin/env python3
"""Build the Hearth app bundle with PyInstaller (one folder): a Hearth that runs without Python.

    python3 packaging/build_bundle.py [--backend cpu-portable] [--no-model] [--dist DIR]

Steps: a build environment at build/venv-<backend> (kept between builds), llama-cpp-python
compiled for the backend once (cached with the development wheels, see native/), Hearth installed
into it (not editable), the starter model fetched and verified, then PyInstaller with
packaging/hearth.spec. The bundle lands in DIR/hearth (DIR defaults to dist/) on Linux and
Windows, and DIR/Hearth.app on macOS. Its size and the build time are printed at the end.

The starter model (SmolLM2-135M-Instruct Q4_1, 98 MB) is included unless --no-model is given,
so a fresh install can chat offline at first launch.

Standard library only, like bootstrap.py, which it uses for the shared steps.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bootstrap  # noqa: E402

PYINSTALLER = "pyinstaller==6.22.3"  # pinned: a bundle is reproducible with the same tool


def tree_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--backend", default="cpu-portable", help="a backend from native/backends.json")
    ap.add_argument("--no-model", action="store_true", help="leave the starter model out")
    ap.add_argument("--dist", default=str(bootstrap.REPO / "dist"), help="output folder")
    args = ap.parse_args(argv)

    started = time.monotonic()
    os.environ["HEARTH_BACKEND"] = args.backend
    bootstrap.VENV = bootstrap.REPO / "build" / f"venv-{args.backend}"
    bootstrap.ensure_venv()
    wheel = bootstrap.llama_wheel()
    py = str(bootstrap.venv_python())
    stamp = f"{wheel}\n{(bootstrap.REPO / 'pyproject.toml').read_text()}\n{PYINSTALLER}"
    stamp_file = bootstrap.VENV / ".hearth-bundle"
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if not stamp_file.exists() or stamp_file.read_text() != stamp:
        bootstrap.run([*pip, "--force-reinstall", "--no-deps", str(wheel)])
        bootstrap.run([*pip, PYINSTALLER])
        stamp_file.write_text(stamp)
    # Hearth itself every time: the bundle must hold the code as it is now.
    bootstrap.run([*pip, "--no-deps", "--force-reinstall", str(bootstrap.REPO)])
    bootstrap.run([*pip, str(bootstrap.REPO)])

    env = dict(os.environ)
    env["HEARTH_BUNDLE_MODEL"] = ""
    if not args.no_model:
        models = bootstrap.ensure_models([bootstrap.STARTER])
        env["HEARTH_BUNDLE_MODEL"] = str(models[bootstrap.STARTER])
    env["HEARTH_BUNDLE_BACKEND"] = args.backend
    dist = Path(args.dist).resolve()
    work = bootstrap.REPO / "build" / "pyinstaller"
    bootstrap.log(
        f"running PyInstaller (backend {args.backend}, model {'no' if args.no_model else 'yes'})"
    )
    code = subprocess.call(
        [
            py,
            "-m",
            "PyInstaller",
            str(HERE / "hearth.spec"),
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
        ],
        cwd=bootstrap.REPO,
        env=env,
    )
    if code != 0:
        bootstrap.die(f"PyInstaller failed (exit code {code})", code)
    bundle = dist / ("Hearth.app" if sys.platform == "darwin" else "hearth")
    size = tree_size(bundle)
    bootstrap.log(
        f"bundle: {bundle} ({size / 1e6:.0f} MB) built in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
