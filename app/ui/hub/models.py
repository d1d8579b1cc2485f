"""Qt models for the Hub page: search results (with a filter proxy) and a repo's quant groups."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont

from app.core.hub.client import RepoHit
from app.core.hub.files import QuantGroup
from app.core.hub.fit import group_loss
from app.core.hub.owned import group_key
from app.core.quality.published import ExpectedLoss, describe
from app.core.units import format_params, human_bytes
from app.ui.library.model import RowsModel

Index = QModelIndex | QPersistentModelIndex
SortRole = Qt.ItemDataRole.UserRole + 20
ItemRole = Qt.ItemDataRole.UserRole + 21
SubtitleRole = Qt.ItemDataRole.UserRole + 22
DOWNLOADS_COLUMN, LIKES_COLUMN = 3, 4
QUALITY_COLUMN = 5  # in the quant list

VERDICT_TEXT = {
    "gpu_full": "Fits on the GPU",
    "gpu_partial": "Partly on the GPU",
    "cpu_only": "Fits in RAM",
    "no_fit": "Too big",
    None: "?",
}
VERDICT_RANK = {"gpu_full": 3, "gpu_partial": 2, "cpu_only": 2, "no_fit": 0, None: 1}
VERDICT_COLOR = {
    "gpu_full": "#2e7d32",
    "cpu_only": "#2e7d32",
    "gpu_partial": "#b26a00",
    "no_fit": "#c62828",
}
FITS = ("gpu_full", "gpu_partial", "cpu_only")
IN_LIBRARY_SIGN = "✓"  # before a quant in the list: it is in the library (its tooltip says where)
IN_LIBRARY = f"{IN_LIBRARY_SIGN} In your library"
IN_LIBRARY_COLOR = "#2e7d32"

# Parameter ranges offered in the size filter: (label, min, max).
SIZE_RANGES: list[tuple[str, int | None, int | None]] = [
    ("Any size", None, None),
    ("Up to 2 B", None, 2_000_000_000),
    ("2 – 9 B", 2_000_000_000, 9_000_000_000),
    ("9 – 20 B", 9_000_000_000, 20_000_000_000),
    ("20 – 40 B", 20_000_000_000, 40_000_000_000),
    ("Over 40 B", 40_000_000_000, None),
]


def compact(n: int) -> str:
    """12,345 as 12k and 1,234,567 as 1.2M, as the Hub shows counts."""
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return f"{n:,}"


def _short_name(name: str) -> str:
    for suffix in ("-GGUF", "-gguf", "_GGUF", ".gguf"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


class HitsModel(RowsModel):
    columns = ("Model", "Params", "Fits here", "Downloads", "Likes")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.verdicts: dict[str, str | None] = {}

    @property
    def hits(self) -> list[RepoHit]:
        return self.rows

    def set_hits(self, hits: list[RepoHit], verdicts: dict[str, str | None]) -> None:
        self.verdicts = dict(verdicts)
        self.set_rows(hits)

    def header_tip(self, section: int) -> str | None:
        if section == 2:
            return "Whether the usual 4-bit quant (Q4_K_M) of this model fits this machine"
        return "Parameter count" if section == 1 else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        h = self.hits[index.row()]
        col = index.column()
        verdict = self.verdicts.get(h.repo)
        if role == ItemRole:
            return h
        publisher, _, name = h.repo.partition("/")
        if role == Qt.ItemDataRole.DisplayRole:
            return [
                _short_name(name),
                format_params(h.parameters),
                VERDICT_TEXT[verdict],
                compact(h.downloads),
                compact(h.likes),
            ][col]
        if role == SubtitleRole and col == 0:
            parts = [publisher]
            if h.updated:
                parts.append(f"updated {h.updated[:10]}")
            if h.gated:
                parts.append("gated")
            return " · ".join(parts)
        if role == SortRole:
            return [name.lower(), h.parameters or 0, VERDICT_RANK[verdict], h.downloads, h.likes][
                col
            ]
        if role == Qt.ItemDataRole.ForegroundRole and col == 2 and verdict in VERDICT_COLOR:
            return QColor(VERDICT_COLOR[verdict])
        if role == Qt.ItemDataRole.ToolTipRole:
            gated = (
                "\nGated: accept the model's terms on the Hub and add a token" if h.gated else ""
            )
            return f"{h.repo}\n{h.downloads:,} downloads, {h.likes:,} likes{gated}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (1, 3, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class HitsFilter(QSortFilterProxyModel):
    """Parameter range and 'only what fits' over the results, without asking the Hub again."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.min_params: int | None = None
        self.max_params: int | None = None
        self.fits_only = False

    def set_filter(self, min_params: int | None, max_params: int | None, fits_only: bool) -> None:
        self.beginFilterChange()
        self.min_params, self.max_params, self.fits_only = min_params, max_params, fits_only
        self.endFilterChange()

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, HitsModel)
        h = model.hits[row]
        p = h.parameters
        if self.min_params is not None and (p is None or p < self.min_params):
            return False
        if self.max_params is not None and (p is None or p > self.max_params):
            return False
        return not self.fits_only or model.verdicts.get(h.repo) in FITS


class QuantsModel(RowsModel):
    columns = ("Quant", "Size", "Bits/weight", "Files", "This machine", "KL div.")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.estimating = False
        self.owned: dict[str, str] = {}  # group_key -> the copy in the library
        self.measured: list[dict[str, Any]] = []  # quality measured on this machine

    def loss(self, g: QuantGroup) -> ExpectedLoss | None:
        return group_loss(g, self.measured)

    def set_measured(self, measured: list[dict[str, Any]]) -> None:
        self.measured = list(measured)
        if self.groups:
            last = len(self.columns) - 1
            self.dataChanged.emit(self.index(0, last), self.index(len(self.groups) - 1, last))

    @property
    def groups(self) -> list[QuantGroup]:
        return self.rows

    def set_groups(self, groups: list[QuantGroup], estimating: bool = False) -> None:
        self.estimating = estimating
        self.set_rows(groups)

    def header_tip(self, section: int) -> str | None:
        if section == 2:
            return (
                "Bits per weight, as the library counts them: the tensor data's bytes × 8 / "
                "parameters (the header is left out: exact once a file's header has been read)"
            )
        if section == QUALITY_COLUMN:
            return (
                "Expected loss: mean KL divergence from the full-precision model (lower is "
                "better): measured on this machine when you have compared its quants, else "
                "llama.cpp's published figure for the preset, scaled to the model's size"
            )
        return None

    def set_owned(self, owned: dict[str, str]) -> None:
        """The quants already in the library (``group_key`` -> path); they are marked."""
        self.owned = dict(owned)
        if self.groups:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.groups) - 1, 0))

    def copy_of(self, g: QuantGroup) -> str | None:
        return self.owned.get(group_key(g)) if g.files else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        g = self.groups[index.row()]
        col = index.column()
        if role == ItemRole:
            return g
        copy = self.copy_of(g)
        if col == QUALITY_COLUMN and role in (
            Qt.ItemDataRole.DisplayRole,
            Qt.ItemDataRole.ToolTipRole,
            SortRole,
            Qt.ItemDataRole.ForegroundRole,
        ):
            return self._quality(g, role)
        if role == SortRole:
            return [g.quant, g.size_bytes, g.bits_per_weight or 0, len(g.files), _rank(g)][col]
        if role == Qt.ItemDataRole.DisplayRole:
            verdict = "estimating…" if self.estimating else VERDICT_TEXT[g.verdict]
            return [
                (f"{IN_LIBRARY_SIGN} " if copy else "")
                + g.quant
                + ("   ★ Recommended" if g.recommended else ""),
                human_bytes(g.size_bytes),
                f"{g.bits_per_weight:.2f}" if g.bits_per_weight else "?",
                str(len(g.files)) if len(g.files) > 1 else "1",
                verdict,
            ][col]
        if role == Qt.ItemDataRole.FontRole and g.recommended:
            f = QFont()
            f.setBold(True)
            return f
        if role == Qt.ItemDataRole.ForegroundRole and col == 4 and g.verdict in VERDICT_COLOR:
            return QColor(VERDICT_COLOR[g.verdict])
        if role == Qt.ItemDataRole.ForegroundRole and col == 0 and copy:
            return QColor(IN_LIBRARY_COLOR)
        if role == Qt.ItemDataRole.ToolTipRole:
            names = "\n".join(f.path for f in g.files)
            summary = g.fit.summary if g.fit is not None else ""
            have = f"\nIn your library: {copy}" if copy else ""
            return f"{names}{have}\n{summary}".strip()
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (1, 2, 3, QUALITY_COLUMN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _quality(self, g: QuantGroup, role: int) -> Any:
        loss = self.loss(g)
        if role == SortRole:
            return loss.kld if loss is not None else 99.0
        if loss is None:
            return "?" if role == Qt.ItemDataRole.DisplayRole else None
        if role == Qt.ItemDataRole.DisplayRole:
            mark = {"measured": " ✓", "guess": " ?"}.get(loss.source, "")
            return f"{loss.kld:.4f}{mark}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return QColor(VERDICT_COLOR["gpu_full"]) if loss.source == "measured" else None
        label = {"measured": "Measured", "published": "Published", "guess": "Estimate"}
        return f"{label[loss.source]}: {describe(loss.kld)}\n{loss.note}"


def _rank(g: QuantGroup) -> int:
    return VERDICT_RANK[g.verdict]


class QuantsSort(QSortFilterProxyModel):
    """The quant list sorted by any column (by ``SortRole``); unsorted, the Hub's order."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
