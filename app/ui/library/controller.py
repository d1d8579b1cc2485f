"""Runs the library for the window: scans off the GUI thread, watches folders, import and removal.

Signals:
    entriesChanged(list)     the library's entries after a scan
    chatRequested(str)       the user wants to chat with this model
    qualityMeasured()        quants were compared: measured figures were stored
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from app.core.library.folders import KnownFolder, known_folders
from app.core.library.index import Library, LibraryEntry, ScanResult
from app.core.settings import Settings
from app.core.units import human_bytes
from app.ui.common import messages
from app.ui.common.tasks import call_in_gui, run_task
from app.ui.library.page import LibraryPage, describe_entry
from app.ui.quality.compare_dialog import CompareDialog
from app.ui.quality.quantize_dialog import QuantizeDialog

RESCAN_DEBOUNCE_MS = 1500


class LibraryController(QObject):
    entriesChanged = Signal(list)
    chatRequested = Signal(str)
    qualityMeasured = Signal()

    def __init__(
        self,
        library: Library,
        page: LibraryPage,
        settings: Settings,
        save_settings: Callable[[], None],
        parent_widget: QWidget,
    ) -> None:
        super().__init__(parent_widget)
        self.library = library
        self.page = page
        self.settings = settings
        self._save_settings = save_settings
        self._parent = parent_widget
        self.entries: list[LibraryEntry] = []
        self._scanning = False
        self._again = False
        self._last_scan = 0.0
        self.scans = 0
        self._select_after_scan = ""
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(RESCAN_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.rescan)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _p: self._debounce.start())
        page.rescanRequested.connect(self.rescan)
        page.addFolderRequested.connect(self.ask_add_folder)
        page.importRequested.connect(self.ask_import)
        page.removeRequested.connect(self.ask_remove)
        page.chatRequested.connect(self.chatRequested)
        page.quantizeRequested.connect(self.ask_quantize)
        page.compareRequested.connect(self.ask_compare)
        self.dialog: QDialog | None = None  # the quantize or compare dialog open now

    # -- scanning ---------------------------------------------------------------------------------

    def rescan(self) -> None:
        if self._scanning:
            self._again = True
            return
        self._scanning = True

        def job() -> tuple[ScanResult, set[str]]:
            result = self.library.scan()
            return result, self._dirs_to_watch(result.entries)

        run_task(job, self._on_scanned, self._on_scan_failed)

    def rescan_if_stale(self, seconds: float = 3.0) -> None:
        """On returning to the app: look again, unless that was just done."""
        if time.monotonic() - self._last_scan > seconds:
            self.rescan()

    def _on_scanned(self, scanned: tuple[ScanResult, set[str]]) -> None:
        result, watch = scanned
        self._scanning = False
        self._last_scan = time.monotonic()
        self.scans += 1
        self.entries = result.entries
        self.page.set_entries(result.entries, result.seconds)
        if result.notice:
            messages.warning(result.notice)
        if self._watch(watch):
            # A folder that changed between the scan's look at it and the watch being set would
            # give no event (a download tool makes a folder and drops a file in at once): look
            # once more. The next scan watches nothing new, so this does not repeat.
            self._debounce.start()
        self.entriesChanged.emit(result.entries)
        if self._select_after_scan:
            self.page.select(self._select_after_scan)
            self._select_after_scan = ""
        if self._again:
            self._again = False
            self.rescan()

    def _on_scan_failed(self, exc: BaseException) -> None:
        self._scanning = False
        messages.error(f"The model library could not be scanned: {exc}")

    def _dirs_to_watch(self, entries: list[LibraryEntry]) -> set[str]:
        """Each library folder, the folders directly inside it (new downloads land there) and
        every folder holding a model. Runs with the scan, off the GUI thread."""
        wanted: set[str] = set()
        for root in [self.library.app_folder, *self.library.folders()]:
            if root.is_dir():
                wanted.add(str(root))
                wanted.update(
                    str(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                )
        wanted.update(str(Path(e.path).parent) for e in entries if Path(e.path).parent.is_dir())
        return wanted

    def _watch(self, wanted: set[str]) -> bool:
        """Watch exactly ``wanted``; whether any folder is newly watched."""
        current = set(self.watcher.directories())
        if current - wanted:
            self.watcher.removePaths(list(current - wanted))
        if wanted - current:
            self.watcher.addPaths(list(wanted - current))
        # Only what the watcher took: a folder it refuses (permissions) must not rescan forever.
        return bool(set(self.watcher.directories()) - current)

    # -- folders ----------------------------------------------------------------------------------

    def ask_add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._parent, "Add a folder of models", str(Path.home())
        )
        if folder:
            self.add_folders([Path(folder)])

    def add_folders(self, folders: list[Path]) -> None:
        def job() -> list[Path]:
            return [self.library.add_folder(f) for f in folders]

        def done(added: list[Path]) -> None:
            messages.info("Added " + ", ".join(str(f) for f in added) + " to the library")
            self.rescan()

        run_task(job, done, lambda exc: messages.error(f"Could not add the folder: {exc}"))

    def offer_known_folders(self) -> None:
        """Once, on first run: offer the model folders of other apps found on this machine."""
        if self.settings.known_folders_offered:
            return

        def job() -> list[KnownFolder]:
            have = {str(p) for p in self.library.folders()}
            return [k for k in known_folders() if str(k.path.resolve()) not in have]

        run_task(job, self._ask_known_folders)

    def _ask_known_folders(self, found: list[KnownFolder]) -> None:
        self.settings.known_folders_offered = True
        self._save_settings()
        if not found:
            return
        dialog = QDialog(self._parent)
        dialog.setWindowTitle("Models from other apps")
        lay = QVBoxLayout(dialog)
        lay.addWidget(
            QLabel(
                "Hearth found model folders of other apps on this computer.\n"
                "Add them to the library? The files stay where they are."
            )
        )
        boxes = []
        for k in found:
            box = QCheckBox(f"{k.label}: {k.path}")
            box.setChecked(True)
            lay.addWidget(box)
            boxes.append((box, k))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        lay.addWidget(buttons)
        if dialog.exec():
            chosen = [k.path for box, k in boxes if box.isChecked()]
            if chosen:
                self.add_folders(chosen)

    # -- import -----------------------------------------------------------------------------------

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self._parent, "Import a model", str(Path.home()), "GGUF models (*.gguf)"
        )
        if not path:
            return
        box = QMessageBox(self._parent)
        box.setWindowTitle("Import a model")
        box.setText(f"Add {Path(path).name} to the library.")
        box.setInformativeText(
            "Keep it where it is, or put a copy (or the file itself) in Hearth's model folder?"
        )
        keep = box.addButton("Keep it there", QMessageBox.ButtonRole.AcceptRole)
        copy = box.addButton("Copy", QMessageBox.ButtonRole.AcceptRole)
        move = box.addButton("Move", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        clicked = box.clickedButton()
        mode = next(
            (m for b, m in ((keep, "keep"), (copy, "copy"), (move, "move")) if b is clicked), None
        )
        if mode:
            self.import_files([Path(path)], mode)

    def import_files(self, paths: list[Path], mode: str = "keep", report: bool = True) -> None:
        """Add ``paths`` to the library; ``report=False``: a failure is not said (the caller
        already tells the user, as a model opened for a chat whose load fails)."""

        def progress(done: int, total: int) -> None:
            call_in_gui(self.page.summary.setText, f"Importing… {done * 100 // max(total, 1)}%")

        def job() -> list[Path]:
            return [self.library.import_file(p, mode, progress) for p in paths]

        def done(placed: list[Path]) -> None:
            names = ", ".join(p.name for p in placed)
            messages.info(f"Added {names} to the library")
            self.rescan()

        def failed(exc: BaseException) -> None:
            if report:
                text = str(exc)
                messages.error(text[:1].upper() + text[1:])
            self.rescan()

        run_task(job, done, failed)

    # -- removal ----------------------------------------------------------------------------------

    def ask_remove(self, entry: LibraryEntry) -> None:
        box = QMessageBox(self._parent)
        box.setWindowTitle("Remove a model")
        size = human_bytes(entry.info.file_size)
        delete_box = None
        if entry.in_app_folder:
            box.setText(f"Delete {describe_entry(entry)}?")
            box.setInformativeText(
                f"The file is in Hearth's model folder and is deleted from disk, freeing {size}."
            )
        else:
            box.setText(f"Remove {Path(entry.path).name} from the library?")
            box.setInformativeText(f"The file stays in {Path(entry.path).parent}.")
            delete_box = QCheckBox(f"Also delete the file from disk (frees {size})")
            box.setCheckBox(delete_box)
        box.setStandardButtons(QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        if box.exec() != QMessageBox.StandardButton.Ok:
            return
        self.remove(entry, bool(delete_box and delete_box.isChecked()))

    def remove(self, entry: LibraryEntry, delete_file: bool) -> None:
        def done(freed: int) -> None:
            freed_text = (
                f", freeing {human_bytes(freed)}" if freed else "; the file is still on disk"
            )
            messages.info(f"Removed {Path(entry.path).name}{freed_text}")
            self.rescan()

        run_task(
            lambda: self.library.remove(entry.path, delete_file),
            done,
            lambda exc: messages.error(f"Could not remove the model: {exc}"),
        )

    # -- quality ----------------------------------------------------------------------------------

    def ask_quantize(self, entry: LibraryEntry) -> QuantizeDialog:
        """The Quantize dialog for ``entry``; the result joins the library."""
        dialog = QuantizeDialog(entry.path, entry.info.quant, entry.info.parameters, self._parent)
        dialog.made.connect(self._on_quantized)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_quantized(self, path: str) -> None:
        def added(_r: object) -> None:
            self.rescan()
            self._select_after_scan = path

        run_task(
            lambda: self.library.add_file(path),
            added,
            lambda exc: messages.error(f"Could not add {Path(path).name} to the library: {exc}"),
        )

    def ask_compare(self, quants: list[LibraryEntry]) -> CompareDialog:
        """Compare the quants of one model against the one with the most bits."""
        ref, rest = quants[0], quants[1:]
        dialog = CompareDialog(
            (ref.path, ref.info.quant or "?"),
            [(e.path, e.info.quant or "?") for e in rest],
            self._parent,
        )
        dialog.measuredSaved.connect(self.qualityMeasured)
        self.dialog = dialog
        dialog.open()
        return dialog
