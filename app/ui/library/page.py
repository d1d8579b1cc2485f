"""The Library page: every model Hearth knows, what each one is, and what to do with it.

LibraryPage signals:
    chatRequested(str)         path of the model to chat with
    addFolderRequested()
    importRequested()
    rescanRequested()
    removeRequested(object)    the LibraryEntry
    quantizeRequested(object)  the LibraryEntry to make another quant of
    compareRequested(list)     the quants of one model (LibraryEntry list, two or more)
    selected(object)           the LibraryEntry now shown (None: nothing)
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.gguf.quants import PRESETS, preset_for
from app.core.library.index import OK, LibraryEntry
from app.core.quality.measured import split_name
from app.core.safe_text import clean_line, clean_text
from app.core.units import format_params, human_bytes
from app.ui.fit.meter import FitMeter
from app.ui.library.model import EntryRole, LibraryFilter, LibraryTableModel


def details_html(e: LibraryEntry) -> str:
    """Everything known about one entry, as rich text."""
    i = e.info
    esc = html.escape
    rows: list[tuple[str, str]] = [("File", esc(e.path))]
    if len(i.parts) > 1:
        rows.append(("Parts", "<br>".join(esc(Path(p).name) for p in i.parts)))
    status = {"ok": "OK", "missing": "Missing: the file is no longer there"}.get(
        e.status, f"Invalid: {esc(e.error or '')}"
    )
    rows.append(("Status", status))
    if i.valid:
        preset = preset_for(i.quant)
        quality = f" — {esc(preset.quality)}" if preset else ""
        active = f" ({i.active_parameters:,} active per token)" if i.active_parameters else ""
        rows += [
            ("Architecture", esc(i.architecture or "?")),
            ("Parameters", f"{i.parameters:,}{active}" if i.parameters else "?"),
            ("Size label", esc(i.size_label or "—")),
            ("Quant", f"{esc(i.quant or '?')}, {i.bits_per_weight} bits per weight{quality}"),
            ("File size", human_bytes(i.file_size)),
            ("Context length", f"{i.context_length:,} tokens" if i.context_length else "?"),
            ("Layers", str(i.block_count)),
            ("Embedding length", str(i.embedding_length)),
            ("Attention heads", f"{i.head_count} query, {i.head_count_kv} key/value"),
            ("Key / value length", f"{i.key_length} / {i.value_length}"),
            ("Sliding window", f"{i.sliding_window:,} tokens" if i.sliding_window else "none"),
            (
                "Experts",
                f"{i.expert_used_count} of {i.expert_count} per token"
                if i.expert_count
                else "none",
            ),
            ("Vocabulary", f"{i.vocab_size:,} tokens" if i.vocab_size else "?"),
            (
                "Chat template",
                ("yes" if i.has_chat_template else "none (Hearth uses a plain transcript)")
                + (
                    "; also " + ", ".join(esc(clean_line(n)) for n in sorted(i.chat_templates))
                    if i.chat_templates
                    else ""
                ),
            ),
            ("License", esc(i.license or "?")),
        ]
        if e.mmproj:
            rows.append(("Vision projector", "<br>".join(esc(Path(p).name) for p in e.mmproj)))
    out = ['<table cellspacing="0" cellpadding="3">']
    out += [f"<tr><td><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows]
    out.append("</table>")
    if i.valid and i.tensor_types:
        total = sum(i.tensor_types.values()) or 1
        out.append("<h4>Tensor types</h4><table cellspacing='0' cellpadding='3'>")
        out.append(
            "<tr><th align='left'>type</th><th align='right'>size</th><th align='right'>share</th></tr>"
        )
        for name, size in i.tensor_types.items():
            out.append(
                f"<tr><td>{esc(name)}</td><td align='right'>{human_bytes(size)}</td>"
                f"<td align='right'>{size * 100 / total:.1f}%</td></tr>"
            )
        out.append("</table>")
        if i.tensor_bytes_per_layer:
            layers = i.tensor_bytes_per_layer
            out.append(
                f"<p>Per layer: {human_bytes(min(layers))} to {human_bytes(max(layers))} "
                f"({len(layers)} layers); outside the layers (embeddings, output): "
                f"{human_bytes(i.tensor_bytes_other)}.</p>"
            )
    if i.chat_template:
        out.append("<h4>Chat template</h4>")
        out.append(f"<pre style='white-space:pre-wrap'>{esc(clean_text(i.chat_template))}</pre>")
    for name, text in sorted(i.chat_templates.items()):
        out.append(f"<h4>Chat template “{esc(clean_line(name))}”</h4>")
        out.append(f"<pre style='white-space:pre-wrap'>{esc(clean_text(text))}</pre>")
    if i.metadata:
        out.append("<h4>Metadata</h4><table cellspacing='0' cellpadding='2'>")
        for k, v in sorted(i.metadata.items()):
            out.append(f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>")
        out.append("</table>")
    return "".join(out)


def quants_of(entry: LibraryEntry, entries: list[LibraryEntry]) -> list[LibraryEntry]:
    """The usable quants of ``entry``'s model in the library (the same name but for the quant),
    most bits first; one per quant."""
    base, _quant = split_name(entry.path)
    found: dict[str, LibraryEntry] = {}
    for e in entries:
        if e.status != OK or not e.info.valid:
            continue
        b, q = split_name(e.path)
        if b == base and q is not None:
            found.setdefault(q, e)
    return sorted(found.values(), key=lambda e: -(e.info.bits_per_weight or 0))


class LibraryPage(QWidget):
    chatRequested = Signal(str)
    quantizeRequested = Signal(object)
    compareRequested = Signal(list)
    addFolderRequested = Signal()
    importRequested = Signal()
    rescanRequested = Signal()
    removeRequested = Signal(object)
    selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        top = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name, architecture, quant, folder…")
        self.filter.setClearButtonEnabled(True)
        top.addWidget(self.filter, 1)
        self.add_folder_btn = QPushButton("Add folder…")
        self.import_btn = QPushButton("Import file…")
        self.rescan_btn = QPushButton("Rescan")
        for b in (self.add_folder_btn, self.import_btn, self.rescan_btn):
            top.addWidget(b)
        lay.addLayout(top)
        self.summary = QLabel()
        self.summary.setObjectName("mutedLabel")
        lay.addWidget(self.summary)

        self.model = LibraryTableModel(self)
        self.proxy = LibraryFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 12)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(self._on_double_click)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        actions = QHBoxLayout()
        self.chat_btn = QPushButton("Chat with it")
        self.chat_btn.setObjectName("primaryButton")
        self.reveal_btn = QPushButton("Show in folder")
        self.remove_btn = QPushButton("Remove…")
        for b in (self.chat_btn, self.reveal_btn, self.remove_btn):
            actions.addWidget(b)
        actions.addStretch(1)
        rl.addLayout(actions)
        quality = QHBoxLayout()
        self.quantize_btn = QPushButton("Quantize…")
        self.quantize_btn.setToolTip("Make another quant of this model with llama.cpp's quantizer")
        self.compare_btn = QPushButton("Compare quants")
        quality.addWidget(self.quantize_btn)
        quality.addWidget(self.compare_btn)
        quality.addStretch(1)
        rl.addLayout(quality)
        self.meter = FitMeter()
        rl.addWidget(self.meter)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        rl.addWidget(self.details, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([740, 440])
        lay.addWidget(split, 1)

        self.filter.textChanged.connect(self.proxy.set_text)
        self.add_folder_btn.clicked.connect(self.addFolderRequested)
        self.import_btn.clicked.connect(self.importRequested)
        self.rescan_btn.clicked.connect(self.rescanRequested)
        self.chat_btn.clicked.connect(
            lambda: self._with_current(lambda e: self.chatRequested.emit(e.path))
        )
        self.reveal_btn.clicked.connect(lambda: self._with_current(self._reveal))
        self.remove_btn.clicked.connect(lambda: self._with_current(self.removeRequested.emit))
        self.quantize_btn.clicked.connect(lambda: self._with_current(self.quantizeRequested.emit))
        self.compare_btn.clicked.connect(self._on_compare)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self._on_current(QModelIndex(), QModelIndex())

    def set_entries(self, entries: list[LibraryEntry], seconds: float | None = None) -> None:
        current = self.current()
        self.model.set_entries(entries)
        self.table.resizeColumnsToContents()
        ok = [e for e in entries if e.status == OK]
        total = sum(e.info.file_size for e in ok)
        bad = len(entries) - len(ok)
        text = f"{len(ok)} model{'s' if len(ok) != 1 else ''}, {human_bytes(total)}"
        if bad:
            text += f"; {bad} invalid or missing"
        if seconds is not None:
            text += f" · scanned in {seconds:.2f} s"
        self.summary.setText(text)
        if current is not None:
            self.select(current.path)

    def select(self, path: str) -> None:
        for row in range(self.proxy.rowCount()):
            e = self.proxy.index(row, 0).data(EntryRole)
            if e is not None and e.path == path:
                self.table.selectRow(row)
                return

    def current(self) -> LibraryEntry | None:
        idx = self.table.currentIndex()
        return idx.data(EntryRole) if idx.isValid() else None

    def _with_current(self, fn: object) -> None:
        e = self.current()
        if e is not None:
            fn(e)  # type: ignore[operator]

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        e = current.data(EntryRole) if current.isValid() else None
        for b in (self.chat_btn, self.reveal_btn, self.remove_btn):
            b.setEnabled(e is not None)
        self.chat_btn.setEnabled(e is not None and e.status == OK)
        self.quantize_btn.setEnabled(e is not None and e.status == OK)
        quants = quants_of(e, self.model.entries) if e is not None and e.status == OK else []
        self.compare_btn.setEnabled(len(quants) >= 2)
        self.compare_btn.setToolTip(
            f"Measure {', '.join(q.info.quant or '?' for q in quants[1:])} against "
            f"{quants[0].info.quant} (perplexity and KL divergence)"
            if len(quants) >= 2
            else "Needs two or more quants of this model in the library"
        )
        self.selected.emit(e)
        if e is None:
            self.details.setHtml(
                "<p>Select a model to see what it is.</p><p>Known quant presets: "
                + ", ".join(sorted(PRESETS))
                + ".</p>"
            )
        else:
            self.details.setHtml(details_html(e))

    def _on_compare(self) -> None:
        e = self.current()
        quants = quants_of(e, self.model.entries) if e is not None else []
        if len(quants) >= 2:
            self.compareRequested.emit(quants)

    def _on_double_click(self, index: QModelIndex) -> None:
        e = index.data(EntryRole)
        if e is not None and e.status == OK:
            self.chatRequested.emit(e.path)

    @staticmethod
    def _reveal(e: LibraryEntry) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(e.path).parent)))


def describe_entry(e: LibraryEntry) -> str:
    i = e.info
    return f"{Path(e.path).name} ({format_params(i.parameters)}, {i.quant or '?'}, {human_bytes(i.file_size)})"
