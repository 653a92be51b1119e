"""The KPI breakdown chart rendered on the server, for the PDF report (SVG, which
WeasyPrint embeds with its text) and the e-mails (PNG, which every mail client shows).

It is the chart the statistics page draws in the browser with ECharts (`kpis.js`): per
breakdown value, the closure, on-time and satisfaction rates as bars on a 0–100 % axis,
and cases created and unreachable callbacks as lines on a count axis. `series` is the one
place that turns KPI rows into those figures; the page, the PDF and the e-mail all use it.

matplotlib draws it (the Agg and SVG canvases directly, never pyplot's global state, so it
is safe in threads); labels use Noto Sans CJK, the font the PDF already uses.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _

from qingquan.reports.selectors import Row

FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans", "DejaVu Sans"]
COLOURS = {
    "closure": "#5470c6",
    "on_time": "#91cc75",
    "satisfaction": "#fac858",
    "created": "#ee6666",
    "unreachable": "#73c0de",
}
# With more categories than this the values are not written on the bars (they would
# overlap); the table under the chart has them.
LABELLED_CATEGORIES = 12


def percent(rate: float | None) -> float | None:
    """A rate as a percentage with two decimals, as the tables show it (60.00 %)."""
    return None if rate is None else round(rate * 100, 2)


def series(rows: Sequence[Row]) -> dict[str, Any]:
    """The chart's figures for KPI rows: category labels, three rates in %, two counts."""
    return {
        "labels": [r.label for r in rows],
        "closure": [percent(r.closure_rate) for r in rows],
        "on_time": [percent(r.on_time_rate) for r in rows],
        "satisfaction": [percent(r.satisfaction) for r in rows],
        "created": [r.created for r in rows],
        "unreachable": [r.cb_unreachable for r in rows],
        "names": {
            "closure": _("Closure rate"),
            "on_time": _("On-time rate"),
            "satisfaction": _("Callback satisfaction"),
            "created": _("Cases created"),
            "unreachable": _("Unreachable"),
        },
    }


def _figure(rows: Sequence[Row], title: str) -> Any:
    from matplotlib.figure import Figure

    data = series(rows)
    names = data["names"]
    count = len(rows)
    figure = Figure(figsize=(10, 4), dpi=100, layout="constrained")
    rates = figure.add_subplot()
    counts = rates.twinx()
    positions = list(range(count))
    width = 0.8 / 3
    labelled = count <= LABELLED_CATEGORIES
    for index, key in enumerate(("closure", "on_time", "satisfaction")):
        values = [math.nan if v is None else v for v in data[key]]
        bars = rates.bar(
            [p + (index - 1) * width for p in positions],
            values,
            width,
            label=names[key],
            color=COLOURS[key],
            gid=f"bars-{key}",
        )
        if labelled:
            rates.bar_label(
                bars,
                labels=["" if v is None else f"{v:.2f}" for v in data[key]],
                fontsize=6,
                padding=1,
            )
    for key, marker in (("created", "o"), ("unreachable", "s")):
        counts.plot(
            positions,
            data[key],
            marker=marker,
            label=names[key],
            color=COLOURS[key],
            gid=f"line-{key}",
        )
        if labelled:
            for x, y in zip(positions, data[key], strict=True):
                counts.annotate(
                    str(y),
                    (x, y),
                    textcoords="offset points",
                    xytext=(0, 4),
                    ha="center",
                    fontsize=6,
                    color=COLOURS[key],
                )
    rates.set_xlim(-0.6, max(count, 1) - 0.4)
    rates.set_ylim(0, 110)
    rates.set_ylabel("%")
    counts.set_ylabel(names["created"])
    counts.set_ylim(bottom=0, top=max([1, *data["created"], *data["unreachable"]]) * 1.15)
    rates.set_xticks(
        positions,
        data["labels"],
        rotation=30 if count > 6 else 0,
        ha="right" if count > 6 else "center",
    )
    if title:
        rates.set_title(title)
    handles = rates.get_legend_handles_labels()
    more = counts.get_legend_handles_labels()
    rates.legend(
        handles[0] + more[0],
        handles[1] + more[1],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 if count <= 6 else -0.3),
        ncols=5,
        fontsize=8,
        frameon=False,
    )
    return figure


def _style() -> Any:
    return {
        "font.family": "sans-serif",
        "font.sans-serif": FONTS,
        "axes.unicode_minus": False,
        # Keep text as text in the SVG: WeasyPrint sets it in the PDF's own fonts, so it
        # is searchable and copyable there.
        "svg.fonttype": "none",
        "svg.hashsalt": "qingquan",  # the same chart gives the same bytes
    }


def svg(rows: Sequence[Row], *, title: str = "") -> str:
    """The chart as an SVG document (text kept as text)."""
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    with matplotlib.rc_context(_style()):
        figure = _figure(rows, title)
        out = io.StringIO()
        FigureCanvasSVG(figure).print_svg(out, metadata={"Date": None})
    return out.getvalue()


def png(rows: Sequence[Row], *, title: str = "") -> bytes:
    """The chart as a PNG image (for e-mail, where SVG is not shown)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with matplotlib.rc_context(_style()):
        figure = _figure(rows, title)
        out = io.BytesIO()
        figure.set_dpi(110)
        FigureCanvasAgg(figure).print_png(out)
    return out.getvalue()
