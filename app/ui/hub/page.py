"""The Hub page: search GGUF models, look at a repo's quants and what fits, download, watch the queue.

The notice (``notice``) floats over the foot of the page: showing or hiding it never moves the
search box, the lists or the downloads.

HubPage signals:
    searchRequested(str, str)        query, sort ("downloads", "likes", "recent")
    retryRequested()                 the Try again button under a failed search
    repoRequested(str)               repo id picked in the results
    downloadRequested(object, bool)  the QuantGroup, and whether to take the vision projector
    chatRequested(str)               the library copy of the picked quant, to chat with
    settingsRequested()
    shown()                          the page came into view
"""

from __future__ import annotations

import html
import re
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, QSize, Qt, QUrl, Signal
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QPainter,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QGraphicsDropShadowEffect,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.fit.placement import FitOptions
from app.core.hub.files import QuantGroup, RepoFiles
from app.core.hub.fit import group_loss, why_recommended
from app.core.units import format_params, human_bytes
from app.ui.common.markdown_html import MarkdownRenderer, Palette
from app.ui.common.notice_bar import NoticeBar
from app.ui.fit.meter import FitMeter
from app.ui.hub.downloads_panel import DownloadsPanel
from app.ui.hub.models import (
    DOWNLOADS_COLUMN,
    IN_LIBRARY,
    IN_LIBRARY_COLOR,
    LIKES_COLUMN,
    SIZE_RANGES,
    HitsFilter,
    HitsModel,
    ItemRole,
    QuantsModel,
    QuantsSort,
    SubtitleRole,
)
from app.ui.quality.plot import Limit, PlotPoint, QualityPlot

SORTS = [("Most downloaded", "downloads"), ("Most liked", "likes"), ("Recently updated", "recent")]
_FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.DOTALL)


def card_html(text: str, palette: Palette | None = None) -> tuple[str, list[str]]:
    """A model card as HTML (its YAML header dropped), and its code blocks for the Copy links."""
    body = _FRONT_MATTER.sub("", text, count=1).strip()
    if not body:
        return "<p><i>This repository has no model card.</i></p>", []
    rendered = MarkdownRenderer(palette).render(body)
    return rendered.html, rendered.code_blocks


class TwoLineDelegate(QStyledItemDelegate):
    """The model's name, and below it in a muted colour its publisher, date and gated mark."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Any) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        r = opt.rect.adjusted(6, 3, -4, -3)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        pal = opt.palette
        painter.save()
        fm = opt.fontMetrics
        half = r.height() // 2
        painter.setPen(pal.highlightedText().color() if selected else pal.text().color())
        font = QFont(opt.font)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(
            r.adjusted(0, 0, 0, -half),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            QFontMetrics(font).elidedText(title, Qt.TextElideMode.ElideRight, r.width()),
        )
        painter.setFont(opt.font)
        muted = pal.highlightedText().color() if selected else pal.placeholderText().color()
        painter.setPen(muted)
        painter.drawText(
            r.adjusted(0, half, 0, 0),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            fm.elidedText(
                str(index.data(SubtitleRole) or ""), Qt.TextElideMode.ElideRight, r.width()
            ),
        )
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Any) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), option.fontMetrics.height() * 2 + 10)


def _table(model: object) -> QTableView:
    t = QTableView()
    t.setModel(model)  # type: ignore[arg-type]
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.verticalHeader().hide()
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)
    t.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    t.horizontalHeader().setStretchLastSection(False)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 8)
    return t


def plot_data(
    groups: list[QuantGroup], measured: list[dict[str, Any]]
) -> tuple[list[PlotPoint], list[Limit]]:
    """A dot per quant whose memory is estimated and whose loss is known, and the free memory of
    each device of this machine."""
    points: list[PlotPoint] = []
    limits: dict[str, Limit] = {}
    for g in groups:
        fit, loss = g.fit, group_loss(g, measured)
        if fit is None or loss is None:
            continue
        need = sum(u.resident_bytes for u in fit.devices) or fit.total_bytes
        points.append(
            PlotPoint(g.quant, need, loss.kld, loss.source, g.recommended, g.verdict != "no_fit")
        )
        for u in fit.devices:
            label = "Free VRAM" if u.kind == "gpu" else "Free RAM"
            limits.setdefault(label, Limit(label, u.free_bytes))
    return points, list(limits.values())


NOTICE_MARGIN = 10  # between the floating notice and the page's edges


class HubPage(QWidget):
    searchRequested = Signal(str, str)
    retryRequested = Signal()
    repoRequested = Signal(str)
    downloadRequested = Signal(object, bool)
    chatRequested = Signal(str)
    settingsRequested = Signal()
    shown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = Palette()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)

        bar = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText(
            "Search GGUF models on the Hugging Face Hub (e.g. qwen, llama 8b)"
        )
        self.query.setClearButtonEnabled(True)
        bar.addWidget(self.query, 1)
        self.sort = QComboBox()
        for label, _key in SORTS:
            self.sort.addItem(label)
        bar.addWidget(self.sort)
        self.size_filter = QComboBox()
        for label, _lo, _hi in SIZE_RANGES:
            self.size_filter.addItem(label)
        self.size_filter.setToolTip("Parameter count")
        bar.addWidget(self.size_filter)
        self.fits_only = QCheckBox("Fits this machine")
        self.fits_only.setToolTip("Only models whose Q4_K_M quant fits in this machine's memory")
        bar.addWidget(self.fits_only)
        self.search_button = QPushButton("Search")
        self.search_button.setDefault(True)
        bar.addWidget(self.search_button)
        self.settings_button = QPushButton("Hub settings…")
        bar.addWidget(self.settings_button)
        lay.addLayout(bar)

        # Not in the layout: it floats over the foot of the page (_place_notice).
        self.notice = NoticeBar(self)
        shadow = QGraphicsDropShadowEffect(self.notice)
        shadow.setBlurRadius(18)
        shadow.setOffset(0, 2)
        shadow.setColor(QColor(0, 0, 0, 90))
        self.notice.setGraphicsEffect(shadow)
        self.notice.installEventFilter(self)

        # Results on the left.
        self.hits_model = HitsModel(self)
        self.hits_proxy = HitsFilter(self)
        self.hits_proxy.setSourceModel(self.hits_model)
        self.results = _table(self.hits_proxy)
        self.results.setSortingEnabled(True)
        self.results.sortByColumn(DOWNLOADS_COLUMN, Qt.SortOrder.DescendingOrder)
        self.results.setItemDelegateForColumn(0, TwoLineDelegate(self.results))
        self.results.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() * 2 + 10)
        header = self.results.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(HitsModel.columns)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.results_state = QLabel()
        self.results_state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.results_state.setWordWrap(True)
        self.results_state.setObjectName("mutedLabel")
        self.retry_button = QPushButton("Try again")
        self.retry_button.setAutoDefault(False)
        self.retry_button.hide()
        self.results_message = QWidget()
        ml_ = QVBoxLayout(self.results_message)
        ml_.setContentsMargins(24, 0, 24, 0)
        ml_.addStretch(1)
        ml_.addWidget(self.results_state)
        ml_.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignHCenter)
        ml_.addStretch(1)
        self.results_stack = QStackedWidget()
        self.results_stack.addWidget(self.results_message)
        self.results_stack.addWidget(self.results)
        self.show_results_message(
            "Search the Hugging Face Hub for GGUF models. Hearth goes online only on this page."
        )

        # The repo on the right.
        repo = QWidget()
        rl = QVBoxLayout(repo)
        rl.setContentsMargins(0, 0, 0, 0)
        self.repo_title = QLabel("<i>Pick a model on the left</i>")
        self.repo_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.repo_title.setWordWrap(True)
        rl.addWidget(self.repo_title)
        self.repo_facts = QLabel()
        self.repo_facts.setObjectName("mutedLabel")
        self.repo_facts.setWordWrap(True)
        rl.addWidget(self.repo_facts)
        self.quants_model = QuantsModel(self)
        self.quants_sort = QuantsSort(self)
        self.quants_sort.setSourceModel(self.quants_model)
        self.quants = _table(self.quants_sort)
        self.quants.setSortingEnabled(True)
        self.quants_sort.sort(-1)  # the Hub's order until a column is clicked
        self.quants.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        qh = self.quants.horizontalHeader()
        qh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.quants.setTextElideMode(Qt.TextElideMode.ElideRight)  # the quant's name stays whole
        for col in range(1, len(QuantsModel.columns)):
            qh.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        rl.addWidget(self.quants, 2)
        self.recommend_note = QLabel()
        self.recommend_note.setObjectName("mutedLabel")
        self.recommend_note.setWordWrap(True)
        self.recommend_note.hide()
        rl.addWidget(self.recommend_note)
        # The projector on a line of its own: the mark and the button's text change with the
        # quant picked, and must not widen the panel (the lists would move).
        self.projector = QCheckBox()
        self.projector.setChecked(True)
        self.projector.hide()
        rl.addWidget(self.projector)
        row = QHBoxLayout()
        self.library_mark = QLabel(IN_LIBRARY)
        self.library_mark.setStyleSheet(f"color: {IN_LIBRARY_COLOR}; font-weight: 600;")
        self.library_mark.hide()
        row.addWidget(self.library_mark)
        row.addStretch(1)
        self.download_button = QPushButton("Download")
        self.download_button.setEnabled(False)
        row.addWidget(self.download_button)
        rl.addLayout(row)
        self.tabs = QTabWidget()
        self.card = QTextBrowser()
        self.card.setOpenLinks(False)
        self.card.anchorClicked.connect(self._on_card_link)
        self._card_blocks: list[str] = []
        self.tabs.addTab(self.card, "Model card")
        self.meter = FitMeter()
        meter_wrap = QWidget()
        ml = QVBoxLayout(meter_wrap)
        ml.addWidget(self.meter)
        ml.addStretch(1)
        self.tabs.addTab(meter_wrap, "Memory")
        self.plot = QualityPlot()
        self.plot.setToolTip("")
        self.tabs.addTab(self.plot, "Quality")
        rl.addWidget(self.tabs, 3)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.results_stack)
        top.addWidget(repo)
        top.setSizes([600, 560])
        self.downloads = DownloadsPanel()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.downloads)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([700, 40])
        self.downloads.rowsChanged.connect(self._fit_downloads)
        lay.addWidget(self.splitter, 1)

        self.files: RepoFiles | None = None
        self.fit_options = FitOptions()  # the defaults from the settings, set by the controller
        self.query.returnPressed.connect(self._on_search)
        self.search_button.clicked.connect(self._on_search)
        self.sort.currentIndexChanged.connect(self._on_search)
        self.size_filter.currentIndexChanged.connect(self._on_filter)
        self.fits_only.toggled.connect(self._on_filter)
        self.settings_button.clicked.connect(self.settingsRequested)
        self.retry_button.clicked.connect(self.retryRequested)
        self.results.selectionModel().currentRowChanged.connect(self._on_hit)
        self.quants.selectionModel().currentRowChanged.connect(self._on_quant)
        self.download_button.clicked.connect(self._on_download)

    # -- search -----------------------------------------------------------------------------------

    def sort_key(self) -> str:
        return SORTS[self.sort.currentIndex()][1]

    def _on_search(self, *_: object) -> None:
        self.searchRequested.emit(self.query.text().strip(), self.sort_key())

    def _on_filter(self, *_: object) -> None:
        _label, lo, hi = SIZE_RANGES[self.size_filter.currentIndex()]
        self.hits_proxy.set_filter(lo, hi, self.fits_only.isChecked())
        if self.hits_model.hits and self.hits_proxy.rowCount() == 0:
            self.show_results_message("No result matches these filters.")
        elif self.hits_model.hits:
            self.results_stack.setCurrentWidget(self.results)

    def show_results_message(self, text: str, retry: bool = False) -> None:
        """A sentence where the results go (searching, nothing found, a failure); ``retry``
        offers Try again under it."""
        self.results_state.setText(text)
        self.retry_button.setVisible(retry)
        self.results_stack.setCurrentWidget(self.results_message)

    def set_hits(self, hits: list, verdicts: dict, sort: str | None = None) -> None:
        self.hits_model.set_hits(hits, verdicts)
        if sort == "downloads":
            self.results.sortByColumn(DOWNLOADS_COLUMN, Qt.SortOrder.DescendingOrder)
        elif sort == "likes":
            self.results.sortByColumn(LIKES_COLUMN, Qt.SortOrder.DescendingOrder)
        elif sort == "recent":  # the Hub's order; no column holds it
            self.hits_proxy.sort(-1)
            self.results.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
        if not hits:
            self.show_results_message("No GGUF model on the Hub matches this search.")
            return
        self.results_stack.setCurrentWidget(self.results)
        self._on_filter()

    def _on_hit(self, current: QModelIndex, _previous: QModelIndex) -> None:
        hit = current.data(ItemRole) if current.isValid() else None
        if hit is not None:
            self.repoRequested.emit(hit.repo)

    # -- a repo ----------------------------------------------------------------------------------

    def show_repo_loading(self, repo: str) -> None:
        self.files = None
        self.repo_title.setText(f"<b>{html.escape(repo)}</b>")
        self.repo_facts.setText("Reading the repository…")
        self.quants_model.set_owned({})
        self.quants_model.set_groups([])
        self.recommend_note.hide()
        self.plot.set_data([], [], "Reading the repository…")
        self.projector.hide()
        self._update_action()
        self.card.setHtml("")
        self.meter.set_model(None)

    def show_repo(self, files: RepoFiles, estimating: bool) -> None:
        self.files = files
        facts = []
        if files.parameters:
            facts.append(f"{format_params(files.parameters)} parameters")
        if files.architecture:
            facts.append(files.architecture)
        if files.context_length:
            facts.append(f"{files.context_length:,}-token context")
        facts.append(f"{len(files.groups)} quant(s)")
        if files.gated:
            facts.append("gated: needs a Hugging Face token with access")
        self.repo_facts.setText(" · ".join(facts))
        current = self.selected_group()
        self.quants_model.set_groups(files.groups, estimating)
        if files.projectors:
            p = files.projectors[0]
            self.projector.setText(
                f"With the vision projector ({p.path.rsplit('/', 1)[-1]}, {human_bytes(p.size)})"
            )
            self.projector.show()
        else:
            self.projector.hide()
        if not files.groups:
            self.repo_facts.setText(self.repo_facts.text() + " · no GGUF files")
        # Keep the user's pick; otherwise select the recommended quant.
        pick = next(
            (i for i, g in enumerate(files.groups) if current and g.quant == current.quant), None
        )
        if pick is None:
            pick = next((i for i, g in enumerate(files.groups) if g.recommended), None)
        if pick is not None:
            self.quants.selectRow(
                self.quants_sort.mapFromSource(self.quants_model.index(pick, 0)).row()
            )
        self._on_quant(self.quants.currentIndex(), QModelIndex())
        self._show_quality(files, estimating)

    def set_measured(self, measured: list[dict[str, Any]]) -> None:
        """Quality measured on this machine: it takes the published figures' place."""
        self.quants_model.set_measured(measured)
        if self.files is not None:
            self._show_quality(self.files, self.quants_model.estimating)

    def _show_quality(self, files: RepoFiles, estimating: bool) -> None:
        """The recommendation's reason under the list, and the quality-versus-memory plot."""
        measured = self.quants_model.measured
        rec = next((g for g in files.groups if g.recommended), None)
        if rec is not None:
            self.recommend_note.setText("★ " + why_recommended(rec, measured))
            self.recommend_note.show()
        else:
            self.recommend_note.hide()
        points, limits = plot_data(files.groups, measured)
        message = (
            "Estimating what each quant needs here…"
            if estimating
            else "No estimate of the memory each quant needs."
        )
        self.plot.set_data(points, limits, message)

    def show_card(self, text: str) -> None:
        body, self._card_blocks = card_html(text, self.palette_)
        self.card.setHtml(body)

    def selected_group(self) -> QuantGroup | None:
        idx = self.quants.currentIndex()
        return idx.data(ItemRole) if idx.isValid() else None

    def set_owned(self, owned: dict[str, str]) -> None:
        """The quants of the shown repo already in the library (``group_key`` -> path): marked
        in the list, and the button beside them opens a chat instead of downloading again."""
        self.quants_model.set_owned(owned)
        self._update_action()

    def copy_of_selected(self) -> str | None:
        g = self.selected_group()
        return self.quants_model.copy_of(g) if g is not None else None

    def _on_quant(self, current: QModelIndex, _previous: QModelIndex) -> None:
        g = current.data(ItemRole) if current.isValid() else None
        self._update_action()
        if g is not None:
            self.meter.set_model(g.shape, self.fit_options)

    def _update_action(self) -> None:
        g = self.selected_group()
        copy = self.copy_of_selected()
        self.download_button.setEnabled(g is not None)
        self.library_mark.setVisible(copy is not None)
        why = (
            why_recommended(g, self.quants_model.measured)
            if g is not None and g.recommended
            else ""
        )
        if g is None:
            self.download_button.setText("Download")
            self.download_button.setToolTip("")
        elif copy is not None:
            self.library_mark.setText(f"{IN_LIBRARY}: {g.quant}")
            self.library_mark.setToolTip(copy)
            self.download_button.setText("Chat with it")
            self.download_button.setToolTip(f"Open a new chat with {copy}")
        else:
            self.download_button.setText(f"Download {g.quant} ({human_bytes(g.size_bytes)})")
            self.download_button.setToolTip(why)

    def _on_download(self) -> None:
        g = self.selected_group()
        if g is None:
            return
        copy = self.quants_model.copy_of(g)
        if copy is not None:
            self.chatRequested.emit(copy)  # it is here already: no second download
            return
        self.downloadRequested.emit(g, self.projector.isVisible() and self.projector.isChecked())

    # -- the floating notice ----------------------------------------------------------------------

    def _place_notice(self) -> None:
        """Over the foot of the page, as wide as the page allows, as tall as its text needs."""
        n = self.notice
        width = max(self.width() - 2 * NOTICE_MARGIN, 100)
        height = n.heightForWidth(width) if n.hasHeightForWidth() else n.sizeHint().height()
        height = max(height, n.minimumSizeHint().height())
        n.setGeometry(NOTICE_MARGIN, self.height() - height - NOTICE_MARGIN, width, height)
        n.raise_()

    def _fit_downloads(self, rows: int) -> None:
        """The downloads panel takes the room its rows need (up to three), its header alone when
        nothing is listed: the lists above keep the rest."""
        total = sum(self.splitter.sizes())
        head = self.downloads.sizeHint().height() if rows == 0 else 0
        want = head or min(3, rows) * 52 + 48
        if total > want:
            self.splitter.setSizes([total - want, want])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.notice and event.type() in (
            QEvent.Type.Show,
            QEvent.Type.LayoutRequest,
        ):
            self._place_notice()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_notice()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not event.spontaneous():
            self.shown.emit()

    def _on_card_link(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("hearth-copy:"):
            n = int(text.split(":", 1)[1])
            if 0 <= n < len(self._card_blocks):
                QGuiApplication.clipboard().setText(self._card_blocks[n])
            return
        if url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)
