"""What the user does to whole conversations: list, rename, delete, search and export them.

Signals:
    titleChanged(str)    the window title for the conversation shown
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.core.chat import export
from app.core.chat.store import ChatStore, Conversation
from app.core.settings import Settings
from app.ui.chat.controller import ChatController
from app.ui.chat.conversation_list import ConversationSidebar
from app.ui.chat.conversation_panel import ConversationPanel
from app.ui.common import messages
from app.ui.common.tasks import DbQueue


def export_name(title: str) -> str:
    """A file name from a chat's title: whole words, nothing a file system refuses."""
    words = "".join(c if c.isalnum() or c in " -_" else " " for c in title.rstrip("…")).split()
    name = ""
    for word in words:
        if len(name) + len(word) + 1 > 60:
            break
        name = f"{name} {word}" if name else word
    return name or (words[0][:60] if words else "chat")


def window_title(conv: Conversation | None) -> str:
    return f"{conv.title} — Hearth" if conv else "Hearth"


class ConversationActions(QObject):
    titleChanged = Signal(str)

    def __init__(
        self,
        settings: Settings,
        db: DbQueue,
        controller: ChatController,
        sidebar: ConversationSidebar,
        panel: ConversationPanel,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self.settings = settings
        self.db = db
        self.controller = controller
        self.sidebar = sidebar
        self.panel = panel
        self._window = window
        controller.conversationChanged.connect(self._on_conversation_changed)
        controller.conversationTouched.connect(self._on_conversation_touched)
        sidebar.conversationSelected.connect(controller.open_conversation)
        sidebar.newChatRequested.connect(controller.new_chat)
        sidebar.renameRequested.connect(self.rename)
        sidebar.deleteRequested.connect(self.delete)
        sidebar.exportRequested.connect(self.export)
        sidebar.searchChanged.connect(self.search)
        panel.changed.connect(controller.update_conversation)
        controller.settings_flush = panel.flush_pending

    def _on_conversation_changed(self, conv: Conversation | None) -> None:
        self.sidebar.select(conv.id if conv else None)
        self.titleChanged.emit(window_title(conv))
        self.show_settings()

    def show_settings(self) -> None:
        """Show the conversation's system prompt and options in the panel (after a change); a
        new chat's can be set before its first message."""
        ctl = self.controller
        conv = ctl.conv
        self.panel.show_conversation(
            self.settings, ctl.own_system_prompt(conv), ctl.overrides_of(conv)
        )

    def _on_conversation_touched(self, conv_id: int) -> None:
        def done(conv: Conversation | None) -> None:
            if conv is not None and not self.sidebar.search.text():
                self.sidebar.model.upsert(conv)
                if self._shown(conv_id):
                    self.sidebar.select(conv_id)

        self.db.submit(lambda s: s.conversation(conv_id), done)

    def _shown(self, conv_id: int) -> bool:
        return self.controller.conv is not None and self.controller.conv.id == conv_id

    def rename(self, conv_id: int, title: str) -> None:
        self.db.submit(lambda s: s.update_conversation(conv_id, title=title))
        if self.controller.conv is not None and self._shown(conv_id):
            self.controller.conv.title = title
            self.titleChanged.emit(window_title(self.controller.conv))

    def rename_current(self) -> None:
        if self.controller.conv is not None:
            self.sidebar.begin_rename(self.controller.conv.id)

    def delete(self, conv_id: int) -> None:
        if self.controller.active is not None and self.controller.active.conv_id == conv_id:
            messages.warning("Stop the reply before deleting this conversation.")
            return
        row = self.sidebar.model.row_of(conv_id)
        title = self.sidebar.model.conversation(row).title if row >= 0 else "this chat"
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Delete chat",
            f"Delete “{title}” and all its messages?",
            QMessageBox.StandardButton.NoButton,
            self._window,
        )
        box.setInformativeText("This cannot be undone.")
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is not delete:
            return
        self.db.submit(lambda s: s.delete_conversation(conv_id))
        self.sidebar.model.remove(conv_id)
        if self._shown(conv_id):
            self.controller.new_chat()

    def search(self, text: str) -> None:
        def done(hits: Any) -> None:
            self.sidebar.model.set_rows(hits)
            self.sidebar.show_search_result(text, len(hits))
            if self.controller.conv is not None:
                self.sidebar.select(self.controller.conv.id)

        self.db.submit(lambda s: s.search(text), done)

    def focus_search(self) -> None:
        self.sidebar.search.setFocus()
        self.sidebar.search.selectAll()

    def export_current(self, kind: str) -> None:
        if self.controller.conv is None:
            messages.info("There is nothing to export yet.")
            return
        self.export(self.controller.conv.id, kind)

    def export(self, conv_id: int, kind: str) -> None:
        suffix = ".md" if kind == "md" else ".json"
        filt = "Markdown (*.md)" if kind == "md" else "JSON (*.json)"
        row = self.sidebar.model.row_of(conv_id)
        name = self.sidebar.model.conversation(row).title if row >= 0 else "chat"
        path, _ = QFileDialog.getSaveFileName(
            self._window, "Export chat", str(Path.home() / (export_name(name) + suffix)), filt
        )
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() != suffix:
            target = target.with_suffix(suffix)
        settings_prompt = self.settings.system_prompt

        def job(store: ChatStore) -> str:
            conv = store.conversation(conv_id)
            if conv is None:
                raise ValueError("the conversation no longer exists")
            prompt = conv.system_prompt if conv.system_prompt is not None else settings_prompt
            export.export_file(target, conv, store.messages(conv_id), prompt)
            return str(target)

        self.db.submit(
            job,
            lambda p: messages.info(f"Exported to {p}"),
            lambda exc: messages.error(f"Could not export: {exc}"),
        )
