"""The model picker above the chat: which model this conversation uses, and its load state.

ModelPicker signals:
    modelChosen(str)       path
    openFileRequested()
    ejectRequested()
    stopLoadRequested()    the Stop shown in place of Unload while a model loads
    optionsRequested()
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QStackedWidget,
    QToolButton,
    QWidget,
)

from app.core.gguf.names import display_name

OPEN_FILE = "__open__"


class ModelPicker(QWidget):
    modelChosen = Signal(str)
    openFileRequested = Signal()
    ejectRequested = Signal()
    stopLoadRequested = Signal()
    optionsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(8)
        lay.addWidget(QLabel("Model"))
        self.combo = QComboBox()
        self.combo.setMinimumContentsLength(16)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.activated.connect(self._on_activated)
        lay.addWidget(self.combo, 1)
        # The load state and the loading bar take turns in one slot of a fixed width, so the
        # row never moves when loading starts or ends.
        self.state_slot = QStackedWidget()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.status = QLabel("No model loaded")
        self.status.setObjectName("mutedLabel")
        self.state_slot.addWidget(self.status)
        self.state_slot.addWidget(self.progress)
        self.state_slot.setFixedWidth(
            self.status.fontMetrics().horizontalAdvance("1,048,576-token context") + 8
        )
        lay.addWidget(self.state_slot)
        self.options_btn = QToolButton()
        self.options_btn.setText("Load options…")
        self.options_btn.setToolTip(
            "Context length, GPU layers and KV cache, with the memory they take"
        )
        self.options_btn.setAutoRaise(True)
        self.options_btn.clicked.connect(self.optionsRequested)
        lay.addWidget(self.options_btn)
        # Unload, or Stop while a model loads: one button of one width, so the row keeps still.
        self.eject = QToolButton()
        self.eject.setAutoRaise(True)
        self.eject.clicked.connect(self._on_eject)
        lay.addWidget(self.eject)
        self._loading = False
        self._loaded = False
        self._show_eject()
        self._paths: list[str] = []
        self._current: str | None = None

    def set_models(self, paths: list[str]) -> None:
        self._paths = list(dict.fromkeys(paths))
        self._rebuild()

    def set_current(self, path: str | None) -> None:
        self._current = path
        if path and path not in self._paths:
            self._paths.insert(0, path)
        self._rebuild()

    def current(self) -> str | None:
        return self._current

    def _rebuild(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        if self._current is None:
            self.combo.addItem("Choose a model…", None)
        for p in self._paths:
            self.combo.addItem(display_name(p), p)
            self.combo.setItemData(self.combo.count() - 1, p, 3)  # tooltip role
        self.combo.addItem("Open a GGUF file…", OPEN_FILE)
        idx = self.combo.findData(self._current) if self._current else 0
        self.combo.setCurrentIndex(max(idx, 0))
        self.combo.blockSignals(False)

    def _on_activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if data == OPEN_FILE:
            self._rebuild()  # keep showing the current model until a file is chosen
            self.openFileRequested.emit()
        elif data and data != self._current:
            self._current = data
            self._rebuild()
            self.modelChosen.emit(data)

    def set_loading(self, fraction: float | None) -> None:
        if fraction is None:
            self.state_slot.setCurrentWidget(self.status)
        else:
            self.state_slot.setCurrentWidget(self.progress)
            self.progress.setValue(int(fraction * 100))
            self.progress.setFormat("Loading %p%")
        self._loading = fraction is not None
        self._show_eject()

    def set_status(self, text: str, loaded: bool) -> None:
        self.status.setText(text)
        self._loaded = loaded
        self._show_eject()

    def _fit_eject(self) -> None:
        """One width for both of the button's texts, as the style sizes them."""
        self.eject.setMinimumWidth(0)
        self.eject.setMaximumWidth(16777215)
        self.eject.ensurePolished()
        text = self.eject.text()
        widths = []
        for t in ("Unload", "Stop loading"):
            self.eject.setText(t)
            widths.append(self.eject.sizeHint().width())
        self.eject.setText(text)
        self.eject.setFixedWidth(max(widths))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._fit_eject()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_eject()

    def _show_eject(self) -> None:
        if self._loading:
            self.eject.setText("Stop loading")
            self.eject.setToolTip("Stop loading this model (Esc); the model loaded before stays")
            self.eject.setEnabled(True)
        else:
            self.eject.setText("Unload")
            self.eject.setToolTip("Unload the model and free its memory")
            self.eject.setEnabled(self._loaded)

    def _on_eject(self) -> None:
        if self._loading:
            self.stopLoadRequested.emit()
        else:
            self.ejectRequested.emit()
