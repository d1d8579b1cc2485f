"""What happens when the user sends, stops, regenerates, edits or retries, and when the engine answers.

The controller ties the chat view, the composer, the model picker, the store (on its own thread)
and the engine bridge together. The conversation shown is a ``ChatSession``: the controller changes
it, then tells the view what to redraw and queues the store's writes. A reply in progress is an ``ActiveReply``: its text lives in a
``ReplyRecorder`` that is saved every half second and when the reply ends, so neither a crash of
the engine nor a kill of the app loses more than the last second.

It is one module of about 480 lines because sending, loading and the engine's events share one
state machine (a reply may wait for a load, a failed load ends the reply); conversation actions
live in conversations.py and the widgets in view.py and message_widget.py.

Signals:
    conversationChanged(object)    the Conversation shown (None: a new, unsaved chat)
    conversationTouched(int)       a conversation was created or got a new message
    statsChanged(str)              the figures line for the status bar
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.core.chat import store as S
from app.core.chat.recorder import ReplyRecorder
from app.core.chat.session import ChatSession
from app.core.chat.store import ChatStore, Conversation, Message
from app.core.options import split_overrides
from app.core.settings import Settings
from app.ui.chat.composer import Composer
from app.ui.chat.conversation_panel import TEMPLATE_KEYS
from app.ui.chat.engine_bridge import EngineBridge
from app.ui.chat.message_widget import format_stats
from app.ui.chat.model_picker import ModelPicker
from app.ui.chat.view import ChatView
from app.ui.common import messages
from app.ui.common.notice_bar import NoticeBar
from app.ui.common.tasks import DbQueue

SAVE_TICK_MS = 500


def title_from(text: str, limit: int = 48) -> str:
    """A chat's title from its first message: the first line, cut at a word if it is long."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "New chat")
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


@dataclass
class ActiveReply:
    """The reply being written: its session (shown or not), its message and its saving."""

    session: ChatSession
    message: Message
    model: str
    history: list[dict[str, str]]
    sampling: dict[str, Any]
    template: dict[str, Any] = field(default_factory=dict)  # the Think switch's overrides
    recorder: ReplyRecorder = field(init=False)
    ids: dict[str, int | None] = field(default_factory=lambda: {"msg": None, "conv": None})
    stats: dict[str, Any] | None = None
    waiting_for_load: bool = False
    think_start: float | None = None  # when the first piece of thinking came
    think_s: float | None = None  # from then to the first piece of the answer

    def end_thinking(self) -> None:
        if self.think_start is not None and self.think_s is None:
            self.think_s = time.monotonic() - self.think_start

    @property
    def conv_id(self) -> int | None:
        return self.session.conv_id


class ChatController(QObject):
    conversationChanged = Signal(object)
    conversationTouched = Signal(int)
    statsChanged = Signal(str)

    def __init__(
        self,
        settings: Settings,
        db: DbQueue,
        bridge: EngineBridge,
        view: ChatView,
        composer: Composer,
        picker: ModelPicker,
        notice: NoticeBar,
        save_settings: Any,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.db = db
        self.bridge = bridge
        self.view = view
        self.composer = composer
        self.picker = picker
        self.notice = notice
        self._save_settings = save_settings
        self.session = ChatSession()
        self.active: ActiveReply | None = None
        self._showing: int | None = None  # conversation id whose messages the view shows
        # A new chat's settings before it is saved (its first message saves them with it).
        self._draft: dict[str, Any] = {}  # overrides, the Think switch's included
        self._draft_prompt: str | None = None  # None: the default system prompt
        # Called before every request, so that settings still being typed are the ones used.
        self.settings_flush: Any = lambda: None
        self._load_for: ChatSession | None = None  # the chat whose model is being loaded
        self._tick = QTimer(self)
        self._tick.setInterval(SAVE_TICK_MS)
        self._tick.timeout.connect(self._flush)

        composer.sendRequested.connect(self.send)
        composer.editCancelled.connect(lambda: view.set_editing(None))
        composer.stopRequested.connect(self.stop)
        view.regenerateRequested.connect(self.regenerate)
        view.retryRequested.connect(self.retry)
        view.editRequested.connect(self.begin_edit)
        picker.modelChosen.connect(self.choose_model)
        picker.ejectRequested.connect(self.unload_model)
        picker.stopLoadRequested.connect(self.stop)
        bridge.stateChanged.connect(self._on_state)
        bridge.loadProgress.connect(picker.set_loading)
        bridge.modelLoaded.connect(self._on_loaded)
        bridge.loadFailed.connect(self._on_load_failed)
        bridge.replyStarted.connect(self._on_started)
        bridge.tokenReceived.connect(self._on_token)
        bridge.reasoningReceived.connect(self._on_reasoning)
        bridge.replyDone.connect(self._on_done)
        bridge.replyFailed.connect(self._on_failed)
        bridge.crashed.connect(self._on_crashed)

    @property
    def conv(self) -> Conversation | None:
        """The conversation shown (None: a new chat not saved yet)."""
        return self.session.conversation

    def _shows(self, a: ActiveReply) -> bool:
        return self.session is a.session

    # -- options ----------------------------------------------------------------------------------

    def model_for_current(self) -> str | None:
        if self.conv is not None and self.conv.model_path:
            return self.conv.model_path
        return self.picker.current() or self.settings.last_model

    def options_for(self, conv: Conversation | None) -> tuple[dict[str, Any], dict[str, Any]]:
        load_over, samp_over = split_overrides(self.overrides_of(conv))
        return (
            self.settings.load.merged(load_over).to_dict(),
            self.settings.sampling.merged(samp_over).to_dict(),
        )

    def overrides_of(self, conv: Conversation | None) -> dict[str, Any]:
        """The conversation's overrides (None: the new chat's, not saved yet)."""
        return conv.overrides if conv is not None else self._draft

    def template_overrides(self, conv: Conversation | None) -> dict[str, Any]:
        """The conversation's Think switch values (enable_thinking, reasoning_effort)."""
        over = self.overrides_of(conv)
        return {k: over[k] for k in TEMPLATE_KEYS if k in over}

    def _generate(self, a: ActiveReply) -> None:
        """Ask for the reply, with the template options the loaded model's template takes."""
        info = self.bridge.loaded_info or {}
        takes = {
            "enable_thinking": info.get("thinking_switch"),
            "reasoning_effort": info.get("reasoning_efforts"),
        }
        kwargs = {k: v for k, v in a.template.items() if takes.get(k)}
        self.bridge.generate(a.history, a.sampling, kwargs or None)

    def own_system_prompt(self, conv: Conversation | None) -> str | None:
        """The conversation's own system prompt (None: the default from Settings)."""
        return conv.system_prompt if conv is not None else self._draft_prompt

    def system_prompt_for(self, conv: Conversation | None) -> str:
        own = self.own_system_prompt(conv)
        return own if own is not None else self.settings.system_prompt

    @staticmethod
    def _key(model: str, load: dict[str, Any]) -> tuple[str, str]:
        return (model, json.dumps(load, sort_keys=True))

    # -- conversations ----------------------------------------------------------------------------

    def new_chat(self) -> None:
        self.new_chat_with(self.settings.last_model or self.picker.current())

    def new_chat_with(self, model: str | None) -> None:
        """A new, empty chat with ``model`` (loaded ahead of the first message)."""
        self.session = ChatSession()
        self._draft, self._draft_prompt = {}, None
        self._showing = None
        self.view.clear()
        self._show_figures()
        self.composer.cancel_edit()
        self.notice.hide()
        self.conversationChanged.emit(None)
        self.composer.input.setFocus()
        self.picker.set_current(model)
        self.preload()

    def open_conversation(self, conv_id: int) -> None:
        if self._showing == conv_id:
            return

        def job(store: ChatStore) -> tuple[Conversation | None, list[Message]]:
            return store.conversation(conv_id), store.messages(conv_id)

        self.db.submit(job, self._show)

    def _show(self, result: tuple[Conversation | None, list[Message]]) -> None:
        conv, msgs = result
        if conv is None:
            return
        a = self.active
        if a is not None and a.conv_id == conv.id:
            a.session.conversation = conv  # the reply's own session holds its text so far
            self.session = a.session
        else:
            self.session = ChatSession(conv, msgs)
        self._showing = conv.id
        self.composer.cancel_edit()
        self.notice.hide()
        self.view.show_session(self.session)
        self._show_figures()
        self.picker.set_current(conv.model_path or self.settings.last_model)
        self.view.set_busy(self.bridge.busy)
        self.conversationChanged.emit(conv)
        self.preload()

    def update_conversation(self, system_prompt: str | None, overrides: dict[str, Any]) -> None:
        conv = self.conv
        if conv is None:
            self._draft, self._draft_prompt = dict(overrides), system_prompt
            self.preload()  # a new context length or other load option applies at once
            return
        conv.system_prompt = system_prompt
        conv.overrides = overrides
        self.db.submit(
            lambda s: s.update_conversation(
                conv.id, system_prompt=system_prompt, overrides=overrides
            )
        )

    # -- models -----------------------------------------------------------------------------------

    def choose_model(self, path: str) -> None:
        """Use ``path`` in the chat shown; it becomes the last model used once it loads."""
        if self.conv is not None:
            self.conv.model_path = path
            conv_id = self.conv.id
            self.db.submit(lambda s: s.update_conversation(conv_id, model_path=path))
        self.picker.set_current(path)
        self.preload()

    def preload(self) -> None:
        """Load the current conversation's model ahead of the first message, when idle."""
        model = self.model_for_current()
        if not model or self.bridge.state in ("loading", "generating") or self.active is not None:
            return
        load, _ = self.options_for(self.conv)
        key = self._key(model, load)
        if self.bridge.loaded_key != key:
            self._load_for = self.session
            self.bridge.load(model, load, key)
        else:
            self._show_loaded(self.bridge.loaded_info or {})

    def _show_loaded(self, info: dict[str, Any]) -> None:
        self.picker.set_loading(None)
        self.picker.set_status(f"{info.get('n_ctx', 0):,}-token context", loaded=True)

    def unload_model(self) -> None:
        if self.active is None:
            self.bridge.unload()
            self.picker.set_status("Not loaded", loaded=False)

    def _on_loaded(self, info: dict[str, Any]) -> None:
        self._show_loaded(info)
        path = info.get("path")
        if isinstance(path, str) and path != self.settings.last_model:
            self.settings.remember_model(path)  # a file that failed to load is never "last"
            self._save_settings()
        for note in info.get("notes") or []:
            self.notice.show_notice(note, "info")
        a = self.active
        if a is not None and a.waiting_for_load:
            a.waiting_for_load = False
            self._generate(a)
        elif a is None:
            self.preload()  # the chat shown changed its model while this one loaded

    def _on_load_failed(self, code: str, message: str) -> None:
        """The chat that asked for the model shows the error; the model loaded before stays."""
        self.picker.set_loading(None)
        self.picker.set_status("Not loaded", loaded=False)
        asked, self._load_for = self._load_for, None
        a = self.active
        if a is not None and a.waiting_for_load:
            asked = a.session
            state = S.STOPPED if code == "cancelled" else S.ERROR
            self._finish(a, state, "", {"error": message} if state == S.ERROR else {}, message)
        if code == "cancelled" and asked is self.session:
            self._back_to_loaded()
        elif code != "cancelled" and asked is self.session:
            self.notice.show_notice(message, "error")

    def _back_to_loaded(self) -> None:
        """A load the user stopped: the chat shown goes back to the model still loaded (the one
        before, which the engine keeps), so the next message does not start that load again."""
        info = self.bridge.loaded_info
        path = info.get("path") if info else None
        if info is None or not isinstance(path, str):
            return  # nothing is loaded: the picker says "Not loaded"
        if self.conv is not None and self.conv.model_path != path:
            self.conv.model_path = path
            conv_id = self.conv.id
            self.db.submit(lambda s: s.update_conversation(conv_id, model_path=path))
        self.picker.set_current(path)
        self._show_loaded(info)

    # -- sending ----------------------------------------------------------------------------------

    def send(self, text: str) -> None:
        if self.active is not None:
            return
        self.settings_flush()
        model = self.model_for_current()
        if not model:
            messages.warning("Choose a model first (the Model list above the chat).")
            return
        editing = self.composer.editing
        self.composer.sent()
        self.view.set_editing(None)
        if editing is not None:
            self._resend_edited(editing, text)
            return
        user = self.session.add_user(text)
        self.view.add_message(user)
        self.view.scroll_to_bottom()
        self._start_reply(model, new_user=user)

    def _resend_edited(self, msg: Message, text: str) -> None:
        if msg not in self.session.messages or self.conv is None:
            return
        conv = self.conv
        first = next((m for m in self.session.messages if m.role == "user"), None)
        # A title made from the first message follows its edit (a title the user gave stays).
        retitle = msg is first and conv.title == title_from(msg.content)
        self.session.edit(msg, text)
        self.view.remove_after(msg)
        self.view.refresh(msg)
        msg_id, seq, conv_id = msg.id, msg.seq, self.conv.id

        new_title = title_from(text) if retitle else None
        if new_title is not None:
            conv.title = new_title

        def job(store: ChatStore) -> None:
            store.update_message(msg_id, content=text)
            store.truncate_after(conv_id, seq)
            if new_title is not None:
                store.update_conversation(conv_id, title=new_title)

        self.db.submit(job, lambda _r: self.conversationTouched.emit(conv_id))
        if new_title is not None:
            self.conversationChanged.emit(conv)  # the window title
        model = self.model_for_current()
        if model:
            self._start_reply(model)

    def begin_edit(self, msg: Message) -> None:
        if self.active is None:
            self.composer.begin_edit(msg, msg.content)
            self.view.set_editing(msg)

    def regenerate(self) -> None:
        last = self.session.last_reply()
        if last is not None:
            self._redo(last)

    def retry(self) -> None:
        failed = self.session.last_failed()
        if failed is not None:
            self._redo(failed)

    def _redo(self, msg: Message) -> None:
        """Replace an assistant message (and anything after it) with a new reply."""
        if self.active is not None or self.conv is None:
            return
        model = self.model_for_current()
        if not model:
            return
        self.settings_flush()
        prev = self.session.before(msg)
        seq, conv_id = msg.seq, self.conv.id
        self.session.truncate_after(prev)
        self.view.remove_after(prev)
        self.db.submit(lambda s: s.truncate_after(conv_id, seq - 1))
        self._start_reply(model)

    def _history(self, conv: Conversation | None) -> list[dict[str, str]]:
        return self.session.history(self.system_prompt_for(conv))

    def _start_reply(self, model: str, new_user: Message | None = None) -> None:
        session = self.session
        conv = session.conversation
        load, sampling = self.options_for(conv)
        history = self._history(conv)
        reply = session.start_reply(model)
        self.view.add_message(reply)
        self.view.start_stream(reply)
        self.view.scroll_to_bottom()
        a = ActiveReply(session, reply, model, history, sampling, self.template_overrides(conv))
        draft = dict(self._draft) if conv is None else {}
        draft_prompt = self._draft_prompt if conv is None else None
        a.recorder = ReplyRecorder(lambda text, state: self._save_reply(a, text, state))
        a.ids["conv"] = a.conv_id
        self.active = a
        self._show_figures()
        self._set_busy(True)
        self._tick.start()

        title = title_from(new_user.content) if new_user else "New chat"
        user_text = new_user.content if new_user else None

        def job(store: ChatStore) -> tuple[Conversation | None, Message | None, Message]:
            created = None
            if a.ids["conv"] is None:
                created = store.create_conversation(title, model)
                a.ids["conv"] = created.id
                if draft or draft_prompt is not None:  # set before the chat was saved
                    store.update_conversation(
                        created.id, overrides=draft, system_prompt=draft_prompt
                    )
                    created.overrides, created.system_prompt = dict(draft), draft_prompt
            cid = a.ids["conv"]
            assert cid is not None
            um = store.add_message(cid, "user", user_text) if user_text is not None else None
            am = store.add_message(cid, "assistant", "", S.STREAMING, model=model)
            a.ids["msg"] = am.id
            return created, um, am

        def done(result: tuple[Conversation | None, Message | None, Message]) -> None:
            created, um, am = result
            if created is not None:
                session.conversation = created
                if self._shows(a) and self._showing is None:
                    self._showing = created.id
                    self.conversationChanged.emit(created)
            if um is not None and new_user is not None:
                session.saved(new_user, um)
            session.saved(reply, am)
            if a.conv_id is not None:
                self.conversationTouched.emit(a.conv_id)

        self.db.submit(job, done, self._on_store_error)

        key = self._key(model, load)
        if self.bridge.loaded_key == key and self.bridge.state != "loading":
            self._generate(a)
        else:
            a.waiting_for_load = True
            if not (self.bridge.state == "loading" and self.bridge.pending_key == key):
                self.bridge.load(model, load, key)

    def stop(self) -> None:
        self.bridge.stop()

    # -- engine events ----------------------------------------------------------------------------

    def _on_state(self, state: str) -> None:
        self.composer.set_busy(self.active is not None)
        self.view.set_busy(state in ("loading", "generating"))
        if state == "loading":
            self.picker.set_loading(0.0)

    def _on_started(self, info: dict[str, Any]) -> None:
        a = self.active
        if a is None:
            return
        dropped = int(info.get("dropped_messages") or 0)
        a.session.mark_left_out(dropped)
        if self._shows(a):
            self.view.mark_out_of_context(a.session.out_of_context())
        if dropped:
            self.notice.show_notice(
                f"The {dropped} oldest message{'s' if dropped != 1 else ''} no longer fit in the "
                f"{info.get('n_ctx', 0):,}-token context and {'were' if dropped != 1 else 'was'} left "
                "out (dimmed above). The system prompt and the newest messages are kept; raise the "
                "context length in this conversation's settings to keep more.",
                "warning",
            )

    def _on_token(self, text: str) -> None:
        a = self.active
        if a is None:
            return
        if text:
            a.end_thinking()
        a.recorder.append(text)
        a.session.append(text)
        if self._shows(a):
            self.view.stream_append(text)

    def _on_reasoning(self, text: str) -> None:
        a = self.active
        if a is None:
            return
        if a.think_start is None:
            a.think_start = time.monotonic()
        a.recorder.append(text, "reasoning")
        a.session.append(text, "reasoning")
        if self._shows(a):
            self.view.stream_reasoning(text)

    def _on_done(self, text: str, stats: dict[str, Any]) -> None:
        a = self.active
        if a is None:
            return
        state = S.STOPPED if stats.get("stop_reason") == "stopped" else S.DONE
        reasoning = stats.get("reasoning")
        if isinstance(reasoning, str):
            # done's text holds the thinking too (with its tags): the answer is what streamed.
            self._finish(a, state, None, stats, reasoning=reasoning)
        else:
            self._finish(a, state, text, stats, reasoning="")
        if self._shows(a):
            self._show_figures()
        if stats.get("stop_reason") == "context_full":
            self.notice.show_notice(
                "The context is full, so the reply was cut off. Raise the context length in this "
                "conversation's settings, or start a new chat.",
                "warning",
            )

    def _on_failed(self, code: str, message: str) -> None:
        a = self.active
        if a is None:
            return
        self._finish(a, S.ERROR, a.recorder.text, {"error": message}, message)
        self.notice.show_notice(message, "error")

    def _on_crashed(self, message: str) -> None:
        self.picker.set_loading(None)
        self.picker.set_status("Not loaded", loaded=False)
        a = self.active
        text = f"{message}. Your conversation is kept."
        if a is not None:
            self._finish(a, S.ERROR, a.recorder.text, {"error": message}, message)
            self.notice.show_notice(
                text + " Retry starts a new engine.", "error", "Retry", self.retry
            )
        else:
            self.notice.show_notice(text + " A new engine starts with your next message.", "error")

    def _finish(
        self,
        a: ActiveReply,
        state: str,
        text: str | None,
        stats: dict[str, Any] | None,
        error: str = "",
        reasoning: str | None = None,
    ) -> None:
        """End the reply; ``text`` and ``reasoning`` (the engine's final ones) replace what
        streamed when given."""
        a.end_thinking()
        if a.think_s is not None:
            stats = {**(stats or {}), "thinking_s": round(a.think_s, 1)}
        a.stats = stats or None
        a.recorder.finish(state, text, reasoning)
        msg = a.session.finish_reply(state, text, stats, reasoning)
        if msg is not None and self._shows(a):
            self.view.finish_stream(msg, error)
        self.active = None
        self._tick.stop()
        self._set_busy(False)

    def _show_figures(self) -> None:
        """The status bar's figures: the last reply of the chat shown (none while one is written)."""
        a = self.active
        last = self.session.last_reply()
        writing = a is not None and self._shows(a)
        self.statsChanged.emit("" if writing or last is None else format_stats(last.stats))

    def _set_busy(self, busy: bool) -> None:
        self.composer.set_busy(busy)
        self.view.set_busy(busy)

    # -- saving -----------------------------------------------------------------------------------

    def _flush(self) -> None:
        if self.active is not None:
            self.active.recorder.flush_if_due()

    def _save_reply(self, a: ActiveReply, text: str, state: str | None) -> None:
        stats = a.stats if state is not None else None
        reasoning = a.recorder.reasoning  # "" saves no thinking

        def job(store: ChatStore) -> None:
            msg_id = a.ids["msg"]
            if msg_id is not None:
                store.update_message(
                    msg_id, content=text, state=state, stats=stats, reasoning=reasoning
                )

        self.db.submit(job, None, self._on_store_error)

    def _on_store_error(self, exc: BaseException) -> None:
        messages.error(
            f"Hearth could not save to the chat database: {exc}. What is on screen is kept; "
            "copy anything you need before closing."
        )

    def shutdown(self) -> None:
        """On quit: save a reply in progress as stopped."""
        a = self.active
        if a is not None:
            self.bridge.stop()
            self._finish(a, S.STOPPED, a.recorder.text, {"stop_reason": "stopped"})
