#!/usr/bin/env bash
# Build llama.cpp with Vulkan on Debian/Ubuntu: installs what the build needs, then compiles.
#   native/vulkan-debian.sh            (as root, or with sudo available)
# The Vulkan backend runs on any GPU with a Vulkan driver (Mesa's radv/anv/nvk, NVIDIA's driver).
#
# llama.cpp's Vulkan code needs headers that declare VK_EXT_layer_settings. Debian 13 and
# Ubuntu 24.04 have them; Debian 12's libvulkan-dev (1.3.239) does not. There this script takes the
# headers (only the headers: the system's Vulkan loader stays) from Debian 13's libvulkan-dev,
# checked against the archive's SHA256, into build/vulkan-sdk and points VULKAN_SDK at them.
# DEBIAN_MIRROR picks another mirror.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq cmake g++ glslc libvulkan-dev spirv-headers curl xz-utils

if [ -z "${VULKAN_SDK:-}" ] && ! grep -q VK_EXT_layer_settings /usr/include/vulkan/vulkan_core.h; then
  MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  ARCH="$(dpkg --print-architecture)"
  SDK="$REPO/build/vulkan-sdk"
  echo "vulkan-debian.sh: this system's Vulkan headers are too old for llama.cpp;"
  echo "  using the headers of Debian 13 (trixie) from $MIRROR in $SDK"
  read -r FILE SHA < <(curl -fsSL "$MIRROR/dists/trixie/main/binary-$ARCH/Packages.xz" | xz -d |
    awk '/^Package: /{p = ($2 == "libvulkan-dev")} p && /^Filename: /{f=$2} p && /^SHA256: /{s=$2}
         END{print f, s}')
  [ -n "$FILE" ] && [ -n "$SHA" ] || { echo "libvulkan-dev is not in trixie's index" >&2; exit 1; }
  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  curl -fsSL -o "$TMP/headers.deb" "$MIRROR/$FILE"
  echo "$SHA  $TMP/headers.deb" | sha256sum -c --quiet
  dpkg -x "$TMP/headers.deb" "$TMP/x"
  rm -rf "$SDK"
  mkdir -p "$SDK/lib"
  cp -a "$TMP/x/usr/include" "$SDK/include"
  ln -s "/usr/lib/$(gcc -print-multiarch)/libvulkan.so" "$SDK/lib/libvulkan.so"  # the system's loader
  export VULKAN_SDK="$SDK"
fi
python3 "$REPO/native/build.py" vulkan "$@"
