"""The applications behind a figure of the connections report (drill-down from the
report page and the statistics pages): month × policy × figure, only the applications
the reader may see."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from qingquan.connections import report
from qingquan.connections.models import PolicyCode
from qingquan.core.access import AccessDenied
from qingquan.staff.access import require


def parse_month(raw: str) -> tuple[int, int]:
    """`YYYY-MM` → (year, month); ValueError when it is not one."""
    year, month = (int(part) for part in raw.split("-", 1))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise ValueError(raw)
    return year, month


def metric_labels() -> dict[str, str]:
    return {
        "applications": _("Applications connected"),
        "on_time": _("Connected on time"),
        "late": _("Connected late"),
    }


@require("connections.view")
def drill(request: HttpRequest) -> HttpResponse:
    """`?month=YYYY-MM&policy=221&metric=applications|on_time|late`."""
    if not report.may_read(request.user):
        raise AccessDenied(capability="connections.view_all")
    metric = request.GET.get("metric", "applications")
    policy = request.GET.get("policy", "")
    try:
        year, month = parse_month(request.GET.get("month", ""))
    except ValueError:
        return _bad(request, _("Give the month as YYYY-MM."))
    if policy not in PolicyCode.values:
        return _bad(request, _("Unknown policy %(p)s.") % {"p": policy[:20]})
    if metric not in report.DRILL_METRICS:
        return _bad(request, _("Unknown figure %(m)s.") % {"m": metric[:20]})
    rows, figure = report.applications_behind(
        actor=request.user, year=year, month=month, policy=policy, metric=metric
    )
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    count = page.paginator.count
    return render(
        request,
        "connections/report_drill.html",
        {
            "page": page,
            "count": count,
            "figure": figure,
            "hidden": max(0, figure - count),
            "month": f"{year:04d}-{month:02d}",
            "policy": PolicyCode(policy).label,
            "metric": metric,
            "metric_label": metric_labels()[metric],
        },
    )


def _bad(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "connections/report_drill.html", {"error": message}, status=400)
