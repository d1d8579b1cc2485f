"""Hub settings: the Hugging Face token (for gated models), a mirror endpoint and a proxy."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.hub.connection import default_endpoint
from app.core.settings import Settings


class HubSettingsDialog(QDialog):
    """``token()`` is "" when left unchanged, ``forget`` is set when the user asked to remove it."""

    def __init__(
        self,
        settings: Settings,
        token_source: str | None,
        reason: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hub settings")
        self.setMinimumWidth(560)
        self.settings = settings
        self.forget = False
        lay = QVBoxLayout(self)
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)  # wrapped text stays whole
        if reason:
            why = QLabel(reason)
            why.setWordWrap(True)
            why.setObjectName("noticeLabel")
            lay.addWidget(why)
        form = QFormLayout()
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(
            "hf_… (kept; type a new one to replace it)" if token_source else "hf_…"
        )
        form.addRow("Hugging Face token", self.token_edit)
        self.token_status = QLabel(
            f"A token is set ({token_source})." if token_source else "No token is set."
        )
        self.token_status.setObjectName("mutedLabel")
        self.token_status.setWordWrap(True)
        form.addRow("", self.token_status)
        self.forget_button = QPushButton("Forget the token")
        self.forget_button.setEnabled(bool(token_source))
        self.forget_button.clicked.connect(self._on_forget)
        form.addRow("", self.forget_button)
        help_text = QLabel(
            "Gated models (Llama, Gemma and others) need you to accept their terms on "
            "huggingface.co and a read token from your account settings there. Hearth keeps the "
            "token in the system keyring, or where there is none in a file only you can read, and "
            "sends it only to the Hub."
        )
        help_text.setWordWrap(True)
        help_text.setObjectName("mutedLabel")
        form.addRow("", help_text)
        self.endpoint = QLineEdit(settings.hub_endpoint)
        self.endpoint.setPlaceholderText(default_endpoint())
        form.addRow("Hub address (mirror)", self.endpoint)
        self.proxy = QLineEdit(settings.proxy)
        self.proxy.setPlaceholderText("the system's proxy settings")
        form.addRow("Proxy", self.proxy)
        lay.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        if reason:
            self.token_edit.setFocus()

    def _on_forget(self) -> None:
        self.forget = True
        self.token_edit.clear()
        self.token_status.setText("The token will be removed when you save.")
        self.forget_button.setEnabled(False)

    def token(self) -> str:
        return self.token_edit.text().strip()

    def accept(self) -> None:
        self.settings.hub_endpoint = self.endpoint.text().strip().rstrip("/")
        self.settings.proxy = self.proxy.text().strip()
        super().accept()
