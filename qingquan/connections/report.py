"""The monthly connections report (R-CON-3): per month and policy, the utility's working
days per application (average and 90th percentile, nearest rank), steps, documents, the
on-time rate and the customer's time shown apart; against the baseline (4.8 working
days, 5 steps, 4 documents; real estate 30 working days) with the reduction rates
computed from the data. Computed from the applications that reached water on in the
month (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count

from qingquan.connections.models import Application, AppState, PolicyCode, PolicyStep
from qingquan.core.sla import SHANGHAI
from qingquan.staff.access import check

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


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def monthly_report(*, actor: Any, year: int, month: int) -> list[PolicyMonth]:
    """One row per policy with applications that reached water on in the month."""
    check(actor, "connections.view_all")
    start, end = month_bounds(year, month)
    rows = list(
        Application.objects.filter(
            state=AppState.WATER_ON, water_on_at__gte=start, water_on_at__lt=end
        )
        .values("pk", "policy__code", "utility_seconds", "customer_seconds", "on_time")
        .order_by("pk")
    )
    steps = dict(PolicyStep.objects.values_list("policy__code").annotate(n=Count("pk")).order_by())
    taken = dict(
        Application.objects.filter(pk__in=[r["pk"] for r in rows])
        .values_list("pk")
        .annotate(n=Count("steps"))
        .order_by()
    )
    result = []
    for code in PolicyCode.values:
        mine = [r for r in rows if r["policy__code"] == code]
        if not mine:
            continue
        days = [r["utility_seconds"] / DAY for r in mine]
        n = len(mine)
        counts = [int(taken.get(r["pk"]) or steps.get(code) or 0) for r in mine]
        avg_steps = _q(sum(counts) / n)
        documents = Decimal("1.00")  # every application has exactly one (R-CON-1)
        real_estate = code == PolicyCode.REAL_ESTATE
        baseline_days = REAL_ESTATE_BASELINE_DAYS if real_estate else BASELINE["days"]
        avg_days = _q(sum(days) / n)
        result.append(
            PolicyMonth(
                policy=code,
                applications=n,
                avg_days=avg_days,
                p90_days=_q(percentile(days, 0.9)),
                steps=avg_steps,
                documents=documents,
                on_time_rate=_q(100 * sum(1 for r in mine if r["on_time"]) / n),
                customer_days=_q(sum(r["customer_seconds"] for r in mine) / DAY / n),
                baseline_days=baseline_days,
                days_reduction=_reduction(baseline_days, avg_days),
                steps_reduction=None if real_estate else _reduction(BASELINE["steps"], avg_steps),
                documents_reduction=None
                if real_estate
                else _reduction(BASELINE["documents"], documents),
            )
        )
    return result
