"""The Library page of the real window: what it lists, filtering, details, drop, removal, watching."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDialog, QMessageBox

from app.core.settings import load_settings
from tests import gguf_factory as F
from tests.ui.conftest import press_in_box

pytestmark = [pytest.mark.gui]


def names(d: Any) -> list[str]:
    page = d.w.library_page
    return sorted(page.proxy.index(r, 0).data() for r in range(page.proxy.rowCount()))


def wait_names(d: Any, expected: list[str], timeout: int = 10_000) -> None:
    d.qtbot.waitUntil(lambda: names(d) == sorted(expected), timeout=timeout)


def test_lists_sorts_filters_and_details(
    open_window: Any, make_settings: Any, tmp_path: Path, gemma_path: Path
) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    os.link(gemma_path, folder / gemma_path.name)
    F.write(folder / "half-downloaded.gguf", F.small_model_bytes()[:-100])
    d = open_window(make_settings())
    d.w.library_ctl.add_folders([folder])
    d.w.show_page(1)
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "gemma-3-270m-Q4_K_M", "half-downloaded"])
    page = d.w.library_page
    assert "2 models" in page.summary.text() and "1 invalid" in page.summary.text()
    # sort by parameters, largest first
    page.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    assert page.proxy.index(0, 0).data() == "gemma-3-270m-Q4_K_M"
    # filter by any column
    page.filter.setText("llama q4_1")
    assert names(d) == ["SmolLM2-135M-Instruct.Q4_1"]
    page.filter.setText("")
    # details of a model, with its template
    page.select(str(folder / gemma_path.name))
    text = page.details.toPlainText()
    assert (
        "gemma3" in text
        and "268,098,176" in text
        and "Sliding window" in text
        and "512 tokens" in text
    )
    assert "Tensor types" in text and "Q8_0" in text
    assert "none (Hearth uses a plain transcript)" in text
    page.select(d.w.settings.last_model)
    assert (
        "Chat template" in page.details.toPlainText()
        and "<|im_start|>" in page.details.toPlainText()
    )
    # an invalid file says why, and cannot be chatted with
    page.select(str(folder / "half-downloaded.gguf"))
    assert "download is incomplete" in page.details.toPlainText()
    assert not page.chat_btn.isEnabled()


def test_chat_with_a_library_model(
    open_window: Any, make_settings: Any, gemma_path: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "more"
    folder.mkdir()
    os.link(gemma_path, folder / gemma_path.name)
    d = open_window(make_settings(max_tokens=6))
    d.w.library_ctl.add_folders([folder])
    d.w.show_page(1)
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "gemma-3-270m-Q4_K_M"])
    d.w.library_page.select(str(folder / gemma_path.name))
    d.w.library_page.chat_btn.click()
    assert d.w.pages.currentIndex() == 0
    assert d.w.picker.current() == str(folder / gemma_path.name)
    d.send("Once upon a time")
    reply = d.wait_reply()
    assert reply.message.model == str(folder / gemma_path.name)


def test_new_file_appears_without_restart(
    open_window: Any, make_settings: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "watched"
    folder.mkdir()
    d = open_window(make_settings())
    d.w.library_ctl.add_folders([folder])
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1"])
    sub = folder / "pub" / "repo"
    sub.mkdir(parents=True)  # a download tool makes its folders, then the file lands
    F.write(sub / "Fresh-1B-Q4_0.gguf", F.small_model_bytes())
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "Fresh-1B-Q4_0"], timeout=15_000)
    # the chat's model list follows
    assert any(p.endswith("Fresh-1B-Q4_0.gguf") for p in d.w.picker._paths)


def test_drop_gguf_files_on_the_window(
    open_window: Any, make_settings: Any, tmp_path: Path
) -> None:
    d = open_window(make_settings())
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1"])
    dropped = F.write(tmp_path / "Dropped-7B-Q4_K_M.gguf", F.small_model_bytes())
    mime = QMimeData()
    mime.setUrls(
        [QUrl.fromLocalFile(str(dropped)), QUrl.fromLocalFile(str(tmp_path / "notes.txt"))]
    )
    # Qt delivers a drop to the window's handlers only inside a real drag; call them as it would.
    enter = QDragEnterEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    d.w.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    d.w.dropEvent(drop)
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "Dropped-7B-Q4_K_M"])
    assert dropped.exists()  # kept where it was


def answer_ok(d: Any, act: Any) -> str:
    """Do ``act``, press OK in the message box it opens, and return the box's details."""
    return str(press_in_box(d.qtbot, act, QMessageBox.StandardButton.Ok)["informative"])


def test_remove_outside_file_keeps_it_and_app_file_is_deleted(
    open_window: Any, make_settings: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    folder = tmp_path / "outside"
    folder.mkdir()
    outside = F.write(folder / "Outside-Q4_0.gguf", F.small_model_bytes())
    d = open_window(make_settings())
    d.w.library_ctl.add_folders([folder])
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "Outside-Q4_0"])
    page = d.w.library_page
    page.select(str(outside))
    assert "stays in" in answer_ok(d, page.remove_btn.click)
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1"])
    assert outside.exists()
    # a model in the app's own folder is deleted, and the space freed is said
    inside = d.w.library.app_folder / "pub" / "repo" / "Inside-Q4_0.gguf"
    inside.parent.mkdir(parents=True)
    F.write(inside, F.small_model_bytes())
    d.w.library_ctl.rescan()
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "Inside-Q4_0"])
    page.select(str(inside))
    assert "deleted from disk" in answer_ok(d, page.remove_btn.click)
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1"])
    assert not inside.exists()
    d.qtbot.waitUntil(lambda: "freeing" in d.w.state_label.text())


def test_first_run_offers_other_apps_folders(
    open_window: Any, make_settings: Any, smollm_path: Path, monkeypatch: Any
) -> None:
    lmstudio = Path.home() / ".lmstudio" / "models" / "pub" / "repo"
    lmstudio.mkdir(parents=True)
    shutil.copy(
        F.write(Path.home() / "x.gguf", F.small_model_bytes()), lmstudio / "Studio-3B-Q8_0.gguf"
    )
    settings = make_settings()
    settings.known_folders_offered = False
    monkeypatch.setattr(QDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    d = open_window(settings)
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "Studio-3B-Q8_0"])
    assert load_settings()[0].known_folders_offered


def test_click_a_row_and_see_it(open_window: Any, make_settings: Any) -> None:
    d = open_window(make_settings())
    d.w.show_page(1)
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1"])
    table = d.w.library_page.table
    rect = table.visualRect(d.w.library_page.proxy.index(0, 0))
    d.qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert "134,515,008" in d.w.library_page.details.toPlainText()
    d.qtbot.mouseDClick(
        table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center() + QPoint(0, 0)
    )
    assert d.w.pages.currentIndex() == 0


@pytest.mark.skipif(os.name != "posix", reason="FIFOs are POSIX files")
def test_a_fifo_in_a_model_folder_neither_hangs_the_scan_nor_the_exit(
    open_window: Any, make_settings: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "with-pipe"
    folder.mkdir()
    os.mkfifo(folder / "x.gguf")
    F.write(folder / "Fine-1B-Q4_0.gguf", F.small_model_bytes())
    d = open_window(make_settings())
    d.w.library_ctl.add_folders([folder])
    wait_names(d, ["SmolLM2-135M-Instruct.Q4_1", "Fine-1B-Q4_0"])
    d.w.close()  # returns: no scan thread is left waiting on the pipe
    assert not d.w.isVisible()


def test_details_show_a_files_alternate_templates(tmp_path: Path, smollm_path: Path) -> None:
    """A file's named alternate templates (``tokenizer.chat_template.tool_use``) are shown with
    the main one."""
    import struct

    from app.core.gguf.header import read_header
    from app.core.gguf.info import info_from_headers
    from app.core.library.index import OK, LibraryEntry
    from app.ui.library.page import details_html

    # A real model's header with one more key, a named template, as the first metadata entry
    # (only the header is read here, so the shifted tensor data does not matter).
    raw = F.with_chat_template(smollm_path, tmp_path / "base.gguf", "{{ messages }}").read_bytes()
    key, text = b"tokenizer.chat_template.tool_use", b"TOOLS {{ tools | tojson }}"
    entry = struct.pack("<Q", len(key)) + key + struct.pack("<IQ", F.STRING, len(text)) + text
    n_kv = struct.unpack_from("<Q", raw, 16)[0]
    path = tmp_path / "with-tool-use.gguf"
    path.write_bytes(raw[:16] + struct.pack("<Q", n_kv + 1) + entry + raw[24:])
    with path.open("rb") as f:
        header = read_header(f, path.stat().st_size)
    info = info_from_headers(str(path), [header], path.stat().st_size)
    assert info.chat_templates == {"tool_use": text.decode()}
    html = details_html(LibraryEntry(str(path), info, OK, None, False))
    assert "also tool_use" in html and "Chat template “tool_use”" in html
    assert "TOOLS {{ tools | tojson }}" in html
