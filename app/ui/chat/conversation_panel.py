"""Per-conversation settings: system prompt and option overrides on top of the defaults.

ConversationPanel signals:
    changed(object, dict)      system prompt (None: the default), overrides
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.core.settings import Settings
from app.ui.common.options_form import OptionsForm

if TYPE_CHECKING:
    from app.ui.chat.page import ThinkControls

TEMPLATE_KEYS = ("enable_thinking", "reasoning_effort")  # the Think switch's overrides

SYSTEM_ROUTES = {
    "native": "The loaded model's chat template takes the system prompt as a message of its own.",
    "merged": (
        "The loaded model's chat template has no place for a system prompt: Hearth puts it in "
        "front of your first message, as llama.cpp does."
    ),
}


class ConversationPanel(QScrollArea):
    changed = Signal(object, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setMinimumWidth(300)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        lay = QVBoxLayout(body)
        title = QLabel("<b>This conversation</b>")
        lay.addWidget(title)
        self.note = QLabel(
            "Values that differ from the defaults in Settings apply to this conversation only."
        )
        self.note.setObjectName("mutedLabel")
        self.note.setWordWrap(True)
        lay.addWidget(self.note)
        self.use_default_prompt = QCheckBox("Use the default system prompt")
        lay.addWidget(self.use_default_prompt)
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setPlaceholderText("No system prompt")
        self.system_prompt.setMaximumHeight(120)
        lay.addWidget(self.system_prompt)
        self.system_route = QLabel()
        self.system_route.setObjectName("mutedLabel")
        self.system_route.setWordWrap(True)
        self.system_route.hide()
        lay.addWidget(self.system_route)
        self.form = OptionsForm(include_load=True)
        lay.addWidget(self.form)
        reset = QPushButton("Reset to defaults")
        reset.clicked.connect(self._reset)
        lay.addWidget(reset)
        lay.addStretch(1)
        self.setWidget(body)
        self._settings: Settings | None = None
        self._think: ThinkControls | None = None
        self._loading = False
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(400)
        self._emit_timer.timeout.connect(self._emit)
        self.form.changed.connect(self._schedule)
        self.system_prompt.textChanged.connect(self._schedule)
        self.use_default_prompt.toggled.connect(self._on_toggle)

    def show_conversation(
        self, settings: Settings, system_prompt: str | None, overrides: dict[str, Any]
    ) -> None:
        self._loading = True
        self._settings = settings
        try:
            self.use_default_prompt.setChecked(system_prompt is None)
            self.system_prompt.setPlainText(
                settings.system_prompt if system_prompt is None else system_prompt
            )
            self.system_prompt.setEnabled(system_prompt is not None)
            self.form.set_values(
                settings.load.merged(overrides), settings.sampling.merged(overrides)
            )
            if self._think is not None:
                self._think.set_values(overrides)
        finally:
            self._loading = False

    def attach_think_controls(self, controls: ThinkControls) -> None:
        """The chat header's Think switch: its values are this conversation's overrides too."""
        self._think = controls
        controls.changed.connect(self._emit_now)

    def flush_pending(self) -> None:
        """Send a change still waiting for the typing pause now (before a request is made)."""
        if self._emit_timer.isActive():
            self._emit_now()

    def _emit_now(self) -> None:
        self._emit_timer.stop()
        self._emit()

    def _on_toggle(self, use_default: bool) -> None:
        self.system_prompt.setEnabled(not use_default)
        if use_default and self._settings is not None:
            was, self._loading = self._loading, True
            self.system_prompt.setPlainText(self._settings.system_prompt)
            self._loading = was
        self._schedule()

    def set_system_route(self, how: str | None) -> None:
        """Say how the loaded model's chat template takes a system prompt (None: no model)."""
        text = SYSTEM_ROUTES.get(how or "")
        self.system_route.setText(text or "")
        self.system_route.setVisible(bool(text))

    def _reset(self) -> None:
        if self._settings is not None:
            self.show_conversation(self._settings, None, {})
            self._emit()

    def _schedule(self) -> None:
        if not self._loading:
            self._emit_timer.start()

    def _emit(self) -> None:
        if self._settings is None:
            return
        prompt = None if self.use_default_prompt.isChecked() else self.system_prompt.toPlainText()
        overrides = self.form.overrides_against(self._settings.load, self._settings.sampling)
        if self._think is not None:
            overrides.update(self._think.overrides())
        self.changed.emit(prompt, overrides)
