"""The conversations sidebar: a Qt item model over the store, search, rename, delete, export.

ConversationSidebar signals:
    conversationSelected(int)      id
    newChatRequested()
    renameRequested(int, str)      id, new title
    deleteRequested(int)
    exportRequested(int, str)      id, "md" or "json"
    searchChanged(str)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.core.chat.store import Conversation, SearchHit

IdRole = Qt.ItemDataRole.UserRole + 1
SubtitleRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


def _when(ts: float) -> str:
    d = dt.datetime.fromtimestamp(ts)
    today = dt.date.today()
    if d.date() == today:
        return d.strftime("%H:%M")
    if (today - d.date()).days < 7:
        return d.strftime("%a %H:%M")
    return d.strftime("%d %b %Y")


class ConversationListModel(QAbstractListModel):
    """Rows of conversations (or search hits). Signals: titleEdited(int, str)."""

    titleEdited = Signal(int, str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SearchHit] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        hit = self._rows[index.row()]
        conv = hit.conversation
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return conv.title
        if role == SubtitleRole:
            return (
                hit.snippet if hit.snippet and hit.snippet != conv.title else _when(conv.updated_at)
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{conv.title}\nlast active {_when(conv.updated_at)}"
        if role == IdRole:
            return conv.id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() else base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        title = str(value).strip()
        conv = self._rows[index.row()].conversation
        if not title or title == conv.title:
            return False
        conv.title = title
        self.dataChanged.emit(index, index)
        self.titleEdited.emit(conv.id, title)
        return True

    def set_rows(self, rows: list[SearchHit]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def set_conversations(self, convs: list[Conversation]) -> None:
        self.set_rows([SearchHit(c, "") for c in convs])

    def row_of(self, conv_id: int) -> int:
        return next((i for i, h in enumerate(self._rows) if h.conversation.id == conv_id), -1)

    def conversation(self, row: int) -> Conversation:
        return self._rows[row].conversation

    def upsert(self, conv: Conversation, to_top: bool = True) -> None:
        """Insert or update one conversation (moving it to the top, as most recent)."""
        row = self.row_of(conv.id)
        if row >= 0:
            if to_top and row > 0:
                self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), 0)
                hit = self._rows.pop(row)
                self._rows.insert(0, hit)
                self.endMoveRows()
                row = 0
            self._rows[row] = SearchHit(conv, self._rows[row].snippet)
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)
        else:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._rows.insert(0, SearchHit(conv, ""))
            self.endInsertRows()

    def remove(self, conv_id: int) -> None:
        row = self.row_of(conv_id)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            self._rows.pop(row)
            self.endRemoveRows()


class _TwoLineDelegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        h = option.fontMetrics.height()
        return QSize(200, int(h * 2.6) + 6)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title, sub = opt.text, index.data(SubtitleRole) or ""
        opt.text = ""
        style = opt.widget.style() if opt.widget else QStyle()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        r = opt.rect.adjusted(8, 3, -8, -3)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        pal = opt.palette
        painter.save()
        f = QFont(opt.font)
        f.setWeight(QFont.Weight.DemiBold)
        painter.setFont(f)
        painter.setPen(pal.highlightedText().color() if selected else pal.text().color())
        fm = painter.fontMetrics()
        top = QRect(r.left(), r.top(), r.width(), fm.height())
        painter.drawText(
            top,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            fm.elidedText(title, Qt.TextElideMode.ElideRight, r.width()),
        )
        painter.setFont(opt.font)
        color = pal.highlightedText().color() if selected else pal.placeholderText().color()
        painter.setPen(color)
        fm2 = painter.fontMetrics()
        bottom = QRect(r.left(), top.bottom() + 2, r.width(), fm2.height())
        painter.drawText(
            bottom,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            fm2.elidedText(sub, Qt.TextElideMode.ElideRight, r.width()),
        )
        painter.restore()


class ConversationSidebar(QWidget):
    conversationSelected = Signal(int)
    newChatRequested = Signal()
    renameRequested = Signal(int, str)
    deleteRequested = Signal(int)
    exportRequested = Signal(int, str)
    searchChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        self.new_button = QPushButton("New chat")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.new_button.clicked.connect(self.newChatRequested)
        lay.addWidget(self.new_button)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search chats (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        lay.addWidget(self.search)
        self.model = ConversationListModel(self)
        self.model.titleEdited.connect(self.renameRequested)
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(_TwoLineDelegate(self.view))
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setUniformItemSizes(True)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        lay.addWidget(self.view, 1)
        self.no_match = QLabel()
        self.no_match.setObjectName("mutedLabel")
        self.no_match.setWordWrap(True)
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.no_match.hide()
        lay.addWidget(self.no_match, 1)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(200)
        self._debounce.timeout.connect(lambda: self.searchChanged.emit(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self._setting = False

    def show_search_result(self, text: str, count: int) -> None:
        """Say so when a search finds no chat (an empty list alone looks broken)."""
        empty = bool(text.strip()) and count == 0
        if empty:
            self.no_match.setText(f"No chats match “{text.strip()}”.")
        self.no_match.setVisible(empty)
        self.view.setVisible(not empty)

    def select(self, conv_id: int | None) -> None:
        self._setting = True
        try:
            row = self.model.row_of(conv_id) if conv_id is not None else -1
            if row >= 0:
                self.view.setCurrentIndex(self.model.index(row))
            else:
                self.view.clearSelection()
                self.view.setCurrentIndex(QModelIndex())
        finally:
            self._setting = False

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not self._setting and current.isValid():
            self.conversationSelected.emit(current.data(IdRole))

    def begin_rename(self, conv_id: int) -> None:
        row = self.model.row_of(conv_id)
        if row >= 0:
            self.view.edit(self.model.index(row))

    def _menu(self, pos: Any) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        conv_id = idx.data(IdRole)
        menu = QMenu(self)
        rename = QAction("Rename", menu)
        rename.triggered.connect(lambda: self.view.edit(idx))
        export_md = QAction("Export as Markdown…", menu)
        export_md.triggered.connect(lambda: self.exportRequested.emit(conv_id, "md"))
        export_json = QAction("Export as JSON…", menu)
        export_json.triggered.connect(lambda: self.exportRequested.emit(conv_id, "json"))
        delete = QAction("Delete…", menu)
        delete.triggered.connect(lambda: self.deleteRequested.emit(conv_id))
        for a in (rename, export_md, export_json):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(delete)
        menu.exec(self.view.viewport().mapToGlobal(pos))
