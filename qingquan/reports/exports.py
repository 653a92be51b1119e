"""The KPI report as an Excel workbook (openpyxl) and as a PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import io
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from qingquan.reports import charts, selectors
from qingquan.reports.periods import Period

COLUMNS = (
    ("label", "Breakdown"),
    ("contacts", "Contacts handled"),
    ("created", "Cases created"),
    ("done", "Created and resolved"),
    ("closure_rate", "Closure rate"),
    ("resolved", "Cases resolved"),
    ("on_time", "Resolved on time"),
    ("late", "Late"),
    ("on_time_rate", "On-time rate"),
    ("cb_satisfied", "Satisfied"),
    ("cb_fairly", "Fairly satisfied"),
    ("cb_dissatisfied", "Dissatisfied"),
    ("cb_unreachable", "Unreachable"),
    ("cb_declined", "Declined"),
    ("satisfaction", "Callback satisfaction"),
)
RATES = {"closure_rate", "on_time_rate", "satisfaction"}


def column_titles() -> list[str]:
    titles = {
        "label": _("Breakdown"),
        "contacts": _("Contacts handled"),
        "created": _("Cases created"),
        "done": _("Created and resolved"),
        "closure_rate": _("Closure rate"),
        "resolved": _("Cases resolved"),
        "on_time": _("Resolved on time"),
        "late": _("Late (deadline passed unresolved)"),
        "on_time_rate": _("On-time rate"),
        "cb_satisfied": _("Satisfied"),
        "cb_fairly": _("Fairly satisfied"),
        "cb_dissatisfied": _("Dissatisfied"),
        "cb_unreachable": _("Unreachable"),
        "cb_declined": _("Declined"),
        "satisfaction": _("Callback satisfaction"),
    }
    return [titles[key] for key, _title in COLUMNS]


def report_data(*, user: Any, period: Period, by: str | None) -> dict[str, Any]:
    """Everything a report shows: overall, the breakdown, and the previous period."""
    return {
        "period": period,
        "by": by,
        "by_label": selectors.BREAKDOWNS.get(by or "", ""),
        "compare": selectors.comparison(user=user, period=period),
        "overall": selectors.kpi_table(user=user, period=period)[0],
        "rows": selectors.kpi_table(user=user, period=period, by=by) if by else [],
        "columns": column_titles(),
    }


def excel(*, user: Any, period: Period, by: str | None) -> bytes:
    """A workbook: sheet 1 the overall figures and the breakdown, sheet 2 the comparison."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data = report_data(user=user, period=period, by=by)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("KPIs")[:31]
    sheet.append([_("Qingquan 96390 KPI report"), period.label])
    sheet.append([])
    sheet.append(data["columns"])
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    lines = [data["overall"], *data["rows"]]
    for row in lines:
        values = row.as_dict()
        sheet.append([values[key] for key, _t in COLUMNS])
        for index, (key, _t) in enumerate(COLUMNS, start=1):
            if key in RATES:
                sheet.cell(row=sheet.max_row, column=index).number_format = "0.00%"
    sheet.column_dimensions["A"].width = 24
    previous = book.create_sheet(_("Previous period")[:31])
    previous.append([pgettext("reporting period", "Period"), *data["columns"][1:]])
    for label, row in (
        (period.label, data["compare"]["current"]),
        (period.previous().label, data["compare"]["previous"]),
    ):
        values = row.as_dict()
        previous.append([label, *(values[key] for key, _t in COLUMNS[1:])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def chart_title(data: dict[str, Any]) -> str:
    return _("By %(by)s") % {"by": data["by_label"]} if data["by"] else ""


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def pdf(*, user: Any, period: Period, by: str | None) -> bytes:
    """The same report as a PDF (Noto CJK fonts render the Chinese)."""
    return pdf_of(report_data(user=user, period=period, by=by))


def pdf_of(data: dict[str, Any]) -> bytes:
    """The PDF of `report_data`: the tables, and with a breakdown the page's chart as SVG
    (WeasyPrint draws its text with the PDF's fonts, so the labels stay text)."""
    from weasyprint import HTML

    chart = ""
    if data["rows"]:
        chart = svg_data_uri(charts.svg(data["rows"], title=chart_title(data)))
    html = render_to_string("reports/report_pdf.html", {**data, "chart_src": chart})
    return HTML(string=html).write_pdf()
