"""The settings dialog: model folder, theme, default system prompt, default load and sampling options."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core import paths
from app.core.options import LoadOptions, OptionError, SamplingOptions
from app.core.settings import THEMES, Settings
from app.ui.common.options_form import OptionsForm


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.resize(560, 620)
        self.settings = settings
        tabs = QTabWidget()

        general = QWidget()
        gf = QFormLayout(general)
        gf.setContentsMargins(16, 16, 16, 16)
        gf.setHorizontalSpacing(14)
        gf.setVerticalSpacing(10)
        folder_row = QHBoxLayout()
        self.models_dir = QLineEdit(settings.models_dir)
        self.models_dir.setPlaceholderText(str(paths.default_models_dir()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row.addWidget(self.models_dir, 1)
        folder_row.addWidget(browse)
        gf.addRow("Model folder", folder_row)
        self.theme = QComboBox()
        self.theme.addItems([t.capitalize() for t in THEMES])
        self.theme.setCurrentIndex(THEMES.index(settings.theme))
        gf.addRow("Theme", self.theme)
        self.system_prompt = QPlainTextEdit(settings.system_prompt)
        self.system_prompt.setPlaceholderText("No system prompt")
        gf.addRow("Default system prompt", self.system_prompt)
        tabs.addTab(general, "General")

        self.form = OptionsForm(include_load=True)
        self.form.set_values(settings.load, settings.sampling)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)  # the tab's pane is the frame
        scroll.setWidget(self.form)
        tabs.addTab(scroll, "Model and sampling")

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self._defaults
        )
        lay = QVBoxLayout(self)
        lay.setSpacing(12)
        lay.addWidget(tabs)
        lay.addWidget(buttons)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Model folder", self.models_dir.text() or str(paths.default_models_dir())
        )
        if folder:
            self.models_dir.setText(folder)

    def _defaults(self) -> None:
        self.form.set_values(LoadOptions(), SamplingOptions())

    def accept(self) -> None:
        try:
            load = LoadOptions.from_dict(self.form.load_values())
            sampling = self.settings.sampling.merged(self.form.sampling_values())
        except OptionError as exc:
            QMessageBox.warning(self, "Settings", str(exc).capitalize())
            return
        self.settings.models_dir = self.models_dir.text().strip()
        self.settings.theme = THEMES[self.theme.currentIndex()]
        self.settings.system_prompt = self.system_prompt.toPlainText()
        self.settings.load = load
        self.settings.sampling = sampling
        super().accept()
