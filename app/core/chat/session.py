"""One conversation's messages as data: what the chat view draws and the store saves.

The controller changes a ``ChatSession`` (a message sent, a reply started, streamed, finished,
the tail cut for a regenerate or an edit); the view renders its messages; the store saves them.
Nothing else edits a ``Message``. A session has no Qt and no store: the caller queues the
matching database writes and hands back the ids the store gave (``saved``).
"""

from __future__ import annotations

from typing import Any

from app.core.chat.store import ERROR, INTERRUPTED, STREAMING, Conversation, Message

FAILED = (ERROR, INTERRUPTED)


class ChatSession:
    """The messages of one conversation (``conversation`` is None until the store creates it).

    At most one reply is written at a time (``reply``); its text grows in pieces and becomes the
    message's content when it is finished. Its thinking (pieces on the ``"reasoning"`` channel)
    grows apart and becomes the message's ``reasoning``.
    """

    def __init__(
        self, conversation: Conversation | None = None, messages: list[Message] | None = None
    ) -> None:
        self.conversation = conversation
        self.messages: list[Message] = list(messages or [])
        self.reply: Message | None = None
        self.left_out = 0  # how many of the oldest messages the context rule left out
        self._parts: list[str] = []
        self._thinking: list[str] = []

    @property
    def conv_id(self) -> int | None:
        return self.conversation.id if self.conversation is not None else None

    # -- changes ----------------------------------------------------------------------------------

    def add_user(self, text: str) -> Message:
        msg = Message(0, self.conv_id or 0, -1, "user", text)
        self.messages.append(msg)
        return msg

    def start_reply(self, model: str, initial: str = "") -> Message:
        msg = Message(0, self.conv_id or 0, -1, "assistant", "", STREAMING, model=model)
        self.messages.append(msg)
        self.resume_reply(msg, initial)
        return msg

    def resume_reply(self, msg: Message, text: str, reasoning: str = "") -> None:
        """Take up a reply that is still being written (its text and thinking so far)."""
        self.reply = msg
        self._parts = [text] if text else []
        self._thinking = [reasoning] if reasoning else []

    def append(self, piece: str, channel: str | None = None) -> None:
        """Add a streamed piece: the answer's, or the thinking's when ``channel`` is "reasoning"."""
        if self.reply is not None and piece:
            (self._thinking if channel == "reasoning" else self._parts).append(piece)

    @property
    def reply_text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @property
    def reply_reasoning(self) -> str:
        if len(self._thinking) > 1:
            self._thinking = ["".join(self._thinking)]
        return self._thinking[0] if self._thinking else ""

    def finish_reply(
        self,
        state: str,
        text: str | None = None,
        stats: dict[str, Any] | None = None,
        reasoning: str | None = None,
    ) -> Message | None:
        """End the reply: ``text`` and ``reasoning`` replace what was streamed when given;
        ``state`` is done, stopped, error or interrupted."""
        msg = self.reply
        if msg is None:
            return None
        msg.content = self.reply_text if text is None else text
        msg.reasoning = (self.reply_reasoning if reasoning is None else reasoning) or None
        msg.state = state
        if stats is not None:
            msg.stats = stats
        self.reply, self._parts, self._thinking = None, [], []
        return msg

    def edit(self, msg: Message, text: str) -> None:
        """Change a user message's text and drop everything after it (it is sent again)."""
        msg.content = text
        self.truncate_after(msg)

    def truncate_after(self, msg: Message | None) -> None:
        """Drop every message after ``msg`` (None: drop them all)."""
        keep = self.messages.index(msg) + 1 if msg is not None else 0
        dropped = self.messages[keep:]
        del self.messages[keep:]
        if self.reply in dropped:
            self.reply, self._parts, self._thinking = None, [], []
        self.left_out = min(self.left_out, len(self.messages))

    def before(self, msg: Message) -> Message | None:
        i = self.messages.index(msg)
        return self.messages[i - 1] if i > 0 else None

    def saved(self, msg: Message, stored: Message) -> None:
        """The store saved ``msg`` as ``stored``: take its id, position and conversation."""
        msg.id, msg.seq, msg.conversation_id = stored.id, stored.seq, stored.conversation_id

    def mark_left_out(self, dropped: int) -> None:
        self.left_out = dropped

    # -- reading ----------------------------------------------------------------------------------

    def last_reply(self) -> Message | None:
        """The last message when it is an assistant's reply (what Regenerate writes again)."""
        last = self.messages[-1] if self.messages else None
        return last if last is not None and last.role == "assistant" else None

    def last_failed(self) -> Message | None:
        """The newest reply that failed or was interrupted (what Retry writes again)."""
        return next((m for m in reversed(self.messages) if m.state in FAILED), None)

    def history(self, system_prompt: str) -> list[dict[str, str]]:
        """What the engine is sent: the system prompt, then the user and assistant turns, without
        the reply being written, failed replies and empty ones. A reply is sent as its answer
        only: its thinking stays out of later prompts (as most templates would drop it)."""
        out: list[dict[str, str]] = []
        if system_prompt.strip():
            out.append({"role": "system", "content": system_prompt})
        for m in self.messages:
            if m.role not in ("user", "assistant") or m is self.reply:
                continue
            if m.role == "assistant" and (m.state == ERROR or not m.content):
                continue
            out.append({"role": m.role, "content": m.content})
        return out

    def out_of_context(self) -> list[Message]:
        """The oldest non-system messages that the context rule left out of the last prompt."""
        turns = [m for m in self.messages if m.role != "system" and m is not self.reply]
        return turns[: self.left_out]
