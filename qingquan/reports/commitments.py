"""The public commitments page's figures: counts only, from the rollups, for all cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from qingquan.core import clock
from qingquan.reports.models import ServiceCommitment
from qingquan.reports.periods import Period, period
from qingquan.reports.selectors import totals


def performance(commitment: ServiceCommitment, span: Period) -> dict[str, Any]:
    """Numerator, denominator and percentage of one commitment over ``span``."""
    kind = commitment.kind
    row = totals(period=span, kind=kind.top.code if kind is not None else None)
    if commitment.measure == ServiceCommitment.Measure.ON_TIME:
        num, den = row.on_time, row.timed
    elif commitment.measure == ServiceCommitment.Measure.CLOSURE:
        num, den = row.done, row.created
    else:
        num, den = row.cb_satisfied + row.cb_fairly, row.rated
    percent = round(100 * num / den, 2) if den else None
    return {
        "numerator": num,
        "denominator": den,
        "percent": percent,
        "met": None if percent is None else percent >= commitment.target_percent,
        "unreachable": row.cb_unreachable,
    }


def this_month() -> dict[str, Any]:
    span = period("month", clock.today())
    items = [
        {"commitment": c, **performance(c, span)}
        for c in ServiceCommitment.objects.filter(is_published=True).select_related(
            "kind", "kind__parent"
        )
    ]
    return {
        "span": span,
        "items": items,
        "notice_rule": notice_rule(span),
        "connections": connections_kept(span),
    }


def notice_rule(span: Period) -> dict[str, Any]:
    """The lead rule of planned interruption notices (24 hours by default) and how well it
    was kept over the planned notices starting in ``span`` (counts only)."""
    from qingquan.notices.kpis import figures

    k = figures(start=span.start_at, end=span.end_at)
    share = k.lead_share
    return {
        "hours": f"{k.rule_hours:g}",
        "working_days": k.rule_clock != "calendar",
        "planned": k.planned,
        "met": k.lead_met,
        "percent": None if share is None else round(100 * share, 2),
    }


def connections_kept(span: Period) -> dict[str, Any]:
    """The new-connections standard ("221": water on within 2 working days of the
    utility's own time) and how it went in the period's month and the month before: per
    policy, applications connected, average and 90th-percentile working days, the on-time
    rate and the reduction against the old 4.8 days (counts and times only)."""
    from qingquan.connections.report import BASELINE, published_month
    from qingquan.reports.connections import policy_label

    months = [span.start, (span.start - dt.timedelta(days=1)).replace(day=1)]
    return {
        "baseline": BASELINE,
        "months": [
            (
                month,
                [
                    (line, policy_label(line.policy))
                    for line in published_month(year=month.year, month=month.month)
                ],
            )
            for month in months
        ],
    }
