"""Quantize… and Compare quants from the Library, with a real engine and the Gemma 3 270M file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.core.library.index import OK
from app.core.quality import measured


def _entry(d: Any, path: Path) -> Any:
    return next(
        (e for e in d.w.library_ctl.entries if e.path == str(path) and e.status == OK), None
    )


def test_quantize_then_compare_quants_from_the_library(
    open_window, make_settings, gemma_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    source = folder / gemma_path.name
    source.symlink_to(gemma_path)  # the quant is written beside it, the test file is untouched
    d = open_window(make_settings())
    d.w.library_ctl.import_files([source], "keep")
    d.qtbot.waitUntil(lambda: _entry(d, source) is not None, timeout=30_000)
    d.w.show_page(1)
    page = d.w.library_page
    page.select(str(source))
    assert page.quantize_btn.isEnabled() and not page.compare_btn.isEnabled()

    # Quantize… to Q8_0: the file is Q4_K_M, so requantizing must be allowed first.
    page.quantize_btn.click()
    dialog = d.w.library_ctl.dialog
    dialog.set_type("Q8_0")
    assert dialog.out.text() == str(folder / "gemma-3-270m-Q8_0.gguf")
    assert dialog.warning.isVisible() and "compounds the loss" in dialog.warning.text()
    assert not dialog.start_button.isEnabled()
    dialog.allow.setChecked(True)
    assert dialog.start_button.isEnabled()
    if os.environ.get("HEARTH_SHOTS"):
        dialog.grab().save(os.path.join(os.environ["HEARTH_SHOTS"], "quantize-dialog.png"))
    dialog.start_button.click()
    made = folder / "gemma-3-270m-Q8_0.gguf"
    d.qtbot.waitUntil(lambda: _entry(d, made) is not None, timeout=60_000)
    assert "Made gemma-3-270m-Q8_0.gguf (Q8_0" in dialog.status.text()
    assert _entry(d, made).info.quant == "Q8_0"
    dialog.cancel_button.click()  # Close

    # Compare quants: Q4_K_M against Q8_0 (the one with more bits), a short run.
    d.qtbot.waitUntil(lambda: page.current() is not None, timeout=5_000)
    page.select(str(source))
    assert page.compare_btn.isEnabled() and "against Q8_0" in page.compare_btn.toolTip()
    page.compare_btn.click()
    compare = d.w.library_ctl.dialog
    compare.ctx.setValue(128)
    compare.chunks.setValue(2)
    compare.start_button.click()
    d.qtbot.waitUntil(lambda: compare.start_button.isEnabled(), timeout=60_000)
    assert compare.status.text().startswith("Done"), compare.status.text()
    (row,) = compare.rows()
    assert row[0] == "Q4_K_M" and float(row[1]) > 1 and float(row[2]) > 0
    assert row[5].endswith("%")
    stored = measured.lookup(measured.load(), "gemma-3-270m-Q4_K_M.gguf")
    assert stored is not None and stored["reference_quant"] == "Q8_0"
    assert f"{stored['kl_mean']:.5f}" == row[2]
    if os.environ.get("HEARTH_SHOTS"):
        compare.grab().save(os.path.join(os.environ["HEARTH_SHOTS"], "compare-dialog.png"))
        d.w.grab().save(os.path.join(os.environ["HEARTH_SHOTS"], "library.png"))
    compare.cancel_button.click()
