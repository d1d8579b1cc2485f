"""What the installers put on a user's system agrees with itself and with the app.

The full build (bundle, .deb, frozen app chatting) is checked by packaging/smoke_test.py, which
takes minutes; these tests guard the pieces every change can break: the desktop entry, MIME type,
AppStream metainfo and icons the .deb installs, the asset lookup inside a bundle, the backend
names the hardware probe shows, and native/build.py's prerequisite check.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

import app
from app.core import resources
from app.core.fit.hardware import probe
from app.engine.devices import backend_name

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "packaging" / "linux"
ICON_DIR = REPO / "resources" / "icons"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(LINUX / f"{app.APP_ID}.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_entry_starts_hearth_with_the_file_and_names_the_installed_icon() -> None:
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    # The file manager passes one .gguf file; `hearth FILE.gguf` opens a chat with it.
    assert entry["Exec"].split() == ["hearth", "%f"]
    assert entry["TryExec"] == "hearth"
    assert entry["Icon"] == app.APP_ID  # hicolor/*/apps/io.hearth.Hearth.png in the .deb
    assert entry["StartupWMClass"] == "Hearth"
    assert entry["Categories"].endswith(";") and entry["MimeType"].endswith(";")


def test_gguf_mime_type_is_declared_where_the_desktop_entry_claims_it() -> None:
    mime = ET.parse(LINUX / f"{app.APP_ID}.xml").getroot()
    declared = {t.get("type"): t for t in mime.iter(f"{MIME_NS}mime-type")}
    claimed = [m for m in desktop_entry()["MimeType"].split(";") if m]
    assert claimed and all(m in declared for m in claimed)
    gguf = declared["application/x-gguf"]
    assert [g.get("pattern") for g in gguf.iter(f"{MIME_NS}glob")] == ["*.gguf"]
    # Files without the extension are still recognised by their magic, as llama.cpp does.
    magic = [m.get("value") for m in gguf.iter(f"{MIME_NS}match")]
    assert magic == ["GGUF"]


def test_metainfo_names_the_app_its_desktop_entry_binary_and_a_release() -> None:
    root = ET.parse(LINUX / f"{app.APP_ID}.metainfo.xml").getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == app.APP_ID
    assert root.findtext("launchable") == f"{app.APP_ID}.desktop"
    assert root.findtext("provides/binary") == "hearth"
    assert root.findtext("provides/mediatype") == "application/x-gguf"
    # build.sh fills in the version from the package and the build date.
    release = root.find("releases/release")
    assert release is not None and release.get("version") == "@VERSION@"
    assert "@VERSION@" in (LINUX / "build.sh").read_text()


@pytest.mark.skipif(
    not shutil.which("desktop-file-validate"), reason="desktop-file-utils is not installed"
)
def test_desktop_entry_passes_desktop_file_validate() -> None:
    r = subprocess.run(
        ["desktop-file-validate", str(LINUX / f"{app.APP_ID}.desktop")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_every_icon_size_the_packages_install_exists_at_that_size() -> None:
    script = (LINUX / "build.sh").read_text()
    sizes = [int(s) for s in script.split("for size in ", 1)[1].split(";", 1)[0].split()]
    assert 16 in sizes and 512 in sizes
    for size in sizes:
        image = QImage(str(ICON_DIR / f"hearth-{size}.png"))
        assert not image.isNull(), size
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
    # Windows takes one .ico holding the small and large sizes (ICONDIR header, then entries).
    ico = (ICON_DIR / "hearth.ico").read_bytes()
    assert ico[:4] == b"\x00\x00\x01\x00"
    count = int.from_bytes(ico[4:6], "little")
    in_ico = {ico[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32, 48, 256} <= in_ico


def test_assets_are_found_inside_a_frozen_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: Any
) -> None:
    """The spec copies resources/ to app/resources in the bundle; the lookup must go there."""
    bundle = tmp_path / "_internal"
    shutil.copytree(REPO / "resources", bundle / "app" / "resources")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert resources.resources_dir() == bundle / "app" / "resources"
    assert "#sidebar" in resources.read_text("style.qss")

    from app.ui.app import app_icon

    icon = app_icon()
    assert not icon.isNull() and 512 in [s.width() for s in icon.availableSizes()]
    # A bundle built without an asset says which and where, instead of a blank window.
    (bundle / "app" / "resources" / "style.qss").unlink()
    with pytest.raises(FileNotFoundError, match=r"style\.qss.*_internal"):
        resources.read_text("style.qss")


def test_the_spec_copies_resources_where_the_lookup_expects_them() -> None:
    spec = (REPO / "packaging" / "hearth.spec").read_text()
    assert '"app/resources"' in spec or "'app/resources'" in spec
    assert "__version__" in spec  # the version comes from the package


def _dev(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "description": "", "type": kind, "free_bytes": 0, "total_bytes": 0}


CPU_ONLY = [{"name": "CPU", "devices": 1}]


@pytest.mark.parametrize(
    ("devices", "backends", "shown"),
    [
        ([_dev("CPU", "cpu")], CPU_ONLY, "CPU"),
        ([], [], "CPU"),
        ([_dev("CUDA0", "gpu"), _dev("CUDA1", "gpu"), _dev("CPU", "cpu")], None, "CUDA"),
        ([_dev("MTL0", "gpu"), _dev("CPU", "cpu")], None, "Metal"),
        ([_dev("Vulkan0", "gpu"), _dev("CPU", "cpu")], None, "Vulkan"),
        ([_dev("ROCm0", "gpu"), _dev("CPU", "cpu")], None, "ROCm"),
        ([_dev("HIP0", "gpu")], None, "ROCm"),
        ([_dev("CPU", "cpu"), _dev("Vulkan0", "igpu")], None, "Vulkan"),
        # A GPU build that found no device (no driver) is still that build, not a CPU build.
        ([_dev("CPU", "cpu")], [{"name": "Vulkan", "devices": 0}, *CPU_ONLY], "Vulkan"),
        ([_dev("CPU", "cpu")], [{"name": "CUDA", "devices": 0}, *CPU_ONLY], "CUDA"),
        ([_dev("CPU", "cpu")], [{"name": "BLAS", "devices": 1}, *CPU_ONLY], "CPU"),
    ],
)
def test_the_probe_names_the_backend_from_what_llama_cpp_reports(
    devices: list[dict[str, Any]], backends: list[dict[str, Any]] | None, shown: str
) -> None:
    assert backend_name(devices, backends) == shown


def test_a_gpu_build_without_a_device_says_so_and_what_to_check() -> None:
    hw = probe([_dev("CPU", "cpu")], "Vulkan", gpu_offload=False)
    assert hw.build_backend == "Vulkan" and not hw.gpu_offload
    assert not [g for g in hw.gpus if g.usable]
    assert any("found no Vulkan device" in n and "vulkaninfo" in n for n in hw.notes), hw.notes
    gpu = {**_dev("Vulkan0", "gpu"), "description": "Radeon RX 7600", "total_bytes": 8 << 30}
    hw = probe([gpu, _dev("CPU", "cpu")], "Vulkan", gpu_offload=True)
    assert [(g.name, g.backend, g.usable) for g in hw.gpus] == [("Radeon RX 7600", "Vulkan", True)]
    assert not any("found no" in n for n in hw.notes)


def _build_check(backend: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "native" / "build.py"), backend, "--check"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_native_build_says_what_a_backend_needs_before_compiling(tmp_path: Path) -> None:
    # A machine without the CUDA toolkit or ROCm: no nvcc/hipcc in PATH, CUDA_HOME elsewhere.
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("cmake", "c++", "g++"):
        found = shutil.which(tool)
        if found:
            (bare / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bare), "CUDA_HOME": str(tmp_path / "no-cuda")}
    cuda = _build_check("cuda", env)
    assert cuda.returncode == 1
    assert "-DGGML_CUDA=ON" in cuda.stdout and "missing nvcc" in cuda.stdout
    rocm = _build_check("rocm", env)
    assert rocm.returncode == 1 and "missing hipcc" in rocm.stdout
    metal = _build_check("metal", env)
    assert (metal.returncode == 0) == (sys.platform == "darwin" and os.uname().machine == "arm64")
    unknown = _build_check("opencl", env)
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_native_build_tells_vulkan_headers_too_old_for_llama_cpp_apart(tmp_path: Path) -> None:
    """Debian 12's headers lack VK_EXT_layer_settings: the compile would fail after minutes."""

    def sdk(name: str, core_h: str) -> Path:
        inc = tmp_path / name / "include" / "vulkan"
        inc.mkdir(parents=True)
        (inc / "vulkan.hpp").write_text("// Vulkan-Hpp\n")
        (inc / "vulkan_core.h").write_text(core_h)
        return tmp_path / name

    old = sdk("old", "#define VK_HEADER_VERSION 239\n")
    new = sdk("new", "#define VK_HEADER_VERSION 309\n#define VK_EXT_layer_settings 1\n")
    too_old = _build_check("vulkan", {**os.environ, "VULKAN_SDK": str(old)})
    assert too_old.returncode == 1
    assert "missing VK_EXT_layer_settings" in too_old.stdout and "Debian 13" in too_old.stdout
    recent = _build_check("vulkan", {**os.environ, "VULKAN_SDK": str(new)})
    assert "VK_EXT_layer_settings" not in recent.stdout
    assert "missing vulkan-headers" not in recent.stdout
