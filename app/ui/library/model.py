"""The library as a Qt table model, with a proxy for sorting and filtering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from app.core.gguf.names import display_name
from app.core.library.index import INVALID, MISSING, LibraryEntry
from app.core.units import format_params, human_bytes

Index = QModelIndex | QPersistentModelIndex
SortRole = Qt.ItemDataRole.UserRole + 10
EntryRole = Qt.ItemDataRole.UserRole + 11

COLUMNS = [
    "Name",
    "Architecture",
    "Parameters",
    "Quant",
    "Bits/weight",
    "Size",
    "Context",
    "Folder",
    "Status",
]


class RowsModel(QAbstractTableModel):
    """A table with one Python object per row and fixed column titles (``columns``)."""

    columns: tuple[str, ...] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def header_tip(self, section: int) -> str | None:
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.header_tip(section)
        return None


class LibraryTableModel(RowsModel):
    columns = tuple(COLUMNS)

    @property
    def entries(self) -> list[LibraryEntry]:
        return self.rows

    def set_entries(self, entries: list[LibraryEntry]) -> None:
        self.set_rows(entries)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        e = self.entries[index.row()]
        col = index.column()
        if role == EntryRole:
            return e
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(e, col)
        if role == SortRole:
            return self._sort_key(e, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return e.error if e.status != "ok" else e.path
        if role == Qt.ItemDataRole.ForegroundRole:
            if e.status == INVALID:
                return QBrush(QColor("#c0392b"))
            if e.status == MISSING:
                return QBrush(QColor("#8a8f98"))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 4, 5, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(e: LibraryEntry, col: int) -> str:
        i = e.info
        if col == 0:
            return display_name(e.path)
        if col == 1:
            return i.architecture or ""
        if col == 2:
            return format_params(i.parameters) if i.valid else ""
        if col == 3:
            return i.quant or ""
        if col == 4:
            return f"{i.bits_per_weight:.2f}" if i.bits_per_weight else ""
        if col == 5:
            return human_bytes(i.file_size) if i.file_size else ""
        if col == 6:
            return f"{i.context_length:,}" if i.context_length else ""
        if col == 7:
            return str(Path(e.path).parent)
        return {"ok": "OK", "missing": "Missing"}.get(e.status, f"Invalid: {e.error}")

    @staticmethod
    def _sort_key(e: LibraryEntry, col: int) -> Any:
        i = e.info
        numeric = {2: i.parameters, 4: i.bits_per_weight, 5: i.file_size, 6: i.context_length}
        if col in numeric:
            return float(numeric[col] or 0)
        return LibraryTableModel._display(e, col).lower()


class LibraryFilter(QSortFilterProxyModel):
    """Sorts by the real values and keeps rows whose any column contains every typed word."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self._words: list[str] = []

    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9 and later
            self.beginFilterChange()
            self._words = text.lower().split()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self._words = text.lower().split()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        hay = " ".join(
            str(model.index(row, c, parent).data(Qt.ItemDataRole.DisplayRole) or "")
            for c in range(model.columnCount())
        ).lower()
        return all(w in hay for w in self._words)
