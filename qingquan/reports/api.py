"""Statistics API: the KPI table for a period and breakdown (same figures as the pages)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from qingquan.reports import selectors
from qingquan.reports.periods import PeriodError, from_query
from qingquan.staff.access import check

router: Router = Router(tags=["reports"])


class KpiRowOut(Schema):
    key: str | None
    label: str
    contacts: int
    created: int
    done: int
    resolved: int
    on_time: int
    late: int
    cb_satisfied: int
    cb_fairly: int
    cb_dissatisfied: int
    cb_unreachable: int
    cb_declined: int
    closure_rate: float | None
    on_time_rate: float | None
    satisfaction: float | None


class KpiTableOut(Schema):
    period: str
    start: str
    end: str
    overall: KpiRowOut
    rows: list[KpiRowOut]


@router.get("/kpis", response=KpiTableOut, summary="KPIs for a period, with a breakdown")
def kpis(
    request: HttpRequest,
    period: str = "month",
    date: str = "",
    end: str = "",
    by: str = "",
) -> dict[str, Any]:
    """Contacts handled, closure rate, on-time rate and callback satisfaction (unreachable
    and declined shown apart) for ``period`` (day, week, month, quarter, year, custom with
    ``date``..``end``), optionally by kind, district, channel, agent or department."""
    check(request.user, "reports.view")
    try:
        span = from_query({"period": period, "date": date, "end": end})
        overall = selectors.kpi_table(user=request.user, period=span)[0]
        rows = selectors.kpi_table(user=request.user, period=span, by=by) if by else []
    except (PeriodError, selectors.ReportError) as error:
        raise HttpError(400, str(error)) from None
    return {
        "period": span.kind,
        "start": span.start.isoformat(),
        "end": span.last.isoformat(),
        "overall": overall.as_dict(),
        "rows": [r.as_dict() for r in rows],
    }
