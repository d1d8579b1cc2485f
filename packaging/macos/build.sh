#!/usr/bin/env bash
# Build Hearth for macOS: dist/Hearth.app and dist/Hearth-<version>.dmg. Run on a Mac.
#
#   packaging/macos/build.sh [--no-model]          (HEARTH_BACKEND=cpu-portable for an Intel Mac)
#
# Needs: Xcode command line tools (clang, iconutil, hdiutil, codesign), CMake, Python 3.10+.
# The default backend is Metal (Apple Silicon). The app is signed ad hoc, which lets it run on the
# machine that built it; a release for others is signed with a Developer ID certificate
# (CODESIGN_IDENTITY="Developer ID Application: …") and notarized with `xcrun notarytool`.
set -euo pipefail
[ "$(uname)" = Darwin ] || { echo "macos/build.sh runs on macOS" >&2; exit 1; }

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BACKEND="${HEARTH_BACKEND:-metal}"
IDENTITY="${CODESIGN_IDENTITY:--}"
started=$(date +%s)

# The .icns from the committed PNGs (iconutil wants an .iconset folder of named sizes).
ICONSET="$REPO/build/Hearth.iconset"
rm -rf "$ICONSET" && mkdir -p "$ICONSET"
for size in 16 32 128 256 512; do
  cp "$REPO/resources/icons/hearth-$size.png" "$ICONSET/icon_${size}x${size}.png"
  double=$((size * 2))
  if [ -f "$REPO/resources/icons/hearth-$double.png" ]; then
    cp "$REPO/resources/icons/hearth-$double.png" "$ICONSET/icon_${size}x${size}@2x.png"
  fi
done
iconutil -c icns "$ICONSET" -o "$REPO/build/Hearth.icns"

python3 "$REPO/packaging/build_bundle.py" --backend "$BACKEND" --dist "$REPO/dist" "$@"
APP="$REPO/dist/Hearth.app"
codesign --force --deep --options runtime --sign "$IDENTITY" "$APP"
codesign --verify --deep --strict "$APP"

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO/app/__init__.py")"
STAGE="$REPO/build/dmg"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
DMG="$REPO/dist/Hearth-$VERSION.dmg"
hdiutil create -volname "Hearth $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
echo "macos/build.sh: $DMG ($(du -h "$DMG" | cut -f1)); app $(du -sh "$APP" | cut -f1); $(( $(date +%s) - started )) s"
