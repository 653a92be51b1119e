"""The KPI report as an Excel workbook (openpyxl) and as a PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import io
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from qingquan.reports import charts, connections, repairs, selectors
from qingquan.reports.periods import Period

# The table's columns in order, with their titles: the counted figures
# (`models.METRICS`) and the three rates between them.
COLUMN_TITLES = {
    "label": gettext_lazy("Breakdown"),
    "contacts": gettext_lazy("Contacts handled"),
    "created": gettext_lazy("Cases created"),
    "done": gettext_lazy("Created and resolved"),
    "closure_rate": gettext_lazy("Closure rate"),
    "resolved": gettext_lazy("Cases resolved"),
    "on_time": gettext_lazy("Resolved on time"),
    "late": gettext_lazy("Late (deadline passed unresolved)"),
    "on_time_rate": gettext_lazy("On-time rate"),
    "cb_satisfied": gettext_lazy("Satisfied"),
    "cb_fairly": gettext_lazy("Fairly satisfied"),
    "cb_dissatisfied": gettext_lazy("Dissatisfied"),
    "cb_unreachable": gettext_lazy("Unreachable"),
    "cb_declined": gettext_lazy("Declined"),
    "satisfaction": gettext_lazy("Callback satisfaction"),
}
COLUMNS = tuple(COLUMN_TITLES)
RATES = {"closure_rate", "on_time_rate", "satisfaction"}


def column_titles() -> list[str]:
    return [str(title) for title in COLUMN_TITLES.values()]


def call_data(*, user: Any, period: Period, calls_by: str = "hour") -> dict[str, Any]:
    """The call statistics of the period (`qingquan.telephony.stats`): overall and by hour,
    IVR line, queue or agent."""
    from qingquan.telephony import stats

    if calls_by not in stats.BREAKDOWNS:
        raise selectors.ReportError(_("Unknown breakdown %(by)s.") % {"by": calls_by})
    rows = stats.call_figures(user=user, start=period.start_at, end=period.end_at, by=calls_by)
    return {
        "overall": stats.total_of(rows),
        "rows": rows,
        "by": calls_by,
        "by_label": stats.BREAKDOWNS[calls_by],
        "breakdowns": list(stats.BREAKDOWNS.items()),
        "columns": [str(t) for t in stats.COLUMN_TITLES.values()],
        "keys": list(stats.COLUMN_TITLES),
        "rates": stats.RATES,
    }


def report_data(
    *, user: Any, period: Period, by: str | None, calls_by: str = "hour"
) -> dict[str, Any]:
    """Everything a report shows: overall, the breakdown, the previous period, the
    interruption notices' KPIs (`notices.kpis`) and the call statistics."""
    from qingquan.notices import kpis as notice_kpis

    notices = notice_kpis.notice_kpis(user=user, start=period.start_at, end=period.end_at)
    return {
        "notices": notices,
        "notice_lines": notice_kpis.lines(notices),
        "calls": call_data(user=user, period=period, calls_by=calls_by),
        "period": period,
        "by": by,
        "by_label": selectors.BREAKDOWNS.get(by or "", ""),
        "compare": selectors.comparison(user=user, period=period),
        "overall": selectors.kpi_table(user=user, period=period)[0],
        "rows": selectors.kpi_table(user=user, period=period, by=by) if by else [],
        "columns": column_titles(),
    }


def excel(*, user: Any, period: Period, by: str | None, calls_by: str = "hour") -> bytes:
    """A workbook: the overall figures and the breakdown, the comparison, repairs and
    referrals, new connections, interruption notices, and the calls, a sheet each."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data = report_data(user=user, period=period, by=by, calls_by=calls_by)
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
        sheet.append([values[key] for key in COLUMNS])
        for index, key in enumerate(COLUMNS, start=1):
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
        previous.append([label, *(values[key] for key in COLUMNS[1:])])
    repairs.excel_sheets(book, user=user, period=period)
    connections.excel_sheet(book, user=user, period=period)
    _notices_sheet(book, data)
    _calls_sheet(book, data["calls"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _notices_sheet(book: Any, data: dict[str, Any]) -> None:
    """Sheet 3: the interruption notices' KPIs, one line each (rate, figure, counts)."""
    from openpyxl.styles import Font

    sheet = book.create_sheet(_("Interruption notices")[:31])
    sheet.append([_("Figure"), _("Rate"), _("Count"), _("Details")])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in data["notice_lines"]:
        sheet.append([line["label"], line["rate"], line["value"], line["detail"]])
        sheet.cell(row=sheet.max_row, column=2).number_format = "0.00%"
    sheet.column_dimensions["A"].width = 44
    sheet.column_dimensions["D"].width = 80


def _calls_sheet(book: Any, calls: dict[str, Any]) -> None:
    from openpyxl.styles import Font

    sheet = book.create_sheet(_("Calls")[:31])
    sheet.append(calls["columns"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in [calls["overall"], *calls["rows"]]:
        values = row.as_dict()
        sheet.append([values[key] for key in calls["keys"]])
        for index, key in enumerate(calls["keys"], start=1):
            if key in calls["rates"]:
                sheet.cell(row=sheet.max_row, column=index).number_format = "0.00%"
    sheet.column_dimensions["A"].width = 24


def chart_title(data: dict[str, Any]) -> str:
    return _("By %(by)s") % {"by": data["by_label"]} if data["by"] else ""


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def pdf(*, user: Any, period: Period, by: str | None, calls_by: str = "hour") -> bytes:
    """The same report as a PDF (Noto CJK fonts render the Chinese)."""
    data = report_data(user=user, period=period, by=by)
    data["repairs"] = repairs.pdf_data(user=user, period=period)
    data["connections"] = connections.pdf_data(user=user, period=period)
    return pdf_of(data)
    return pdf_of(report_data(user=user, period=period, by=by, calls_by=calls_by))


def pdf_of(data: dict[str, Any]) -> bytes:
    """The PDF of `report_data`: the tables, and with a breakdown the page's chart as SVG
    (WeasyPrint draws its text with the PDF's fonts, so the labels stay text)."""
    from weasyprint import HTML

    chart = ""
    if data["rows"]:
        chart = svg_data_uri(charts.svg(data["rows"], title=chart_title(data)))
    html = render_to_string("reports/report_pdf.html", {**data, "chart_src": chart})
    return HTML(string=html).write_pdf()
