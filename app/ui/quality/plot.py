"""Quality against memory: each quant a dot (memory it needs at the chosen context across, expected
KL divergence up, on a log scale), the machine's free RAM and VRAM as vertical lines.

The points are computed apart from the drawing (``layout``) so that they can be checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

GIB = 1 << 30


@dataclass(frozen=True)
class PlotPoint:
    label: str
    memory_bytes: int
    kld: float
    source: str = "published"  # "measured", "published", "guess"
    recommended: bool = False
    fits: bool = True


@dataclass(frozen=True)
class Limit:
    label: str  # "Free RAM", "Free VRAM"
    bytes: int


@dataclass(frozen=True)
class Placed:
    point: PlotPoint
    x: float
    y: float


MIN_KLD = 1e-4


class QualityPlot(QWidget):
    """Draws ``set_data``'s points; ``placed()`` gives where each one goes."""

    MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 54, 14, 12, 34

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.points: list[PlotPoint] = []
        self.limits: list[Limit] = []
        self.message = "Pick a model to compare its quants."
        self.setMinimumSize(260, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, points: list[PlotPoint], limits: list[Limit], message: str = "") -> None:
        self.points = [p for p in points if p.memory_bytes > 0]
        self.limits = [lim for lim in limits if lim.bytes > 0]
        self.message = message
        self.setToolTip(
            "\n".join(
                f"{p.label}: {p.memory_bytes / GIB:.2f} GiB, KL divergence {p.kld:.4f} ({p.source})"
                for p in self.points
            )
        )
        self.update()

    # -- geometry ---------------------------------------------------------------------------------

    def plot_rect(self) -> QRectF:
        return QRectF(
            self.MARGIN_LEFT,
            self.MARGIN_TOP,
            max(self.width() - self.MARGIN_LEFT - self.MARGIN_RIGHT, 10),
            max(self.height() - self.MARGIN_TOP - self.MARGIN_BOTTOM, 10),
        )

    def log_x(self) -> bool:
        """Memory on a log scale when the quants and the free memory span more than 10x (a
        linear axis would crowd the small quants into one corner)."""
        xs = [p.memory_bytes for p in self.points] + [lim.bytes for lim in self.limits]
        return bool(xs) and max(xs) > 10 * min(xs)

    def _x(self, value: float) -> float:
        return math.log10(max(value, 1.0)) if self.log_x() else value

    def ranges(self) -> tuple[float, float, float, float]:
        """(x min, x max: bytes, or log10 bytes on a log scale; log10 y min, log10 y max)."""
        xs = [p.memory_bytes for p in self.points] + [lim.bytes for lim in self.limits]
        if self.log_x():
            lo, hi = math.log10(min(xs)), math.log10(max(xs))
            pad = (hi - lo) * 0.06
            x_min, x_max = lo - pad, hi + pad
        else:
            x_min, x_max = 0.0, (max(xs) * 1.08 if xs else GIB)
        ys = [math.log10(max(p.kld, MIN_KLD)) for p in self.points] or [-3.0, 0.0]
        y_lo, y_hi = math.floor(min(ys)), math.ceil(max(ys))
        if y_hi - y_lo < 1:
            y_hi = y_lo + 1
        return x_min, x_max, float(y_lo), float(y_hi)

    def placed(self) -> list[Placed]:
        r = self.plot_rect()
        x0, x1, y0, y1 = self.ranges()
        out = []
        for p in self.points:
            x = r.left() + (self._x(p.memory_bytes) - x0) / (x1 - x0) * r.width()
            ly = math.log10(max(p.kld, MIN_KLD))
            y = r.bottom() - (ly - y0) / (y1 - y0) * r.height()
            out.append(Placed(p, x, y))
        return out

    def limit_x(self, limit: Limit) -> float:
        r = self.plot_rect()
        x0, x1, _y0, _y1 = self.ranges()
        return r.left() + (self._x(limit.bytes) - x0) / (x1 - x0) * r.width()

    # -- drawing ----------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.text().color()
        muted = pal.placeholderText().color()
        r = self.plot_rect()
        if not self.points:
            p.setPen(muted)
            p.drawText(self.rect(), int(Qt.AlignmentFlag.AlignCenter), self.message)
            return
        x0, x1, y0, y1 = self.ranges()
        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() * 0.85, 7.0))
        p.setFont(small)
        fm = p.fontMetrics()
        # Axes and grid: one line per power of ten, a few memory ticks.
        grid = QColor(muted)
        grid.setAlpha(70)
        for k in range(int(y0), int(y1) + 1):
            y = r.bottom() - (k - y0) / (y1 - y0) * r.height()
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.setPen(muted)
            p.drawText(
                QRectF(0, y - 8, self.MARGIN_LEFT - 6, 16),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                f"{10.0**k:g}",
            )
        for v in self._ticks(x0, x1):
            x = r.left() + (self._x(v * GIB) - x0) / (x1 - x0) * r.width()
            p.setPen(muted)
            p.drawText(
                QRectF(x - 30, r.bottom() + 2, 60, 14), int(Qt.AlignmentFlag.AlignHCenter), f"{v:g}"
            )
        p.setPen(QPen(text, 1))
        p.drawLine(r.bottomLeft(), r.bottomRight())
        p.drawLine(r.bottomLeft(), r.topLeft())
        p.setPen(muted)
        p.drawText(
            QRectF(r.left(), r.bottom() + 16, r.width(), 16),
            int(Qt.AlignmentFlag.AlignHCenter),
            "memory needed at this context (GiB" + (", log scale)" if self.log_x() else ")"),
        )
        p.save()
        p.translate(10, r.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-80, -8, 160, 16), int(Qt.AlignmentFlag.AlignCenter), "KL divergence")
        p.restore()
        # The machine's free memory.
        for i, lim in enumerate(self.limits):
            x = self.limit_x(lim)
            color = QColor("#1565c0") if "VRAM" in lim.label else QColor("#6a1b9a")
            p.setPen(QPen(color, 1.5, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            p.setPen(color)
            label = f"{lim.label} {lim.bytes / GIB:.1f} GiB"
            w = fm.horizontalAdvance(label)
            lx = x - w - 4 if x + w + 4 > r.right() else x + 4
            p.drawText(QPointF(lx, r.top() + fm.ascent() + 2 + i * (fm.height() + 1)), label)
        # The quants.
        for pl in self.placed():
            pt = pl.point
            color = QColor("#2e7d32") if pt.fits else QColor("#c62828")
            radius = 6.0 if pt.recommended else 4.0
            p.setPen(QPen(text if pt.recommended else color, 2 if pt.recommended else 1))
            p.setBrush(color if pt.source != "guess" else Qt.BrushStyle.NoBrush)
            p.drawEllipse(QPointF(pl.x, pl.y), radius, radius)
            p.setPen(text)
            label = ("★ " if pt.recommended else "") + pt.label
            f = QFont(small)
            f.setBold(pt.recommended)
            p.setFont(f)
            w = p.fontMetrics().horizontalAdvance(label)
            lx = (
                pl.x + radius + 3 if pl.x + radius + 3 + w < self.width() else pl.x - radius - 3 - w
            )
            p.drawText(QPointF(lx, pl.y - radius), label)
            p.setFont(small)

    def _ticks(self, x0: float, x1: float) -> list[float]:
        """Tick values in GiB across the axis."""
        if self.log_x():
            lo, hi = 10**x0 / GIB, 10**x1 / GIB
            out = []
            k = math.floor(math.log10(lo))
            while 10**k <= hi:
                out += [m * 10**k for m in (1, 2, 5) if lo <= m * 10**k <= hi]
                k += 1
            return out
        step = _nice_step(x1 / GIB)
        return [i * step for i in range(int(x1 / GIB / step) + 1)]


def _nice_step(span: float) -> float:
    raw = max(span / 5, 1e-3)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return float(m * mag)
    return float(10 * mag)
