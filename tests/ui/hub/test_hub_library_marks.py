"""The Hub page and the library: quants already here are marked and open a chat instead of a
second download; bits per weight read the same on both pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from app.core import paths
from app.core.hub import token as secrets
from app.core.hub.queue import DONE
from app.core.library.index import OK
from tests.hub_server import GEMMA_FILE, GEMMA_REPO, QUANTS_REPO, SMOL_FILE, SMOL_REPO, VISION_REPO
from tests.ui.hub.test_hub_page import VISION_MODEL, only_download, open_hub, pick_repo

pytestmark = [pytest.mark.gui]


def quant_row(page: Any, quant: str) -> int:
    m = page.quants_model
    return next(r for r in range(m.rowCount()) if m.groups[r].quant == quant)


def marked(page: Any, quant: str) -> bool:
    """The quant's line in the list carries the library's sign, and its tooltip says where."""
    index = page.quants_model.index(quant_row(page, quant), 0)
    sign = index.data().startswith("✓ ")
    assert sign == ("In your library: " in index.data(Qt.ItemDataRole.ToolTipRole))
    return sign


def test_a_quant_already_in_the_library_opens_a_chat_instead_of_a_second_download(
    open_window, make_settings, hub_server, starter_installed
):
    # SMOL_REPO's file is the starter model: the same file name and size, in another folder of
    # the library (HuggingFaceTB/SmolLM2-135M-Instruct, not the repo's -GGUF folder).
    assert starter_installed.name == SMOL_FILE
    d = open_window(make_settings())
    open_hub(d)
    page = pick_repo(d, SMOL_REPO)
    d.qtbot.waitUntil(lambda: page.library_mark.isVisible(), timeout=10_000)
    assert marked(page, "Q4_1")
    assert "In your library" in page.library_mark.text()
    assert page.download_button.text() == "Chat with it"
    page.download_button.click()
    assert d.w.hub_ctl.queue.items == []  # nothing downloads again
    assert d.w.pages.currentIndex() == 0
    assert d.w.controller.conv is None  # a new chat with it
    assert d.w.picker.current() == str(starter_installed)

    # The other repos' files have other names: offered for download as before.
    d.w.show_page(2)
    page = pick_repo(d, QUANTS_REPO)
    d.qtbot.wait(300)  # time for the marks to come back
    assert not page.library_mark.isVisible()
    assert not marked(page, "Q4_1") and not marked(page, "Q8_0")
    assert page.download_button.text() == "Download Q8_0 (144.8 MB)"


def test_the_mark_follows_a_finished_download_and_a_removal(open_window, make_settings, hub_server):
    d = open_window(make_settings())
    open_hub(d)
    page = pick_repo(d, VISION_REPO)
    assert page.download_button.text() == "Download Q4_1 (98.4 MB)"
    assert not page.library_mark.isVisible()
    page.projector.setChecked(False)
    page.download_button.click()
    dl = only_download(d)
    d.qtbot.waitUntil(lambda: dl.state == DONE, timeout=30_000)
    model = paths.data_dir() / "models" / "ggml-org" / "SmolVLM-Test-GGUF" / VISION_MODEL
    # Still on the page: the quant just downloaded is marked at once.
    d.qtbot.waitUntil(lambda: page.library_mark.isVisible(), timeout=10_000)
    assert marked(page, "Q4_1") and "In your library" in page.library_mark.text()
    assert page.download_button.text() == "Chat with it"
    assert page.library_mark.toolTip() == str(model)

    # Another repo with the same file (name and size): marked too, its chat opens that file.
    page = pick_repo(d, QUANTS_REPO)
    d.qtbot.waitUntil(lambda: marked(page, "Q4_1"), timeout=10_000)
    assert not marked(page, "Q8_0")
    page.quants.selectRow(quant_row(page, "Q4_1"))
    assert page.download_button.text() == "Chat with it"
    page.download_button.click()
    assert d.w.picker.current() == str(model) and len(d.w.hub_ctl.queue.items) == 1

    # Removed from the library (the Library page's Remove): the marks go.
    d.w.show_page(1)
    d.qtbot.waitUntil(
        lambda: str(model) in [e.path for e in d.w.library_page.model.entries], timeout=10_000
    )
    entry = next(e for e in d.w.library_page.model.entries if e.path == str(model))
    d.w.library_ctl.remove(entry, False)
    d.qtbot.waitUntil(lambda: not model.exists(), timeout=10_000)
    d.w.show_page(2)
    d.qtbot.waitUntil(lambda: not marked(page, "Q4_1"), timeout=10_000)
    assert not page.library_mark.isVisible()
    assert page.download_button.text() == "Download Q4_1 (98.4 MB)"
    page = pick_repo(d, VISION_REPO)
    d.qtbot.wait(300)
    assert not marked(page, "Q4_1")
    assert page.download_button.text() == "Download Q4_1 (98.4 MB)"


def library_bits(d: Any, path: Path) -> str:
    model = d.w.library_page.model
    row = next(i for i, e in enumerate(model.entries) if e.path == str(path) and e.status == OK)
    col = model.columns.index("Bits/weight")
    return model.index(row, col).data()


def test_bits_per_weight_read_the_same_on_the_hub_and_in_the_library(
    open_window, make_settings, hub_server, starter_installed, gemma_path
):
    secrets.save_token(hub_server.state.token)  # Gemma is gated: its header needs the token
    d = open_window(make_settings())
    d.w.library_ctl.import_files([gemma_path], "keep")
    d.w.show_page(1)
    d.qtbot.waitUntil(
        lambda: (
            {str(starter_installed), str(gemma_path)}
            <= {e.path for e in d.w.library_page.model.entries}
        ),
        timeout=20_000,
    )
    in_library = {
        SMOL_REPO: library_bits(d, starter_installed),
        GEMMA_REPO: library_bits(d, gemma_path),
    }
    assert in_library == {SMOL_REPO: "5.74", GEMMA_REPO: "7.36"}
    open_hub(d)
    for repo, name in ((SMOL_REPO, SMOL_FILE), (GEMMA_REPO, GEMMA_FILE)):
        page = pick_repo(d, repo)
        assert page.quants_model.groups[0].files[0].path == name
        d.qtbot.waitUntil(
            lambda page=page, repo=repo: page.quants_model.index(0, 2).data() == in_library[repo],
            timeout=15_000,
        )
