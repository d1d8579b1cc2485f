"""Drives the Hub page: searches and repo reads off the GUI thread, the download queue, the token.

Nothing goes online until ``activate`` (the user opened the Hub page) or the user resumes a
download; huggingface_hub is imported only then, on a worker thread. The quants the user already
has are marked (``refresh_library_marks``: when a repo is shown, when the page comes into view,
when a download finishes, and through ``library_changed``).

HubController signals:
    modelDownloaded(object)   the finished Download (its model is in the library)
    queueChanged(str)         a short summary for the Hub button: "42%", "2 paused" or ""
    chatRequested(str)        the path of a downloaded model to chat with (a row's Chat button)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.core import paths
from app.core.errors import CodedError
from app.core.fit.hardware import Hardware, devices_for
from app.core.fit.placement import FitOptions
from app.core.hub import token as secrets
from app.core.hub.client import Hub, open_hub
from app.core.hub.files import QuantGroup, RepoFiles
from app.core.hub.fit import estimate_groups, hit_verdict, recommend, reference_shape
from app.core.hub.owned import library_copies
from app.core.hub.queue import ACTIVE, DONE, FAILED, Download, DownloadQueue
from app.core.library.index import OK, Library
from app.core.quality import measured
from app.core.settings import Settings
from app.ui.common import messages
from app.ui.common.tasks import call_in_gui, run_task
from app.ui.hub.page import HubPage
from app.ui.hub.settings_dialog import HubSettingsDialog

SEARCH_LIMIT = 100
log = logging.getLogger(__name__)


def verdicts_for(hits: list[Any], hw: Hardware, opts: FitOptions) -> dict[str, str | None]:
    """Whether each search result's Q4_K_M fits this machine."""
    devices = devices_for(hw)
    return {h.repo: hit_verdict(h.repo, h.parameters, devices, hw.flags, opts) for h in hits}


class HubController(QObject):
    modelDownloaded = Signal(object)
    queueChanged = Signal(str)  # a short summary for the page's tab: "42%", "1 paused", ""
    chatRequested = Signal(str)

    def __init__(
        self,
        page: HubPage,
        settings: Settings,
        save_settings: Callable[[], None],
        library: Library,
        hardware: Callable[[], Hardware | None],
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self.page = page
        self.settings = settings
        self.save_settings = save_settings
        self.library = library
        self.hardware = hardware
        self.window = parent
        self._hub: Hub | None = None
        self._hub_lock = threading.Lock()
        self._token_where: str | None = None
        self._asked_token: set[str] = set()  # downloads already asked about a token
        self._search_serial = 0
        self._repo_serial = 0
        self.active = False
        self.last_search: tuple[str, str] | None = None
        self.queue = DownloadQueue(
            paths.data_dir() / "downloads.json",
            self.hub,
            lambda d: call_in_gui(self._on_download_changed, d),
            lambda d: call_in_gui(self._on_download_done, d),
            models_dir=settings.models_path(),
        )
        if self.queue.warning:
            messages.warning(self.queue.warning)
        for d in self.queue.items:
            page.downloads.update_download(d)
        self.update_totals()
        page.fit_options = FitOptions.from_load(settings.load)
        page.searchRequested.connect(self.search)
        page.retryRequested.connect(self.retry)
        page.repoRequested.connect(self.open_repo)
        page.downloadRequested.connect(self.download)
        page.chatRequested.connect(self.chatRequested)
        page.settingsRequested.connect(self.open_settings)
        page.shown.connect(self.refresh_library_marks)
        panel = page.downloads
        panel.pauseRequested.connect(self.queue.pause)
        panel.resumeRequested.connect(self.resume)
        panel.cancelRequested.connect(self.queue.cancel)
        panel.resumeAllRequested.connect(self.resume_all)
        panel.clearRequested.connect(self._on_clear)
        panel.chatRequested.connect(self.chatRequested)

    # -- the client -------------------------------------------------------------------------------

    def hub(self) -> Hub:
        """The Hub client with the current settings (made on first use, on a worker thread)."""
        with self._hub_lock:
            if self._hub is None:
                self._hub = open_hub(self.settings.hub_endpoint, self.settings.proxy)
                self._token_where = secrets.token_source()
            return self._hub

    def activate(self) -> None:
        """The user opened the Hub page: show what is popular, once."""
        if not self.active:
            self.active = True
            self.search(self.page.query.text().strip(), self.page.sort_key())

    def hardware_ready(self) -> None:
        """This machine is known now: give the results already shown their fit verdicts."""
        hw = self.hardware()
        hits = list(self.page.hits_model.hits)
        if hw is None or not hits:
            return
        serial = self._search_serial
        opts = FitOptions.from_load(self.settings.load)

        def job() -> dict[str, str | None]:
            return verdicts_for(hits, hw, opts)

        def done(verdicts: dict[str, str | None]) -> None:
            if serial == self._search_serial:
                self.page.set_hits(hits, verdicts)

        run_task(job, done)

    # -- search and repos -------------------------------------------------------------------------

    def search(self, query: str, sort: str) -> None:
        self.active = True
        self.last_search = (query, sort)
        self._search_serial += 1
        serial = self._search_serial
        self.page.show_results_message("Searching the Hub…")
        hw = self.hardware()
        opts = FitOptions.from_load(self.settings.load)

        def job() -> tuple[list[Any], dict[str, str | None]]:
            hits = self.hub().search(query, sort, SEARCH_LIMIT)
            return hits, verdicts_for(hits, hw, opts) if hw is not None else {}

        def done(result: tuple[list[Any], dict[str, str | None]]) -> None:
            if serial == self._search_serial:
                self.page.notice.hide()
                self.page.set_hits(*result, sort)

        run_task(job, done, lambda exc: self._search_failed(exc, serial))

    def _search_failed(self, exc: BaseException, serial: int) -> None:
        """Where the results go: what happened and what to do, with Try again."""
        if serial != self._search_serial:
            return
        if isinstance(exc, CodedError):
            self.page.show_results_message(str(exc), retry=exc.code != "invalid")
            return
        self.page.show_results_message(
            "Searching the Hub stopped on an unexpected problem. Try again; if it happens again, "
            "the report Hearth saved has the details.",
            retry=True,
        )
        messages.report_exception(exc)

    def _failed(self, exc: BaseException) -> None:
        """A failure beside the main task (the fit estimates): a notice."""
        if isinstance(exc, CodedError):
            self.page.notice.show_notice(str(exc), "warning")
        else:
            messages.report_exception(exc)

    def retry(self) -> None:
        query, sort = self.last_search or ("", self.page.sort_key())
        self.search(query, sort)

    def open_repo(self, repo: str) -> None:
        self._repo_serial += 1
        serial = self._repo_serial
        self.page.show_repo_loading(repo)
        hw = self.hardware()
        opts = FitOptions.from_load(self.settings.load)

        def read() -> RepoFiles:
            return self.hub().repo(repo)

        def shown(files: RepoFiles) -> None:
            if serial != self._repo_serial:
                return
            self.page.show_repo(files, estimating=hw is not None)
            self.refresh_library_marks()
            run_task(lambda: self.hub().model_card(repo, files.revision), card, lambda e: None)
            run_task(lambda: estimate(files), estimated, lambda e: self._failed(e))

        def estimate(files: RepoFiles) -> tuple[RepoFiles, list[dict[str, Any]]]:
            # The header of one quant: exact bits per weight, and the shape for the fit.
            reference_shape(self.hub(), files)
            found = measured.load()  # quality measured here comes before published figures
            if hw is not None:
                estimate_groups(self.hub(), files, devices_for(hw), hw.flags, opts, found)
            return files, found

        def estimated(result: tuple[RepoFiles, list[dict[str, Any]]]) -> None:
            files, found = result
            if serial == self._repo_serial:
                self.page.quants_model.measured = found
                self.page.show_repo(files, estimating=False)

        def card(text: str) -> None:
            if serial == self._repo_serial:
                self.page.show_card(text)

        def failed(exc: BaseException) -> None:
            if serial != self._repo_serial:
                return
            if isinstance(exc, CodedError):
                text, retry = str(exc), exc.code in ("offline", "unavailable", "http")
            else:
                text, retry = "Reading this repository stopped on an unexpected problem.", True
                messages.report_exception(exc)
            self.page.repo_facts.setText(text)
            if retry:
                self.page.notice.show_notice(
                    f"The files of {repo} could not be read from the Hub.",
                    "warning",
                    "Try again",
                    lambda: self.open_repo(repo),
                )

        run_task(read, shown, failed)

    # -- downloads --------------------------------------------------------------------------------

    def download(self, group: QuantGroup, projector: bool) -> None:
        files = self.page.files
        if files is None:
            return
        hub = self.hub()  # made already: the repo was read with it

        def queue() -> None:
            jobs = self.hub().jobs_for(files, group, self.settings.models_path(), projector)
            self.queue.add(files.repo, group.quant, jobs)

        if files.gated and not hub.token:
            self.open_settings(
                f"{files.repo} is gated: accept its terms on huggingface.co, then paste a "
                "Hugging Face token with access here.",
                then=queue,
            )
            return
        queue()

    def resume(self, dl_id: str) -> None:
        self.queue.resume(dl_id)

    def resume_all(self) -> None:
        self.queue.resume_all()

    def _on_clear(self) -> None:
        self.queue.clear_finished()
        self.page.downloads.keep_only({d.id for d in self.queue.items})
        self.update_totals()

    def update_totals(self) -> None:
        done, total, speed = self.queue.totals()
        paused = len(self.queue.pending())
        self.page.downloads.set_totals(done, total, speed, paused)
        running = any(d.state in ACTIVE for d in self.queue.items)
        if running and total:
            self.queueChanged.emit(f"{done * 100 // total}%")
        else:
            self.queueChanged.emit(f"{paused} paused" if paused else "")

    def _on_download_changed(self, d: Download) -> None:
        self.page.downloads.update_download(d)
        self.update_totals()
        if d.state == FAILED and d.error_code == "gated" and d.id not in self._asked_token:
            self._asked_token.add(d.id)  # once: the row keeps the message and a Try again button
            self.open_settings(
                f"{d.repo} needs a Hugging Face token with access to it. Accept the model's "
                "terms on huggingface.co, then paste a read token here.",
                then=lambda: self.queue.resume(d.id),
            )

    def _on_download_done(self, d: Download) -> None:
        self.update_totals()
        models = d.model_paths

        def add() -> None:
            for p in models:
                self.library.add_file(p)  # shown even if it was removed from the library before

        def added(_r: object) -> None:
            self.refresh_library_marks()
            self.modelDownloaded.emit(d)

        run_task(add, added)

    # -- what the library holds already ---------------------------------------------------------

    def quality_measured(self, *_: object) -> None:
        """Quants were compared on this machine: the shown repo's figures and recommendation
        take the measurements in."""
        files = self.page.files
        hw = self.hardware()

        def done(found: list[dict[str, Any]]) -> None:
            if files is None or self.page.files is not files:
                return
            if hw is not None and any(g.fit is not None for g in files.groups):
                recommend(files.groups, any(d.kind == "gpu" for d in devices_for(hw)), found)
            self.page.quants_model.measured = found
            self.page.show_repo(files, estimating=False)

        if files is not None:
            run_task(measured.load, done)

    def library_changed(self, *_: object) -> None:
        """The library changed (a scan, a removal): mark the shown repo's quants again."""
        self.refresh_library_marks()

    def refresh_library_marks(self) -> None:
        """Mark the shown repo's quants that are already in the library (read off the GUI
        thread: the library's index and the disk)."""
        files = self.page.files
        if files is None:
            return
        models_dir = self.settings.models_path()
        # Finished downloads count before the library's next scan has listed them.
        downloaded = [d.model_paths for d in self.queue.items if d.state == DONE and d.model_paths]

        def job() -> dict[str, str]:
            have = [(e.path, e.info.file_size) for e in self.library.entries() if e.status == OK]
            for parts in downloaded:
                if all(p.is_file() for p in parts):
                    have.append((str(parts[0]), sum(p.stat().st_size for p in parts)))
            return library_copies(files, models_dir, have)

        def done(owned: dict[str, str]) -> None:
            if self.page.files is files:
                self.page.set_owned(owned)

        run_task(job, done, lambda exc: log.warning("library marks: %s", exc))

    # -- settings ---------------------------------------------------------------------------------

    def open_settings(self, reason: str = "", then: Callable[[], None] | None = None) -> None:
        """The Hub settings dialog. Once saved (the token is stored off the GUI thread: a keyring
        may take its time), the next request uses the new token, address and proxy, and
        ``then`` runs."""
        where = self._token_where if self._hub is not None else secrets.token_source()
        dialog = HubSettingsDialog(self.settings, where, reason, self.window)
        dialog.setModal(True)
        dialog.accepted.connect(lambda: self._on_settings_saved(dialog, then))
        dialog.open()

    def _on_settings_saved(
        self, dialog: HubSettingsDialog, then: Callable[[], None] | None
    ) -> None:
        self.save_settings()
        token, forget = dialog.token(), dialog.forget

        def store() -> str | None:
            if forget:
                secrets.forget_token()
            return secrets.save_token(token) if token else None

        def stored(where: str | None) -> None:
            with self._hub_lock:
                self._hub = None
            if where:
                messages.info(f"Hugging Face token saved in {where}.")
            if then is not None:
                then()
            if self.page.files is not None and self.page.files.gated:
                self.open_repo(self.page.files.repo)  # its headers can be read now

        run_task(store, stored, lambda e: messages.error(f"Could not save the token: {e}"))

    def close(self) -> None:
        """Pause running downloads (they resume from the same byte next time)."""
        self.queue.close()
