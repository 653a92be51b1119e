"""The new-connections report (#20 item 8, R-CON-3) on the statistics pages and in the
exports: per month (of water on) and policy, the utility's working days (average and 90th
percentile), steps, documents, the on-time rate and the customer's time apart, against the
baseline before the reform. The figures are the connections app's
(`qingquan.connections.report`, read from its monthly rollups); this module lays them out
for the months the period touches, links each figure to the applications behind it and
writes them to Excel/PDF."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.connections import report
from qingquan.connections.models import PolicyCode
from qingquan.reports.periods import Period

COLUMN_TITLES = {
    "month": gettext_lazy("Month"),
    "policy": gettext_lazy("Policy"),
    "applications": gettext_lazy("Applications connected"),
    "avg_days": gettext_lazy("Average working days"),
    "p90_days": gettext_lazy("90th percentile (working days)"),
    "steps": gettext_lazy("Steps"),
    "documents": gettext_lazy("Documents"),
    "on_time_rate": gettext_lazy("Water on in time (%)"),
    "customer_days": gettext_lazy("Customer's time (working days)"),
    "baseline_days": gettext_lazy("Baseline (working days)"),
    "days_reduction": gettext_lazy("Days reduction (%)"),
    "steps_reduction": gettext_lazy("Steps reduction (%)"),
    "documents_reduction": gettext_lazy("Documents reduction (%)"),
}


def months(period: Period) -> tuple[dt.date, dt.date]:
    """The first days of the first and the last month the period touches."""
    return period.start.replace(day=1), period.last.replace(day=1)


def drill_url(month: dt.date, policy: str, metric: str) -> str:
    query = {"month": f"{month:%Y-%m}", "policy": policy, "metric": metric}
    return f"{reverse('connections:report_drill')}?{urlencode(query)}"


def policy_label(code: str) -> str:
    return str(PolicyCode(code).label) if code in PolicyCode.values else code


def section(*, user: Any, period: Period) -> dict[str, Any] | None:
    """The page's connections part (None for readers who may not see it)."""
    if not report.may_read(user):
        return None
    first, last = months(period)
    rows, totals = report.months_report(actor=user, first=first, last=last)
    return {
        "rows": [
            (
                month,
                line,
                policy_label(line.policy),
                {m: drill_url(month, line.policy, m) for m in report.DRILL_METRICS},
            )
            for month, line in rows
        ],
        # The span's own lines when its figures come from more than one month.
        "totals": [(line, policy_label(line.policy)) for line in totals]
        if len({month for month, _line in rows}) > 1
        else [],
        "baseline": report.BASELINE,
        "first": first,
        "last": last,
    }


def _values(month: str, label: str, line: report.PolicyMonth) -> list[Any]:
    values: list[Any] = [month, label]
    for key in list(COLUMN_TITLES)[2:]:
        value = getattr(line, key)
        values.append(float(value) if value is not None and key != "applications" else value)
    return values


def table(*, user: Any, period: Period) -> list[list[Any]]:
    """The rows of the export: each month and policy, then (over several months) the
    whole span per policy."""
    first, last = months(period)
    rows, totals = report.months_report(actor=user, first=first, last=last)
    lines = [_values(f"{m:%Y-%m}", policy_label(line.policy), line) for m, line in rows]
    if first != last:
        span = f"{first:%Y-%m} – {last:%Y-%m}"
        lines += [_values(span, policy_label(line.policy), line) for line in totals]
    return lines


def excel_sheet(book: Any, *, user: Any, period: Period) -> None:
    """A sheet: the connections report of the months the period touches."""
    from openpyxl.styles import Font

    if not report.may_read(user):
        return
    sheet = book.create_sheet(_("New connections")[:31])
    baseline = report.BASELINE
    sheet.append([_("New connections"), period.label])
    sheet.append(
        [
            _("Baseline before the reform: %(d)s working days, %(s)s steps, %(n)s documents")
            % {"d": baseline["days"], "s": baseline["steps"], "n": baseline["documents"]}
        ]
    )
    sheet.append([str(t) for t in COLUMN_TITLES.values()])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for values in table(user=user, period=period):
        sheet.append(values)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 36


def pdf_data(*, user: Any, period: Period) -> dict[str, Any] | None:
    """The connections table of the PDF (None for readers who may not see it)."""
    if not report.may_read(user):
        return None
    return {
        "columns": [str(t) for t in COLUMN_TITLES.values()],
        "rows": table(user=user, period=period),
        "baseline": report.BASELINE,
    }
