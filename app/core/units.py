"""Numbers as people read them: file sizes, parameter counts, time left."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    """Sizes of files in decimal units, as the Hub and file managers show them."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def human_bytes_of(part: int, whole: int) -> str:
    """Say "40.0 MB of a 98.4 MB", in exact bytes where the rounded sizes would look equal
    (a file one byte short is not "98.4 MB of a 98.4 MB")."""
    a, b = human_bytes(part), human_bytes(whole)
    if a == b and part != whole:
        return f"{part:,} bytes of a {whole:,}-byte"
    return f"{a} of a {b}"


def format_eta(seconds: float | None) -> str:
    """``1:05`` or ``2:03:10``; an em dash while unknown."""
    if seconds is None or seconds != seconds or seconds > 360000:
        return "—"
    s = int(seconds + 0.5)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_params(n: int | None, space: str = " ") -> str:
    """``8.0 B`` or ``135 M`` parameters; ``?`` when unknown (``space=""``: ``8.0B``)."""
    if not n:
        return "?"
    if n >= 1e9:
        return f"{n / 1e9:.1f}{space}B"
    return f"{n / 1e6:.0f}{space}M"
