"""The Hub page of the real window against a local Hub: search, quants, downloads, token, offline."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.core import paths
from app.core.hub.queue import DONE, FAILED, PAUSED, RUNNING
from app.ui.hub.settings_dialog import HubSettingsDialog
from tests.hub_server import GEMMA_FILE, GEMMA_REPO, QUANTS_REPO, SMOL_REPO, VISION_REPO

pytestmark = [pytest.mark.gui]
VISION_MODEL = "SmolLM2-135M-Instruct-Q4_1.gguf"  # the model file of VISION_REPO


def rows(d: Any) -> list[str]:
    proxy = d.w.hub_page.hits_proxy
    return [
        proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 21).repo for r in range(proxy.rowCount())
    ]


def open_hub(d: Any) -> Any:
    d.qtbot.waitUntil(lambda: d.w.hardware is not None, timeout=60_000)
    d.w.show_page(2)
    d.qtbot.waitUntil(lambda: len(rows(d)) == 4, timeout=15_000)
    return d.w.hub_page


def pick_repo(d: Any, repo: str) -> Any:
    page = d.w.hub_page
    r = rows(d).index(repo)
    page.results.selectRow(r)
    d.qtbot.waitUntil(
        lambda: (
            page.files is not None and page.files.repo == repo and not page.quants_model.estimating
        ),
        timeout=15_000,
    )
    return page


def only_download(d: Any) -> Any:
    items = d.w.hub_ctl.queue.items
    assert len(items) == 1
    return items[0]


def start_download(d: Any, repo: str, until: str) -> tuple[Any, Any]:
    """Open the Hub page, pick ``repo``, press Download; wait for the state ``until``."""
    open_hub(d)
    page = pick_repo(d, repo)
    page.download_button.click()
    dl = only_download(d)
    d.qtbot.waitUntil(lambda: dl.state == until, timeout=30_000)
    return page, dl


def test_nothing_goes_online_until_the_hub_page_opens(open_window, make_settings, hub_server):
    d = open_window(make_settings())
    d.wait_loaded()
    d.qtbot.waitUntil(lambda: d.w.hardware is not None, timeout=60_000)
    d.w.show_page(1)  # the library is local too
    d.qtbot.wait(300)
    assert hub_server.state.requests == []
    page = open_hub(d)
    assert hub_server.state.requests  # the page went online when opened, not before
    # Sort and filters: the Hub's order by likes, then the size and fit filters locally.
    page.sort.setCurrentIndex(1)  # Most liked
    d.qtbot.waitUntil(lambda: rows(d)[:1] == [GEMMA_REPO], timeout=10_000)
    page.size_filter.setCurrentIndex(1)  # up to 2 B
    assert len(rows(d)) == 4
    page.query.setText("gemma")
    page.search_button.click()
    d.qtbot.waitUntil(lambda: rows(d) == [GEMMA_REPO], timeout=10_000)
    page.fits_only.setChecked(True)
    assert rows(d) == [GEMMA_REPO]  # 268 M at Q4_K_M fits this machine
    verdict = page.hits_proxy.index(0, 2).data()
    assert verdict == "Fits in RAM"


def test_repo_view_groups_quants_recommends_and_shows_the_card(
    open_window, make_settings, hub_server
):
    d = open_window(make_settings())
    open_hub(d)
    page = pick_repo(d, QUANTS_REPO)
    quants = [page.quants_model.index(r, 0).data() for r in range(page.quants_model.rowCount())]
    assert quants == ["Q2_K", "Q4_1", "Q8_0   ★ Recommended", "F16", "Q3_K_L"]
    assert page.quants_model.index(4, 4).data() == "Too big"
    assert page.quants_model.index(0, 3).data() == "2"  # split in two parts, one entry
    assert page.selected_group().quant == "Q8_0"  # the recommended quant is preselected
    assert page.download_button.text() == "Download Q8_0 (144.8 MB)"
    assert page.meter.result is not None and page.meter.result.verdict == "cpu_only"

    page = pick_repo(d, SMOL_REPO)
    d.qtbot.waitUntil(lambda: "SmolLM2 135M Instruct" in page.card.toPlainText(), timeout=10_000)
    assert "license: apache" not in page.card.toPlainText()  # the YAML header is not shown
    assert not page.projector.isVisible()

    page = pick_repo(d, VISION_REPO)
    assert page.projector.isVisible() and "mmproj-SmolVLM-f16.gguf" in page.projector.text()


def test_download_lands_in_the_library_ready_to_chat(open_window, make_settings, hub_server):
    d = open_window(make_settings())
    page, dl = start_download(d, VISION_REPO, DONE)
    row = page.downloads.rows[dl.id]
    d.qtbot.waitUntil(lambda: row.chat.isVisible(), timeout=5_000)
    assert "Downloaded and verified" in row.status.text()
    folder = paths.data_dir() / "models" / "ggml-org" / "SmolVLM-Test-GGUF"
    assert sorted(p.name for p in folder.iterdir()) == [
        "SmolLM2-135M-Instruct-Q4_1.gguf",
        "mmproj-SmolVLM-f16.gguf",
    ]
    d.qtbot.waitUntil(
        lambda: (
            str(folder / "SmolLM2-135M-Instruct-Q4_1.gguf")
            in [e.path for e in d.w.library_page.model.entries]
        ),
        timeout=10_000,
    )
    d.qtbot.waitUntil(lambda: "in your library" in page.notice.label.text(), timeout=5_000)
    page.notice.action.click()  # "Chat with it"
    assert d.w.pages.currentIndex() == 0
    assert d.w.picker.current() == str(folder / "SmolLM2-135M-Instruct-Q4_1.gguf")


def test_the_chat_button_of_a_finished_download_opens_a_chat_with_its_model(
    open_window, make_settings, hub_server
):
    d = open_window(make_settings())
    page, dl = start_download(d, VISION_REPO, DONE)
    row = page.downloads.rows[dl.id]
    d.qtbot.waitUntil(lambda: row.chat.isVisible(), timeout=5_000)
    folder = paths.data_dir() / "models" / "ggml-org" / "SmolVLM-Test-GGUF"
    model = folder / "SmolLM2-135M-Instruct-Q4_1.gguf"
    assert [str(p) for p in dl.model_paths] == [str(model)]  # not the vision projector
    d.qtbot.mouseClick(row.chat, Qt.MouseButton.LeftButton)
    assert d.w.pages.currentIndex() == 0
    assert d.w.controller.conv is None  # a new chat
    assert d.w.picker.current() == str(model)


def test_a_gated_model_asks_for_a_token(open_window, make_settings, hub_server, hearth_home):
    d = open_window(make_settings())
    open_hub(d)
    page = pick_repo(d, GEMMA_REPO)
    assert "gated" in page.repo_facts.text()
    page.download_button.click()
    d.qtbot.waitUntil(
        lambda: isinstance(QApplication.activeModalWidget(), HubSettingsDialog), timeout=5_000
    )
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, HubSettingsDialog) and dialog.isVisible()
    assert d.w.hub_ctl.queue.items == []  # nothing starts before there is a token
    dialog.token_edit.setText(hub_server.state.token)
    dialog.accept()
    d.qtbot.waitUntil(lambda: len(d.w.hub_ctl.queue.items) == 1, timeout=5_000)
    dl = only_download(d)
    d.qtbot.waitUntil(lambda: dl.state == DONE, timeout=60_000)
    assert dl.paths[0].name == GEMMA_FILE
    token_file = hearth_home / "config" / "hf_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600


def test_a_paused_download_survives_a_restart(open_window, make_settings, hub_server):
    # SMOL_REPO's file is the starter model, already in the library: a repo with the model
    # under another name, without its vision projector.
    fault = hub_server.state.repos[VISION_REPO].files[0].fault
    fault.stall_after = 30 << 20
    settings = make_settings()
    d = open_window(settings)
    open_hub(d)
    page = pick_repo(d, VISION_REPO)
    page.projector.setChecked(False)
    page.download_button.click()
    dl = only_download(d)
    d.qtbot.waitUntil(lambda: dl.state == RUNNING and dl.done_bytes >= 30 << 20, timeout=30_000)
    pct = (30 << 20) * 100 // dl.total_bytes
    d.qtbot.waitUntil(lambda: d.w.hub_action.text() == f"Hub · {pct}%", timeout=5_000)
    d.w.close()  # quitting mid-download pauses it
    assert dl.state == PAUSED

    fault.stall_after = None
    seen = len(hub_server.state.requests)
    d2 = open_window(settings)
    d2.wait_loaded()
    assert d2.w.hub_action.text() == "Hub · 1 paused"
    d2.qtbot.waitUntil(lambda: "1 download paused" in d2.w.notice.label.text(), timeout=10_000)
    assert len(hub_server.state.requests) == seen  # nothing resumes by itself
    d2.w.notice.action.click()  # Resume
    back = only_download(d2)
    d2.qtbot.waitUntil(lambda: back.state == DONE, timeout=30_000)
    assert hub_server.state.ranges[VISION_MODEL][-1] == f"bytes={30 << 20}-"
    assert Path(back.paths[0]).stat().st_size == back.total_bytes


def test_a_damaged_download_is_reported_with_a_way_to_retry(open_window, make_settings, hub_server):
    hub_server.state.repos[VISION_REPO].files[0].fault.corrupt = True
    d = open_window(make_settings())
    page, dl = start_download(d, VISION_REPO, FAILED)
    row = page.downloads.rows[dl.id]
    d.qtbot.waitUntil(lambda: "checksum" in row.status.text(), timeout=5_000)
    assert row.pause.text() == "Try again" and not dl.jobs[0].dest.exists()
    hub_server.state.repos[VISION_REPO].files[0].fault.corrupt = False
    row.pause.click()
    d.qtbot.waitUntil(lambda: dl.state == DONE, timeout=30_000)


def test_offline_hub_says_so_and_the_rest_works(open_window, make_settings, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    d = open_window(make_settings())
    d.wait_loaded()
    d.w.show_page(2)
    page = d.w.hub_page
    d.qtbot.waitUntil(lambda: "cannot be reached" in page.results_state.text(), timeout=15_000)
    assert page.retry_button.isVisible()  # Try again, under the message
    d.w.show_page(0)
    d.send("Hello")
    reply = d.wait_reply()
    assert reply.message.state == "done" and reply.message.content


def test_a_damaged_download_queue_is_said_and_paused_downloads_come_back(
    open_window, make_settings, hub_server, smollm_path
):
    from app.core.hub.client import Hub
    from app.core.hub.connection import configure

    settings = make_settings()
    configure()
    hub = Hub(None, hub_server.url)
    files = hub.repo(SMOL_REPO)
    (job,) = hub.jobs_for(files, files.groups[0], settings.models_path())
    job.dest.parent.mkdir(parents=True, exist_ok=True)
    job.part.write_bytes(smollm_path.read_bytes()[: 8 << 20])  # a paused download's partial file
    job.meta.write_text(json.dumps(job.to_dict()))
    state = paths.data_dir() / "downloads.json"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text("null")

    d = open_window(settings)
    d.qtbot.waitUntil(
        lambda: "download queue was damaged" in d.w.notice.label.text(), timeout=20_000
    )
    assert "1 paused download was found again" in d.w.notice.label.text()
    back = only_download(d)
    assert back.state == PAUSED and back.done_bytes == 8 << 20
    assert "Paused at" in d.w.hub_page.downloads.rows[back.id].status.text()
    d.w.hub_page.downloads.rows[back.id].pause.click()  # Resume
    d.qtbot.waitUntil(lambda: back.state == DONE, timeout=30_000)
    assert job.dest.read_bytes() == smollm_path.read_bytes()
