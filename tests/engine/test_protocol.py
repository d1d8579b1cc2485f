"""The protocol's names are its wire text: events written with them are the documented bytes."""

from __future__ import annotations

import pytest

from app.engine import protocol as P
from app.engine.protocol import EngineError, ErrorCode, Event, Op, StopReason


def test_events_written_with_the_names_are_the_documented_bytes() -> None:
    event = {"event": Event.ERROR, "id": 1, "code": ErrorCode.LOAD_FAILED, "message": "Né"}
    assert (
        P.encode(event) == '{"event":"error","id":1,"code":"load_failed","message":"Né"}\n'.encode()
    )
    stats = {"stop_reason": StopReason.CONTEXT_FULL}
    assert P.encode({"event": Event.DONE, "id": 2, "stats": stats}) == (
        b'{"event":"done","id":2,"stats":{"stop_reason":"context_full"}}\n'
    )
    assert P.encode({"op": Op.STOP, "id": -1}) == b'{"op":"stop","id":-1}\n'


def test_decoded_events_compare_equal_to_the_names() -> None:
    event = P.decode(b'{"event":"token","id":3,"text":"Hi"}')
    assert event["event"] == Event.TOKEN and event["event"] is not Event.TOKEN
    assert str(Event.TOKEN) == f"{Event.TOKEN}" == "token"
    assert {s.value for s in StopReason} == {
        "eos",
        "max_tokens",
        "stop_string",
        "stopped",
        "context_full",
    }


def test_a_line_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        P.decode(b"[1, 2]")


def test_an_engine_error_keeps_its_code_and_sentence() -> None:
    exc = EngineError(ErrorCode.NOT_LOADED, "No model is loaded")
    assert exc.code == "not_loaded" and str(exc) == "No model is loaded"
