"""Cost of showing a streamed token in the chat view, early in a chat and after 20,000 tokens.

Runs the real ChatView offscreen: a reply is streamed into it piece by piece (about 4 characters
a token, a repaint tick every 3 tokens as at ~100 tokens/s with the view's 33 ms timer), and the
time of appending, rendering, layout and painting is measured per token. Then the same reply is
streamed at the end of a conversation that already holds 20,000 tokens of messages.

    python bench/bench_render.py [--tokens 1500] [--history-tokens 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication

from app.core.chat.session import ChatSession
from app.core.chat.store import Message
from app.ui.chat.view import ChatView

REPLY = """Here is how to think about it.

1. **First**, read the file with `open()` and keep the lines you need.
2. Then count the words in each line; a dictionary keeps the totals.

```python
def count_words(path: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            for word in line.split():
                totals[word] = totals.get(word, 0) + 1
    return totals
```

| step | cost |
|------|------|
| read | O(n) |
| count | O(n) |

That is all there is to it; the function above runs in linear time.

"""


def reply_text(tokens: int) -> str:
    text = ""
    while len(text) < tokens * 4:
        text += REPLY
    return text[: tokens * 4]


def pieces(text: str) -> list[str]:
    return [text[i : i + 4] for i in range(0, len(text), 4)]


def stream(app: QApplication, view: ChatView, text: str) -> list[float]:
    """Stream ``text`` into a new reply; returns the seconds spent per token, per repaint tick."""
    reply = Message(0, 0, -1, "assistant", "", "streaming")
    widget = view.add_message(reply)
    view.start_stream(reply)
    view._timer.stop()  # ticks are driven here, to time them
    per_token: list[float] = []
    toks = pieces(text)
    for i in range(0, len(toks), 3):
        started = time.perf_counter()
        for t in toks[i : i + 3]:
            view.stream_append(t)
        widget.render_pending()
        app.processEvents()  # layout and paint, as the event loop would
        per_token.append((time.perf_counter() - started) / len(toks[i : i + 3]))
    reply.content, reply.state = text, "done"
    view.finish_stream(reply)
    app.processEvents()
    return per_token


def history(tokens: int) -> list[Message]:
    out: list[Message] = []
    total, i = 0, 0
    while total < tokens:
        out.append(Message(i, 1, i, "user", f"Question {i}: how do I count words in a file?"))
        body = reply_text(500)
        out.append(Message(i + 1, 1, i + 1, "assistant", body))
        total += 12 + 500
        i += 2
    return out


def summary(label: str, rounds: list[float]) -> tuple[str, float]:
    median = statistics.median(rounds) * 1000
    spread = (max(rounds) - min(rounds)) * 1000
    return f"| {label:<37} | {median:8.3f} | {spread:8.3f} |", median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1500, help="tokens in the streamed reply")
    parser.add_argument("--history-tokens", type=int, default=20000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds; medians are shown"
    )
    args = parser.parse_args()
    app = QApplication([])
    view = ChatView()
    view.resize(1000, 800)
    view.show()
    app.processEvents()
    text = reply_text(args.tokens)
    sizes = [0, 2000, args.history_tokens]
    histories = {n: history(n) for n in sizes}
    results: dict[int, list[float]] = {n: [] for n in sizes}
    load_s = 0.0
    for _ in range(args.rounds):  # alternate, so machine noise hits every row alike
        for n in sizes:
            view.clear()
            app.processEvents()
            t0 = time.perf_counter()
            view.show_session(ChatSession(None, histories[n]))
            app.processEvents()
            if n == args.history_tokens:
                load_s = time.perf_counter() - t0
            results[n].append(statistics.fmean(stream(app, view, text)))

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Qt offscreen"
    )
    print(
        f"reply streamed: {args.tokens} tokens; medians of {args.rounds} rounds, each the mean over every token"
    )
    print("| chat before the reply                 | ms/token |   spread |")
    print("|---------------------------------------|----------|----------|")
    means = {}
    for n in sizes:
        label = "empty" if n == 0 else f"{len(histories[n])} messages, ~{n:,} tokens"
        line, means[n] = summary(label, results[n])
        print(line)
    print(
        f"ratio after ~{args.history_tokens:,} tokens / empty chat: "
        f"{means[args.history_tokens] / means[0]:.2f} (target: about 1)"
    )
    print(f"showing the {len(histories[args.history_tokens])}-message history took {load_s:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
