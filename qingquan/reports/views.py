"""Statistics pages: the KPI dashboard (charts, tables, comparison), drill-down lists,
Excel and PDF exports; and the public service-commitments page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from qingquan.dispatch.kpis import BREAKDOWNS as REPAIR_BREAKDOWNS
from qingquan.dispatch.kpis import REFERRAL_BREAKDOWNS, KpiError
from qingquan.reports import charts, commitments, connections, exports, repairs, selectors
from qingquan.reports.periods import KINDS, Period, PeriodError, from_query
from qingquan.staff.access import require


def _params(request: HttpRequest) -> dict[str, str]:
    params = {k: request.GET.get(k, "") for k in ("period", "date", "end", "by", "calls_by")}
    params["calls_by"] = params["calls_by"] or "hour"
    return params


def _bad(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "reports/error.html", {"message": message}, status=400)


def drill_url(params: dict[str, str], metric: str, key: str | None = None) -> str:
    query = {k: v for k, v in params.items() if v and k in ("period", "date", "end")}
    query["metric"] = metric
    if key is not None and params.get("by"):
        query["by"] = params["by"]
        query["key"] = key
    return f"{reverse('reports:drill')}?{urlencode(query)}"


def _links(params: dict[str, str], row: selectors.Row) -> dict[str, str]:
    by = params.get("by") or None
    links = {}
    for metric in selectors.METRICS:
        links[metric] = drill_url(params, metric, row.key if by else None)
    return links


def notice_drill_url(params: dict[str, str], which: str) -> str:
    """The notices behind a notice figure (the staff notice list, `notices.kpis`)."""
    query = {k: v for k, v in params.items() if v and k in ("period", "date", "end")}
    query.setdefault("period", "month")
    if which:
        query["kpi"] = which
    return f"{reverse('notices:list')}?{urlencode(query)}"


@require("reports.view")
def kpis(request: HttpRequest) -> HttpResponse:
    """The KPIs for a period and breakdown, as charts and tables, with drill-down links."""
    params = _params(request)
    by = params["by"] or None
    try:
        period = from_query(params)
        data = exports.report_data(
            user=request.user, period=period, by=by, calls_by=params["calls_by"]
        )
    except (PeriodError, selectors.ReportError) as error:
        return _bad(request, str(error))
    overall = data["overall"]
    rows = [(row, _links(params, row)) for row in data["rows"]]
    # Without a breakdown the chart shows the kinds at once (the table stays overall).
    chart_by = by or "kind"
    chart_rows = (
        data["rows"] if by else selectors.kpi_table(user=request.user, period=period, by=chart_by)
    )
    chart = {
        **charts.series(chart_rows),
        "keys": [r.key for r in chart_rows],
        "drill": [drill_url({**params, "by": chart_by}, "created", r.key) for r in chart_rows],
    }
    export_query = urlencode({k: v for k, v in params.items() if v})
    try:
        repair = repairs.section(
            user=request.user,
            period=period,
            params=params,
            rby=repairs.choice(request.GET.get("rby", ""), REPAIR_BREAKDOWNS, None),
            fby=repairs.choice(request.GET.get("fby", ""), REFERRAL_BREAKDOWNS, "partner") or "",
        )
    except KpiError as error:
        return _bad(request, str(error))
    for line in data["notice_lines"]:
        line["drill_url"] = notice_drill_url(params, line["drill"])
        if line.get("drill_late"):
            line["late_url"] = notice_drill_url(params, line["drill_late"])
    return render(
        request,
        "reports/kpis.html",
        {
            **data,
            "params": params,
            "kinds": KINDS.items(),
            "breakdowns": selectors.BREAKDOWNS.items(),
            "overall_links": _links({**params, "by": ""}, overall),
            "table": rows,
            "chart": chart,
            "chart_by_label": selectors.BREAKDOWNS[chart_by],
            "export_query": export_query,
            "repairs": repair,
            "connections": connections.section(user=request.user, period=period),
        },
    )


def metric_labels() -> dict[str, str]:
    return {
        "contacts": _("Contacts handled"),
        "created": _("Cases created"),
        "done": _("Created and resolved"),
        "resolved": _("Cases resolved"),
        "on_time": _("Resolved on time"),
        "late": _("Late (deadline passed unresolved)"),
        "cb_satisfied": _("Callbacks: satisfied"),
        "cb_fairly": _("Callbacks: fairly satisfied"),
        "cb_dissatisfied": _("Callbacks: dissatisfied"),
        "cb_unreachable": _("Callbacks: unreachable"),
        "cb_declined": _("Callbacks: declined"),
    }


@require("reports.view")
def drill(request: HttpRequest) -> HttpResponse:
    """The cases, callbacks or contacts behind one figure."""
    params = _params(request)
    metric = request.GET.get("metric", "")
    key = request.GET.get("key")
    if metric.startswith("repair_") or metric == "referrals":
        return _repair_drill(request, params, metric, key)
    try:
        period = from_query(params)
        qs = selectors.drill(
            user=request.user, period=period, metric=metric, by=params["by"] or None, key=key
        )
    except (PeriodError, selectors.ReportError) as error:
        return _bad(request, str(error))
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    key_label = key
    if params["by"] and key is not None:
        lookup: Any = key
        if params["by"] in ("agent", "department"):
            lookup = int(key) if key.isdigit() else None
        key_label = str(selectors.labels(params["by"], [lookup]).get(lookup, key))
    model = qs.model._meta.model_name
    return render(
        request,
        "reports/drill.html",
        {
            "page": page,
            "count": page.paginator.count,
            "model": model,
            "metric": metric,
            "metric_label": metric_labels().get(metric, metric),
            "key_label": key_label,
            "period": period,
            "by_label": selectors.BREAKDOWNS.get(params["by"], ""),
            "key": key,
            "back": f"{reverse('reports:kpis')}?"
            + urlencode({k: v for k, v in params.items() if v}),
        },
    )


def _repair_drill(
    request: HttpRequest, params: dict[str, str], metric: str, key: str | None
) -> HttpResponse:
    """The repair jobs or referrals behind a repair figure (`reports.repairs`)."""
    by = params["by"] or None
    try:
        period = from_query(params)
        rows = repairs.behind(user=request.user, period=period, metric=metric, by=by, key=key)
    except (PeriodError, KpiError) as error:
        return _bad(request, str(error))
    except PermissionError:
        return _bad(request, _("These figures are for supervisors and dispatchers."))
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/drill.html",
        {
            "page": page,
            "count": page.paginator.count,
            "model": "referral" if metric == "referrals" else "job",
            "metric": metric,
            "metric_label": repairs.metric_labels().get(metric, metric),
            "key_label": _key_label(page, metric, by, key, user=request.user, period=period),
            "period": period,
            "by_label": repairs.breakdown_label(metric, by),
            "key": key,
            "back": f"{reverse('reports:kpis')}?"
            + urlencode({k: v for k, v in params.items() if v and k != "by"}),
        },
    )


def _key_label(
    page: Any, metric: str, by: str | None, key: str | None, *, user: Any, period: Period
) -> str | None:
    """The breakdown value's name: a referral's read off the first row behind it, a
    repair's as the repairs table names it."""
    first = next(iter(page.object_list), None)
    if not by or first is None:
        return key
    if metric == "referrals":
        return {"partner": first.partner.name, "kind": str(first.ticket.kind)}.get(by, key)
    if key is None:
        return key
    return repairs.key_label(user=user, period=period, by=by, key=key)


@require("reports.view")
def excel(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    try:
        period = from_query(params)
        body = exports.excel(
            user=request.user, period=period, by=params["by"] or None, calls_by=params["calls_by"]
        )
    except (PeriodError, selectors.ReportError) as error:
        return _bad(request, str(error))
    response = HttpResponse(
        body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="kpis-{period.start.isoformat()}-{period.last.isoformat()}.xlsx"'
    )
    return response


@require("reports.view")
def pdf(request: HttpRequest) -> HttpResponse:
    params = _params(request)
    try:
        period = from_query(params)
        body = exports.pdf(
            user=request.user, period=period, by=params["by"] or None, calls_by=params["calls_by"]
        )
    except (PeriodError, selectors.ReportError) as error:
        return _bad(request, str(error))
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="kpis-{period.start.isoformat()}-{period.last.isoformat()}.pdf"'
    )
    return response


def public_commitments(request: HttpRequest) -> HttpResponse:
    """服务承诺: the published commitments and this month's performance (no login, no
    personal data: only counts)."""
    context: dict[str, Any] = commitments.this_month()
    return render(request, "reports/commitments.html", context)
