#!/usr/bin/env bash
# Build llama.cpp with Vulkan on Debian/Ubuntu: installs what the build needs, then compiles.
#   native/vulkan-debian.sh            (as root, or with sudo available)
# The Vulkan backend runs on any GPU with a Vulkan driver (Mesa's radv/anv/nvk, NVIDIA's driver).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq cmake g++ glslc libvulkan-dev spirv-headers
python3 "$REPO/native/build.py" vulkan "$@"
