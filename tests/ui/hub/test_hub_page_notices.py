"""What the Hub page says: the download banner floats without moving the page, and every failure
is a sentence that says what happened and what to do (never an exception's name)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from PySide6.QtCore import QPoint

from app.core.hub.queue import DONE, FAILED
from tests.core.hub.sentences import assert_user_sentence
from tests.hub_server import QUANTS_REPO, ApiFault
from tests.ui.hub.test_hub_page import VISION_REPO, only_download, open_hub, pick_repo, rows

pytestmark = [pytest.mark.gui]


def places(d: Any) -> dict[str, tuple[int, int, int, int]]:
    """Where the page's parts are in the window: x, y, width, height."""
    page = d.w.hub_page
    out = {}
    for name in ("query", "search_button", "results_stack", "quants", "tabs", "downloads"):
        w = getattr(page, name)
        at = w.mapTo(d.w, QPoint(0, 0))
        out[name] = (at.x(), at.y(), w.width(), w.height())
    return out


def test_the_download_banner_does_not_move_the_page(open_window, make_settings, hub_server):
    d = open_window(make_settings())
    page = open_hub(d)
    page = pick_repo(d, VISION_REPO)
    page.projector.setChecked(False)
    assert not page.notice.isVisible()
    page.download_button.click()
    dl = only_download(d)
    d.qtbot.waitUntil(lambda: dl.state == DONE, timeout=30_000)
    d.qtbot.waitUntil(
        lambda: page.notice.isVisible() and "in your library" in page.notice.label.text(),
        timeout=10_000,
    )
    d.qtbot.wait(50)  # let any layout pass run
    shown = places(d)  # the download's row is listed now; the banner is up
    page.notice.hide()
    d.qtbot.wait(50)
    before = places(d)
    assert before == shown
    page.notice.show_notice("The model is downloaded.", "info", "Chat with it", lambda: None)
    d.qtbot.wait(50)
    assert places(d) == before
    # It floats over the foot of the page, below the search box and whole.
    box = page.notice.geometry()
    assert page.rect().contains(box)
    assert box.top() > page.query.mapTo(page, QPoint(0, page.query.height())).y()
    assert page.notice.action.text() == "Chat with it"
    page.notice.hide()
    assert places(d) == before


def shown_messages(page: Any) -> list[str]:
    """The messages the page shows now: the results area, the notice, the repo's line."""
    out = []
    if page.results_state.isVisible():
        out.append(page.results_state.text())
    if page.notice.isVisible():
        out.append(page.notice.label.text())
    return out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_hub_is_said_in_a_sentence_with_what_to_do(
    open_window, make_settings, monkeypatch
):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    d = open_window(make_settings())
    d.qtbot.waitUntil(lambda: d.w.hardware is not None, timeout=60_000)
    d.w.show_page(2)
    page = d.w.hub_page
    d.qtbot.waitUntil(lambda: "cannot be reached" in page.results_state.text(), timeout=15_000)
    messages = shown_messages(page)
    assert messages
    for text in messages:
        assert_user_sentence(text)
    assert "the connection was refused" in page.results_state.text()
    assert "try again" in page.results_state.text()
    assert page.retry_button.isVisible()
    page.retry_button.click()  # tried again: the same sentence, no second message anywhere
    d.qtbot.waitUntil(lambda: "cannot be reached" in page.results_state.text(), timeout=15_000)
    assert not page.notice.isVisible()


def test_failures_with_the_hub_are_sentences_with_what_to_do(
    open_window, make_settings, hub_server
):
    d = open_window(make_settings())
    page = open_hub(d)

    # A repo gone since the search (404).
    del hub_server.state.repos[VISION_REPO]
    page.results.selectRow(rows(d).index(VISION_REPO))
    d.qtbot.waitUntil(lambda: "was not found" in page.repo_facts.text(), timeout=15_000)
    assert_user_sentence(page.repo_facts.text())
    assert page.repo_facts.text().startswith(f"The repository {VISION_REPO} was not found")
    assert not page.download_button.isEnabled() and not page.library_mark.isVisible()
    for text in shown_messages(page):
        assert_user_sentence(text)

    # Rate limited on a search (429 on every try).
    hub_server.state.api_faults.append(ApiFault("/api/models", 429, times=99, retry_after="0"))
    page.query.setText("smol")
    page.search_button.click()
    d.qtbot.waitUntil(lambda: "too many requests" in page.results_state.text(), timeout=30_000)
    for text in shown_messages(page):
        assert_user_sentence(text)
    assert "Wait a few minutes, then try again" in page.results_state.text()
    assert page.retry_button.isVisible()
    hub_server.state.api_faults.clear()
    page.retry_button.click()
    d.qtbot.waitUntil(lambda: page.results_stack.currentWidget() is page.results, timeout=20_000)


def test_a_failed_download_says_what_happened_and_what_to_do(
    open_window, make_settings, hub_server
):
    d = open_window(make_settings())
    open_hub(d)
    page = pick_repo(d, VISION_REPO)
    page.projector.setChecked(False)
    repo = hub_server.state.repos[VISION_REPO]
    repo.files = repo.files[1:]  # the model file is gone from the repo since it was listed
    page.download_button.click()
    dl = only_download(d)
    d.qtbot.waitUntil(lambda: dl.state == FAILED, timeout=30_000)
    row = page.downloads.rows[dl.id]
    d.qtbot.waitUntil(lambda: row.pause.text() == "Try again", timeout=5_000)
    status = row.status.text()
    assert_user_sentence(status)
    assert "no longer in" in status and "Open the repository again" in status


def test_an_empty_downloads_panel_leaves_the_room_to_the_lists(
    open_window: Any, make_settings: Any, hub_server: Any
) -> None:
    d = open_window(make_settings())
    open_hub(d)
    page = pick_repo(d, QUANTS_REPO)
    panel = page.downloads
    assert panel.height() < 60  # its header line only
    quants = page.quants
    count = quants.model().rowCount()
    assert count >= 5
    last = quants.visualRect(quants.model().index(count - 1, 0))
    assert quants.viewport().rect().contains(last)  # every quant in view, no scrolling
    page = pick_repo(d, VISION_REPO)
    page.projector.setChecked(False)
    page.download_button.click()
    d.qtbot.waitUntil(lambda: panel.height() > 80, timeout=10_000)  # room for the row
