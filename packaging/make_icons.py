"""Render resources/hearth.svg to the PNG sizes desktops ask for, and a Windows .ico.

    .venv/bin/python packaging/make_icons.py

Writes resources/icons/hearth-<size>.png (16 to 512 px) and resources/icons/hearth.ico. The
results are committed; run this again after changing the SVG. macOS's .icns is made from the PNGs
by packaging/macos/build.sh (iconutil exists only there).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
REPO = Path(__file__).resolve().parents[1]


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(REPO / "resources" / "hearth.svg"))
    if not renderer.isValid():
        print("resources/hearth.svg cannot be read", file=sys.stderr)
        return 1
    out = REPO / "resources" / "icons"
    out.mkdir(exist_ok=True)
    for size in SIZES:
        target = out / f"hearth-{size}.png"
        if not render(renderer, size).save(str(target), "PNG"):
            print(f"could not write {target}", file=sys.stderr)
            return 1
        print(target.relative_to(REPO))
    # Windows wants one .ico holding several sizes: ImageMagick packs them (PNG-compressed);
    # Qt's own writer holds one size only.
    ico = out / "hearth.ico"
    parts = [str(out / f"hearth-{n}.png") for n in (16, 24, 32, 48, 64, 256)]
    convert = shutil.which("magick") or shutil.which("convert")
    if convert and subprocess.call([convert, *parts, str(ico)]) == 0:
        print(ico.relative_to(REPO))
    elif render(renderer, 256).save(str(ico), "ICO"):
        print(f"{ico.relative_to(REPO)} (one size: ImageMagick was not found)")
    else:
        print("no way to write hearth.ico here", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
