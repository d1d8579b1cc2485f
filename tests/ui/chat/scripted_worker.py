"""A stand-in engine worker that speaks the real protocol with scripted answers and no model.

Run as ``python -m tests.ui.chat.scripted_worker`` from the repository root. ``load`` reports
progress and a model; ``generate`` streams "Hel", "lo!" and finishes, unless the last message is
"wait": then it streams one piece and waits for ``stop`` (or ``fail``: a decode_failed error).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from app.engine import protocol as P
from app.engine.protocol import ErrorCode, Event, Op, StopReason

MODEL = {"path": "", "name": "Scripted", "n_ctx": 512, "notes": []}
STATS = {"prompt_tokens": 3, "reused_tokens": 0, "dropped_messages": 0, "n_ctx": 512}


def send(**event: Any) -> None:
    sys.stdout.buffer.write(P.encode(event))
    sys.stdout.buffer.flush()


def done(req: int, text: str, reason: StopReason) -> None:
    send(event=Event.DONE, id=req, text=text, stats={**STATS, "stop_reason": reason})


def main() -> int:
    send(event=Event.READY, pid=os.getpid(), llama_cpp_version="scripted", backend="CPU")
    waiting: int | None = None
    for line in sys.stdin.buffer:
        msg = P.decode(line)
        op, req = msg.get("op"), msg.get("id")
        if op == Op.LOAD:
            send(event=Event.PROGRESS, id=req, fraction=0.5)
            send(event=Event.LOADED, id=req, model={**MODEL, "path": msg["path"]})
        elif op == Op.GENERATE:
            last = msg["messages"][-1]["content"]
            send(event=Event.STARTED, id=req, **STATS, template="scripted", template_note=None)
            send(event=Event.TOKEN, id=req, text="Hel")
            if last == "fail":
                send(event=Event.ERROR, id=req, code=ErrorCode.DECODE_FAILED, message="no room")
            elif last == "wait":
                waiting = req
            else:
                send(event=Event.TOKEN, id=req, text="lo!")
                done(req, "Hello!", StopReason.EOS)
        elif op == Op.STOP and req == waiting and waiting is not None:
            done(waiting, "Hel", StopReason.STOPPED)
            waiting = None
        elif op == Op.UNLOAD:
            send(event=Event.UNLOADED, id=req)
    return 0


if __name__ == "__main__":
    sys.exit(main())
