"""The monthly connections report (R-CON-3): per month and policy, the utility's working
days per application (average and 90th percentile, nearest rank), steps, documents, the
on-time rate and the customer's time shown apart; against the baseline (4.8 working
days, 5 steps, 4 documents; real estate 30 working days) with the reduction rates
computed from the data. Computed from the applications that reached water on in the
month (Asia/Shanghai).

The pages read the monthly rollups (`qingquan.connections.rollup`); `monthly_report_raw`
computes the same table from the applications alone (a sort for the percentile), and the
tests and `bench/bench_connections.py` check the two are equal."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet

from qingquan.connections import rollup
from qingquan.connections.models import Application, AppState, PolicyCode
from qingquan.core.access import AccessDenied
from qingquan.core.sla import SHANGHAI
from qingquan.staff.access import can

DAY = 86_400
# Before the reform (the article; R-CON-3): days, steps, documents.
BASELINE = {"days": Decimal("4.8"), "steps": Decimal("5"), "documents": Decimal("4")}
REAL_ESTATE_BASELINE_DAYS = Decimal("30")


@dataclass(frozen=True)
class PolicyMonth:
    policy: str
    applications: int
    avg_days: Decimal
    p90_days: Decimal
    steps: Decimal
    documents: Decimal
    on_time_rate: Decimal
    customer_days: Decimal
    baseline_days: Decimal
    days_reduction: Decimal
    steps_reduction: Decimal | None
    documents_reduction: Decimal | None


def _q(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def _reduction(baseline: Decimal, value: Decimal) -> Decimal:
    return ((baseline - value) / baseline * 100).quantize(Decimal("0.1"))


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, month, 1, tzinfo=SHANGHAI)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def may_read(user: Any) -> bool:
    """Who reads the report's figures (counts and times, no one's details): supervisors
    and administrators, and the statistics readers who work on connections (customer
    managers). The applications behind a figure stay each reader's own
    (`selectors.applications_for`)."""
    return can(user, "connections.view_all") or (
        can(user, "reports.view") and can(user, "connections.view")
    )


def _check(actor: Any) -> None:
    if actor is None or not may_read(actor):
        raise AccessDenied(capability="connections.view_all")


def policy_month(code: str, totals: rollup.Totals) -> PolicyMonth:
    """The report's line for one policy from its sums (one month or several)."""
    n = totals.applications
    avg_steps = _q(totals.steps / n)
    documents = _q(totals.documents / n)
    real_estate = code == PolicyCode.REAL_ESTATE
    baseline_days = REAL_ESTATE_BASELINE_DAYS if real_estate else BASELINE["days"]
    avg_days = _q(totals.utility_seconds / DAY / n)
    return PolicyMonth(
        policy=code,
        applications=n,
        avg_days=avg_days,
        p90_days=_q(totals.percentile(0.9) / DAY),
        steps=avg_steps,
        documents=documents,
        on_time_rate=_q(100 * totals.on_time / n),
        customer_days=_q(totals.customer_seconds / DAY / n),
        baseline_days=baseline_days,
        days_reduction=_reduction(baseline_days, avg_days),
        steps_reduction=None if real_estate else _reduction(BASELINE["steps"], avg_steps),
        documents_reduction=None if real_estate else _reduction(BASELINE["documents"], documents),
    )


def lines(sums: dict[str, rollup.Totals]) -> list[PolicyMonth]:
    """One line per policy with applications, in the policies' order."""
    return [
        policy_month(code, sums[code])
        for code in PolicyCode.values
        if code in sums and sums[code].applications
    ]


def monthly_report(*, actor: Any, year: int, month: int) -> list[PolicyMonth]:
    """One row per policy with applications that reached water on in the month, read
    from the monthly rollups."""
    _check(actor)
    return published_month(year=year, month=month)


def published_month(*, year: int, month: int) -> list[PolicyMonth]:
    """The same figures for the public commitments page: counts, times and rates of the
    whole utility, nothing about any applicant (so no reader check)."""
    first = dt.date(year, month, 1)
    found = rollup.read(first=first, last=first)
    return lines({code: totals for (_month, code), totals in found.items()})


def months_report(
    *, actor: Any, first: dt.date, last: dt.date
) -> tuple[list[tuple[dt.date, PolicyMonth]], list[PolicyMonth]]:
    """For the statistics pages: (month, line) for every month from `first` to `last`
    with applications, oldest first, and the lines of the whole span (sums and merged
    histograms, so the span's percentile is exact too)."""
    _check(actor)
    found = rollup.read(first=first.replace(day=1), last=last)
    order = {code: i for i, code in enumerate(PolicyCode.values)}
    rows = [
        (month, policy_month(code, totals))
        for (month, code), totals in sorted(
            found.items(), key=lambda item: (item[0][0], order.get(item[0][1], 99))
        )
        if totals.applications
    ]
    span: dict[str, rollup.Totals] = {}
    for (_month, code), totals in found.items():
        span.setdefault(code, rollup.Totals()).merge(totals)
    return rows, lines(span)


def monthly_report_raw(*, actor: Any, year: int, month: int) -> list[PolicyMonth]:
    """The monthly report recomputed from the raw rows alone: the applications that
    reached water on in the month, each one's steps counted, the 90th percentile by
    sorting every application's time (the check of the rollups)."""
    _check(actor)
    start, end = month_bounds(year, month)
    rows = list(
        Application.objects.filter(
            state=AppState.WATER_ON, water_on_at__gte=start, water_on_at__lt=end
        ).values_list(
            "pk", "policy__code", "utility_seconds", "customer_seconds", "on_time", "document"
        )
    )
    taken = dict(
        Application.objects.filter(
            state=AppState.WATER_ON, water_on_at__gte=start, water_on_at__lt=end
        )
        .values_list("pk")
        .annotate(n=Count("steps"))
        .order_by()
    )
    result = []
    for code in PolicyCode.values:
        mine = [r for r in rows if r[1] == code]
        if not mine:
            continue
        n = len(mine)
        real_estate = code == PolicyCode.REAL_ESTATE
        baseline_days = REAL_ESTATE_BASELINE_DAYS if real_estate else BASELINE["days"]
        avg_days = _q(sum(r[2] for r in mine) / DAY / n)
        avg_steps = _q(sum(taken.get(r[0], 0) for r in mine) / n)
        avg_documents = _q(sum(1 for r in mine if r[5]) / n)
        result.append(
            PolicyMonth(
                policy=code,
                applications=n,
                avg_days=avg_days,
                p90_days=_q(percentile([r[2] for r in mine], 0.9) / DAY),
                steps=avg_steps,
                documents=avg_documents,
                on_time_rate=_q(100 * sum(1 for r in mine if r[4]) / n),
                customer_days=_q(sum(r[3] for r in mine) / DAY / n),
                baseline_days=baseline_days,
                days_reduction=_reduction(baseline_days, avg_days),
                steps_reduction=None if real_estate else _reduction(BASELINE["steps"], avg_steps),
                documents_reduction=None
                if real_estate
                else _reduction(BASELINE["documents"], avg_documents),
            )
        )
    return result


# The figures a drill-down opens: the applications counted, on time, late.
DRILL_METRICS = ("applications", "on_time", "late")


def applications_behind(
    *, actor: Any, year: int, month: int, policy: str, metric: str
) -> tuple[QuerySet[Application], int]:
    """The applications behind a figure of the month and policy that `actor` may see
    (`selectors.applications_for`: a customer manager their own, supervisors every one),
    the longest utility time first; and the figure itself from the rollups, so the page
    can say how many of them are someone else's."""
    from qingquan.connections.selectors import applications_for

    _check(actor)
    if metric not in DRILL_METRICS or policy not in PolicyCode.values:
        raise ValueError(metric)
    start, end = month_bounds(year, month)
    rows = applications_for(actor).filter(
        state=AppState.WATER_ON, water_on_at__gte=start, water_on_at__lt=end, policy__code=policy
    )
    first = dt.date(year, month, 1)
    totals = rollup.read(first=first, last=first).get((first, policy), rollup.Totals())
    figure = totals.applications
    if metric == "on_time":
        rows, figure = rows.filter(on_time=True), totals.on_time
    elif metric == "late":
        rows, figure = rows.filter(on_time=False), totals.applications - totals.on_time
    return rows.order_by("-utility_seconds", "pk"), figure
