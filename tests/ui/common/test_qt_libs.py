"""The app names the system libraries Qt's X11 plugin misses, and the command that installs them,
instead of Qt's misleading abort."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.ui.common import qt_libs

pytestmark = pytest.mark.skipif(
    not (sys.platform.startswith("linux") and shutil.which("gcc") and shutil.which("ldd")),
    reason="needs Linux, gcc and ldd",
)


def _plugin_with_a_missing_library(tmp_path: Path) -> Path:
    """A real shared library linked to two others that are then removed, as a plugin whose
    dependencies are not installed."""
    for name in ("hearthicccm", "hearthkeysyms"):
        src = tmp_path / f"{name}.c"
        src.write_text(f"int {name}_f(void) {{ return 1; }}\n")
        soname = f"lib{name}.so.{4 if name.endswith('icccm') else 1}"
        subprocess.run(
            ["gcc", "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", tmp_path / soname, src],
            check=True,
        )
        (tmp_path / f"lib{name}.so").symlink_to(soname)
    plugin_src = tmp_path / "plugin.c"
    plugin_src.write_text(
        "int hearthicccm_f(void); int hearthkeysyms_f(void);\n"
        "int plugin(void) { return hearthicccm_f() + hearthkeysyms_f(); }\n"
    )
    plugin = tmp_path / "libqxcb.so"
    libs = ["-lhearthicccm", "-lhearthkeysyms"]
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-o", plugin, plugin_src, f"-L{tmp_path}", *libs], check=True
    )
    for lib in tmp_path.glob("libhearth*"):
        lib.unlink()
    return plugin


def test_missing_libraries_are_named(tmp_path: Path) -> None:
    plugin = _plugin_with_a_missing_library(tmp_path)
    assert qt_libs.missing_libraries(plugin) == ["libhearthicccm.so.4", "libhearthkeysyms.so.1"]


def test_debian_package_names() -> None:
    assert qt_libs.debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert qt_libs.debian_package("libxcb-keysyms.so.1") == "libxcb-keysyms1"
    assert qt_libs.debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert qt_libs.debian_package("libxcb-render-util.so.0.0.0") == "libxcb-render-util0"


def test_only_an_x11_window_is_checked() -> None:
    linux = sys.platform.startswith("linux")
    assert qt_libs.uses_xcb({"DISPLAY": ":0"}) is linux
    assert qt_libs.uses_xcb({"QT_QPA_PLATFORM": "xcb"}) is linux
    assert not qt_libs.uses_xcb({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"})
    assert not qt_libs.uses_xcb({"QT_QPA_PLATFORM": "offscreen"})
    assert not qt_libs.uses_xcb({"QT_QPA_PLATFORM": "wayland;xcb"})


def test_the_app_says_what_to_install_and_exits(tmp_path: Path) -> None:
    """``hearth`` started on X11 with the plugin's libraries missing: one clear message naming
    them and the apt-get command, exit 1, no Qt abort."""
    (tmp_path / "qt").mkdir()
    plugin = _plugin_with_a_missing_library(tmp_path / "qt")
    code = (
        "import sys; from pathlib import Path; from app.ui.common import qt_libs; "
        f"qt_libs.xcb_plugin = lambda: Path({str(plugin)!r}); "
        "from app.ui.app import run_app; sys.exit(run_app(['--basedir', sys.argv[1]]))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "libhearthicccm.so.4, libhearthkeysyms.so.1" in proc.stderr
    assert "sudo apt-get install libhearthicccm4 libhearthkeysyms1" in proc.stderr
    assert "xcb-cursor" not in proc.stderr
