"""The repair statistics on the statistics pages and in the exports (#17 items 7 and 8):
arrival and restoration on-time rates by crew, district and month, customer-minutes
without water, jobs per crew and shift, and the referrals by partner, kind and month.
The figures are the dispatch app's (`qingquan.dispatch.kpis`); this module only lays them
out, links each figure to the jobs or referrals behind it, and writes them to Excel/PDF."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.dispatch import kpis
from qingquan.reports.periods import Period

COLUMN_TITLES = {
    "label": gettext_lazy("Breakdown"),
    "jobs": gettext_lazy("Repair jobs"),
    "arrive_on_time": gettext_lazy("Arrived on time"),
    "arrive_late": gettext_lazy("Arrived late"),
    "arrive_rate": gettext_lazy("Arrival on-time rate"),
    "restore_on_time": gettext_lazy("Restored on time"),
    "restore_late": gettext_lazy("Restored late"),
    "restore_rate": gettext_lazy("Restoration on-time rate"),
    "customer_minutes": gettext_lazy("Customer-minutes without water"),
}
RATES = {"arrive_rate", "restore_rate"}


def choice(value: str, allowed: dict[str, Any], default: str | None) -> str | None:
    return value if value in allowed else default


def _drill(params: dict[str, str], metric: str, by: str | None, key: str | None) -> str:
    query = {k: v for k, v in params.items() if v and k in ("period", "date", "end")}
    query["metric"] = metric
    if by:
        query["by"] = by
        if key is not None:
            query["key"] = key
    return f"{reverse('reports:drill')}?{urlencode(query)}"


def section(
    *, user: Any, period: Period, params: dict[str, str], rby: str | None, fby: str
) -> dict[str, Any] | None:
    """The page's repair part (None for readers who may not see it)."""
    if not kpis.may_read(user):
        return None
    start, end = period.start_at, period.end_at
    overall = kpis.repair_table(user=user, start=start, end=end)[0]
    rows = kpis.repair_table(user=user, start=start, end=end, by=rby) if rby else []

    def links(by: str | None, key: str | None) -> dict[str, str]:
        return {m: _drill(params, f"repair_{m}", by, key) for m in kpis.METRICS}

    referrals = kpis.referral_table(user=user, start=start, end=end, by=fby)
    return {
        "overall": overall,
        "overall_links": links(None, None),
        "rows": [(r, links(rby, r.key)) for r in rows],
        "rby": rby or "",
        "breakdowns": kpis.BREAKDOWNS.items(),
        "fby": fby,
        "referral_breakdowns": kpis.REFERRAL_BREAKDOWNS.items(),
        "referrals": [(r, _drill(params, "referrals", fby, r.key)) for r in referrals],
        "referrals_total": sum(r.count for r in referrals),
        "referrals_link": _drill(params, "referrals", None, None),
    }


def metric_labels() -> dict[str, str]:
    labels = {f"repair_{k}": str(v) for k, v in COLUMN_TITLES.items() if k in kpis.METRICS}
    labels["referrals"] = _("Referrals")
    return labels


def behind(*, user: Any, period: Period, metric: str, by: str | None, key: str | None) -> Any:
    """The jobs or referrals behind a repair figure (`metric` "repair_…" or "referrals")."""
    start, end = period.start_at, period.end_at
    if metric == "referrals":
        return kpis.referrals_behind(user=user, start=start, end=end, by=by, key=key)
    return kpis.repair_jobs_behind(
        user=user, start=start, end=end, metric=metric.removeprefix("repair_"), by=by, key=key
    )


def key_label(*, user: Any, period: Period, by: str, key: str) -> str:
    """The name of a repair breakdown's value (crew, shift, month, district)."""
    label = kpis.repair_key_label(
        user=user, start=period.start_at, end=period.end_at, by=by, key=key
    )
    return label or key


def breakdown_label(metric: str, by: str | None) -> str:
    table = kpis.REFERRAL_BREAKDOWNS if metric == "referrals" else kpis.BREAKDOWNS
    return str(table.get(by or "", ""))


def excel_sheets(book: Any, *, user: Any, period: Period) -> None:
    """Two sheets: repairs (overall, by crew, district, month, crew and shift) and
    referrals (by partner, kind, month)."""
    from openpyxl.styles import Font

    if not kpis.may_read(user):
        return
    start, end = period.start_at, period.end_at
    sheet = book.create_sheet(_("Repairs")[:31])
    sheet.append([_("Repairs"), period.label])
    for by in (None, *kpis.BREAKDOWNS):
        sheet.append([])
        sheet.append([str(kpis.BREAKDOWNS[by]) if by else _("Overall")])
        sheet.append([str(t) for t in COLUMN_TITLES.values()])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
        for row in kpis.repair_table(user=user, start=start, end=end, by=by):
            sheet.append([getattr(row, k) for k in COLUMN_TITLES])
            for index, key in enumerate(COLUMN_TITLES, start=1):
                if key in RATES:
                    sheet.cell(row=sheet.max_row, column=index).number_format = "0.00%"
    sheet.column_dimensions["A"].width = 28
    referrals = book.create_sheet(_("Referrals")[:31])
    referrals.append([_("Referrals"), period.label])
    for by, title in kpis.REFERRAL_BREAKDOWNS.items():
        referrals.append([])
        referrals.append([str(title), _("Referrals")])
        for cell in referrals[referrals.max_row]:
            cell.font = Font(bold=True)
        for r in kpis.referral_table(user=user, start=start, end=end, by=by):
            referrals.append([r.label, r.count])
    referrals.column_dimensions["A"].width = 28


def pdf_data(*, user: Any, period: Period) -> dict[str, Any] | None:
    """The repair tables of the PDF (None for readers who may not see them)."""
    if not kpis.may_read(user):
        return None
    start, end = period.start_at, period.end_at
    return {
        "columns": [str(t) for t in COLUMN_TITLES.values()],
        "tables": [
            (
                str(kpis.BREAKDOWNS[by]) if by else _("Overall"),
                kpis.repair_table(user=user, start=start, end=end, by=by),
            )
            for by in (None, *kpis.BREAKDOWNS)
        ],
        "referrals": [
            (str(title), kpis.referral_table(user=user, start=start, end=end, by=by))
            for by, title in kpis.REFERRAL_BREAKDOWNS.items()
        ],
    }
