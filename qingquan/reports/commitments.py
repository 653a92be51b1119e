"""The public commitments page's figures: counts only, from the rollups, for all cases."""

from __future__ import annotations

from typing import Any

from django.db.models import Sum

from qingquan.core import clock
from qingquan.reports.models import KpiDaily, ServiceCommitment
from qingquan.reports.periods import Period, period


def performance(commitment: ServiceCommitment, span: Period) -> dict[str, Any]:
    """Numerator, denominator and percentage of one commitment over ``span``."""
    qs = KpiDaily.objects.filter(day__gte=span.start, day__lt=span.end)
    if commitment.kind_id:
        kind = commitment.kind
        assert kind is not None
        qs = qs.filter(kind=kind.top.code)
    sums = qs.aggregate(
        created=Sum("created"),
        done=Sum("done"),
        resolved=Sum("resolved"),
        on_time=Sum("on_time"),
        sat=Sum("cb_satisfied"),
        fairly=Sum("cb_fairly"),
        dis=Sum("cb_dissatisfied"),
        unreachable=Sum("cb_unreachable"),
    )
    s = {k: v or 0 for k, v in sums.items()}
    if commitment.measure == ServiceCommitment.Measure.ON_TIME:
        num, den = s["on_time"], s["resolved"]
    elif commitment.measure == ServiceCommitment.Measure.CLOSURE:
        num, den = s["done"], s["created"]
    else:
        num, den = s["sat"] + s["fairly"], s["sat"] + s["fairly"] + s["dis"]
    percent = round(100 * num / den, 2) if den else None
    return {
        "numerator": num,
        "denominator": den,
        "percent": percent,
        "met": None if percent is None else percent >= commitment.target_percent,
        "unreachable": s["unreachable"],
    }


def this_month() -> dict[str, Any]:
    span = period("month", clock.today())
    items = [
        {"commitment": c, **performance(c, span)}
        for c in ServiceCommitment.objects.filter(is_published=True).select_related(
            "kind", "kind__parent"
        )
    ]
    return {"span": span, "items": items}
