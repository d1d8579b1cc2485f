"""A conversation's messages as data: sending, streaming, regenerating, editing, the history."""

from __future__ import annotations

from app.core.chat import store as S
from app.core.chat.session import ChatSession
from app.core.chat.store import Conversation, Message


def conversation() -> ChatSession:
    conv = Conversation(7, "Stars", 0.0, 0.0)
    return ChatSession(
        conv,
        [
            Message(1, 7, 0, "user", "What is a star?"),
            Message(2, 7, 1, "assistant", "A ball of gas.", model="m.gguf"),
        ],
    )


def test_a_reply_streams_in_pieces_and_finishes_with_its_state_and_figures() -> None:
    s = ChatSession()
    user = s.add_user("Hi")
    reply = s.start_reply("m.gguf")
    assert reply.state == S.STREAMING and s.reply is reply
    assert s.history("") == [{"role": "user", "content": "Hi"}]  # not the reply being written
    for piece in ("Hel", "lo", "", "!"):
        s.append(piece)
    assert s.reply_text == "Hello!" and reply.content == ""
    assert s.finish_reply(S.DONE, stats={"completion_tokens": 3}) is reply
    assert (reply.content, reply.state, reply.stats) == ("Hello!", S.DONE, {"completion_tokens": 3})
    assert s.reply is None and s.messages == [user, reply]
    assert s.finish_reply(S.DONE) is None  # nothing is being written


def test_the_final_text_replaces_what_streamed_and_a_failure_is_kept_as_such() -> None:
    s = ChatSession()
    s.add_user("Hi")
    s.start_reply("m.gguf")
    s.append("partial")
    reply = s.finish_reply(S.ERROR, "partial text", {"error": "boom"})
    assert reply is not None and reply.content == "partial text" and reply.state == S.ERROR
    assert s.last_failed() is reply
    assert s.history("Be brief.") == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ]


def test_stopped_and_interrupted_replies_count_as_what_they_say() -> None:
    s = conversation()
    s.start_reply("m.gguf")
    s.append("half")
    stopped = s.finish_reply(S.STOPPED)
    assert stopped is not None and stopped.content == "half" and s.last_failed() is None
    interrupted = Message(9, 7, 3, "assistant", "cut", S.INTERRUPTED)
    s.messages.append(interrupted)
    assert s.last_failed() is interrupted and s.last_reply() is interrupted
    assert s.history("")[-1] == {"role": "assistant", "content": "cut"}


def test_regenerate_drops_the_last_reply_and_what_follows() -> None:
    s = conversation()
    last = s.last_reply()
    assert last is not None and last.id == 2
    s.truncate_after(s.before(last))
    assert [m.id for m in s.messages] == [1]
    assert s.last_reply() is None
    s.truncate_after(None)
    assert s.messages == []


def test_editing_a_message_changes_it_and_drops_the_rest() -> None:
    s = conversation()
    first = s.messages[0]
    s.edit(first, "What is a planet?")
    assert s.messages == [first] and first.content == "What is a planet?"


def test_truncating_a_reply_being_written_ends_it() -> None:
    s = conversation()
    s.start_reply("m.gguf")
    s.truncate_after(s.messages[0])
    assert s.reply is None and s.reply_text == ""


def test_the_store_ids_are_taken_when_saved() -> None:
    s = ChatSession()
    user = s.add_user("Hi")
    assert (user.id, user.seq) == (0, -1)
    s.saved(user, Message(41, 3, 0, "user", "Hi"))
    assert (user.id, user.seq, user.conversation_id) == (41, 0, 3)


def test_messages_left_out_of_the_context_are_the_oldest_turns() -> None:
    s = conversation()
    s.messages.insert(0, Message(0, 7, -1, "system", "sys"))
    s.add_user("And a planet?")
    s.start_reply("m.gguf")
    s.mark_left_out(2)
    assert [m.id for m in s.out_of_context()] == [1, 2]
    s.truncate_after(s.messages[1])
    assert s.left_out == 2 and [m.id for m in s.out_of_context()] == [1]


def test_a_reply_taken_up_again_keeps_its_text_so_far() -> None:
    s = conversation()
    msg = Message(3, 7, 2, "assistant", "", S.STREAMING)
    s.messages.append(msg)
    s.resume_reply(msg, "so far")
    s.append(" and more")
    assert s.reply_text == "so far and more"
    assert s.conv_id == 7 and ChatSession().conv_id is None


def test_thinking_streams_apart_and_stays_out_of_the_next_prompt() -> None:
    s = ChatSession()
    s.add_user("Why?")
    reply = s.start_reply("m.gguf")
    s.append("The user ", "reasoning")
    s.append("asks.", "reasoning")
    s.append("Because.")
    assert (s.reply_text, s.reply_reasoning) == ("Because.", "The user asks.")
    s.finish_reply(S.DONE)
    assert (reply.content, reply.reasoning) == ("Because.", "The user asks.")
    s.add_user("And?")
    assert s.history("") == [
        {"role": "user", "content": "Why?"},
        {"role": "assistant", "content": "Because."},
        {"role": "user", "content": "And?"},
    ]
    # The engine's final figures replace what streamed; no thinking is kept as None.
    again = s.start_reply("m.gguf")
    s.append("hm", "reasoning")
    s.finish_reply(S.DONE, "Yes.", reasoning="")
    assert (again.content, again.reasoning) == ("Yes.", None)
    # A reply taken up again keeps its thinking so far.
    third = s.start_reply("m.gguf")
    s.resume_reply(third, "An", "Thinking")
    s.append("swer")
    s.finish_reply(S.STOPPED)
    assert (third.content, third.reasoning) == ("Answer", "Thinking")
