"""The system libraries Qt's X11 plugin needs, checked before the window is opened.

Without them Qt prints a misleading line (it names libxcb-cursor0 whatever is missing) and
aborts. Hearth runs ``ldd`` on the plugin instead, names the libraries that are really missing and
the command that installs them. Pure standard library: the set-up script uses it too, before the
app's packages are installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def debian_package(soname: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4; libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    base, _, ver = soname.partition(".so.")
    ver = ver.split(".")[0]
    return base + ("-" if base[-1:].isdigit() else "") + ver


def missing_libraries(plugin: Path) -> list[str]:
    """The shared libraries ``plugin`` links to that the system does not have (Linux only)."""
    if not (sys.platform.startswith("linux") and plugin.exists() and shutil.which("ldd")):
        return []
    try:
        out = subprocess.run(
            ["ldd", str(plugin)], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({ln.split()[0] for ln in out.splitlines() if "not found" in ln})


def xcb_plugin() -> Path | None:
    """PySide6's X11 platform plugin, when this Qt has one."""
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.exists() else None


def uses_xcb(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether Qt will open the window through X11 (not Wayland, offscreen, or another OS)."""
    if not sys.platform.startswith("linux"):
        return False
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(";")[0].split(":")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")


def xcb_problem() -> str | None:
    """What stops Qt's X11 plugin from loading, in words a user can act on (None: nothing)."""
    plugin = xcb_plugin() if uses_xcb() else None
    missing = missing_libraries(plugin) if plugin is not None else []
    if not missing:
        return None
    packages = " ".join(debian_package(m) for m in missing)
    return (
        f"Hearth cannot open its window: Qt's X11 support needs {', '.join(missing)}, which "
        f"{'is' if len(missing) == 1 else 'are'} not installed.\n"
        f"On Debian or Ubuntu: sudo apt-get install {packages}"
    )
