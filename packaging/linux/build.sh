#!/usr/bin/env bash
# Build Hearth for Linux: the PyInstaller bundle (dist/hearth) and a .deb (dist/hearth_<version>_<arch>.deb).
#
#   packaging/linux/build.sh [--no-model] [--skip-bundle]
#   HEARTH_BACKEND=vulkan packaging/linux/build.sh          (llama.cpp with Vulkan: any GPU vendor)
#
# The .deb installs the app in /opt/hearth, /usr/bin/hearth, a desktop entry, hicolor icons,
# AppStream metainfo and a MIME type for .gguf files; it carries the portable CPU build of
# llama.cpp (GGML_NATIVE=OFF, see native/) unless HEARTH_BACKEND names another: cpu-portable or
# vulkan (which adds the Vulkan loader to Depends; it runs on the CPU where no Vulkan driver is). The desktop entry and metainfo are validated with
# desktop-file-validate and appstreamcli. Needs: python3 (3.10+), a C/C++ compiler and CMake
# (first build only), dpkg-deb, desktop-file-utils and appstream.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$REPO/packaging/linux"
DIST="$REPO/dist"
APP_ID="io.hearth.Hearth"
MODEL_ARG=()
SKIP_BUNDLE=0
BACKEND="${HEARTH_BACKEND:-cpu-portable}"
case "$BACKEND" in
  cpu-portable|vulkan) ;;
  *) echo "build.sh: the .deb carries the cpu-portable or vulkan build, not $BACKEND" >&2; exit 2 ;;
esac
for arg in "$@"; do
  case "$arg" in
    --no-model) MODEL_ARG=(--no-model) ;;
    --skip-bundle) SKIP_BUNDLE=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

for tool in dpkg-deb desktop-file-validate appstreamcli; do
  if ! command -v "$tool" >/dev/null; then
    echo "build.sh: $tool is missing (sudo apt-get install dpkg-dev desktop-file-utils appstream)" >&2
    exit 1
  fi
done

started=$(date +%s)
if [ "$SKIP_BUNDLE" = 0 ]; then
  python3 "$REPO/packaging/build_bundle.py" --backend "$BACKEND" --dist "$DIST" "${MODEL_ARG[@]}"
fi
[ -x "$DIST/hearth/hearth" ] || { echo "build.sh: no bundle at $DIST/hearth" >&2; exit 1; }

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO/app/__init__.py")"
ARCH="$(dpkg --print-architecture)"
ROOT="$REPO/build/deb/hearth_${VERSION}_${ARCH}"
rm -rf "$ROOT"
mkdir -p "$ROOT/DEBIAN" "$ROOT/opt" "$ROOT/usr/bin" "$ROOT/usr/share/applications" \
  "$ROOT/usr/share/metainfo" "$ROOT/usr/share/mime/packages" \
  "$ROOT/usr/share/icons/hicolor/scalable/apps" "$ROOT/usr/share/doc/hearth"

cp -a "$DIST/hearth" "$ROOT/opt/hearth"
ln -s /opt/hearth/hearth "$ROOT/usr/bin/hearth"
install -m 644 "$HERE/$APP_ID.desktop" "$ROOT/usr/share/applications/$APP_ID.desktop"
install -m 644 "$HERE/$APP_ID.xml" "$ROOT/usr/share/mime/packages/$APP_ID.xml"
sed -e "s/@VERSION@/$VERSION/" -e "s/@DATE@/$(date -u +%Y-%m-%d)/" \
  "$HERE/$APP_ID.metainfo.xml" > "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml"
chmod 644 "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml"
for size in 16 24 32 48 64 128 256 512; do
  dir="$ROOT/usr/share/icons/hicolor/${size}x${size}/apps"
  mkdir -p "$dir"
  install -m 644 "$REPO/resources/icons/hearth-$size.png" "$dir/$APP_ID.png"
done
install -m 644 "$REPO/resources/hearth.svg" "$ROOT/usr/share/icons/hicolor/scalable/apps/$APP_ID.svg"
cat > "$ROOT/usr/share/doc/hearth/copyright" <<COPYRIGHT
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: Hearth
License: Apache-2.0
Comment: The bundled starter model SmolLM2-135M-Instruct (HuggingFaceTB) is Apache-2.0;
 llama.cpp is MIT; Qt (PySide6) is LGPL-3.0; the other bundled Python packages keep their licenses.
COPYRIGHT

# Qt's xcb platform plugin and llama.cpp's OpenMP need these from the system.
DEPENDS="libc6 (>= 2.31), libstdc++6, libgcc-s1, libgomp1, libgl1, libegl1, libfontconfig1, \
libfreetype6, libdbus-1-3, libglib2.0-0, libx11-6, libx11-xcb1, libxkbcommon0, libxkbcommon-x11-0, \
libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, \
libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-xfixes0, libxcb-xinerama0, \
libxcb-xkb1, libxcb-render0"
if [ "$BACKEND" = vulkan ]; then DEPENDS="$DEPENDS, libvulkan1"; fi
INSTALLED_KB="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: hearth
Version: $VERSION
Architecture: $ARCH
Maintainer: Hearth developers <hearth@localhost>
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS
Section: utils
Priority: optional
Homepage: https://hearth.invalid
Description: private, offline chat with local language models
 Hearth runs quantized language models (GGUF files) on this computer with
 llama.cpp: a chat window, a model library, memory-fit estimates for RAM and
 VRAM, and verified downloads from the Hugging Face Hub. Conversations stay
 on this machine.
CONTROL

desktop-file-validate "$ROOT/usr/share/applications/$APP_ID.desktop"
appstreamcli validate --no-net --explain "$ROOT/usr/share/metainfo/$APP_ID.metainfo.xml"

DEB="$DIST/hearth_${VERSION}_${ARCH}.deb"
dpkg-deb --build --root-owner-group -Zxz "$ROOT" "$DEB" >/dev/null
echo "build.sh: $DEB ($(du -h "$DEB" | cut -f1)); bundle $(du -sh "$DIST/hearth" | cut -f1); $(( $(date +%s) - started )) s"
