"""The Hub's quality column, the Recommended line and the quality-versus-memory plot."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt

from app.ui.hub.models import QUALITY_COLUMN
from app.ui.quality.plot import GIB, Limit, PlotPoint, QualityPlot
from tests.hub_server import QUANTS_REPO
from tests.ui.hub.test_hub_page import open_hub, pick_repo


def test_the_plot_places_each_quant_by_memory_and_loss(qtbot: Any) -> None:
    plot = QualityPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 260)
    points = [
        PlotPoint("Q2_K", 3 * GIB, 0.445),
        PlotPoint("Q4_K_M", 5 * GIB, 0.031, recommended=True),
        PlotPoint("Q8_0", 9 * GIB, 0.0014, fits=False),
    ]
    plot.set_data(points, [Limit("Free RAM", 7 * GIB)])
    placed = {p.point.label: p for p in plot.placed()}
    assert placed["Q2_K"].x < placed["Q4_K_M"].x < placed["Q8_0"].x  # more memory: right
    assert placed["Q2_K"].y < placed["Q4_K_M"].y < placed["Q8_0"].y  # less loss: lower
    r = plot.plot_rect()
    assert all(r.contains(p.x, p.y) for p in placed.values())
    assert placed["Q4_K_M"].x < plot.limit_x(plot.limits[0]) < placed["Q8_0"].x
    image = plot.grab().toImage()
    # The recommended dot is drawn (a green fill where it sits).
    c = image.pixelColor(int(placed["Q4_K_M"].x), int(placed["Q4_K_M"].y))
    assert c.green() > c.red() and c.green() > 90


def test_hub_shows_expected_loss_the_reason_and_the_plot(open_window, make_settings, hub_server):
    d = open_window(make_settings())
    open_hub(d)
    page = pick_repo(d, QUANTS_REPO)
    model = page.quants_model
    row = {model.groups[r].quant: r for r in range(model.rowCount())}
    q2 = float(model.index(row["Q2_K"], QUALITY_COLUMN).data())
    q8 = float(model.index(row["Q8_0"], QUALITY_COLUMN).data())
    assert q8 < q2
    tip = model.index(row["Q8_0"], QUALITY_COLUMN).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Published: ") and "Llama-3-8B" in tip
    assert page.recommend_note.isVisible()
    assert page.recommend_note.text().startswith("★ Q8_0: fits in RAM with ")
    assert "KL divergence" in page.download_button.toolTip()
    # The list sorts by loss; the selection stays on the recommended quant.
    page.quants.sortByColumn(QUALITY_COLUMN, Qt.SortOrder.AscendingOrder)
    first = page.quants.model().index(0, 0).data()
    assert first.startswith(("F16", "Q8_0"))
    assert page.selected_group().quant == "Q8_0"
    # The plot: a dot per estimated quant, the recommended one marked, free RAM as a line.
    page.tabs.setCurrentWidget(page.plot)
    placed = {p.point.label: p for p in page.plot.placed()}
    assert set(placed) == {"Q2_K", "Q4_1", "Q8_0", "F16", "Q3_K_L"}
    assert [p.point.label for p in placed.values() if p.point.recommended] == ["Q8_0"]
    assert placed["Q2_K"].x < placed["Q8_0"].x < placed["F16"].x
    assert placed["Q8_0"].y > placed["Q2_K"].y
    assert [lim.label for lim in page.plot.limits] == ["Free RAM"]
    if os.environ.get("HEARTH_SHOTS"):
        d.w.grab().save(os.path.join(os.environ["HEARTH_SHOTS"], "hub-quality.png"))
