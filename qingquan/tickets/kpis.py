"""The KPIs of SPEC "KPIs", computed exactly as defined there.

* Closure rate (办结率) = cases created in the period that are resolved ÷ cases created in
  the period. "Resolved" means resolved or closed now (a reopened case is not).
* On-time rate (处理及时率) = on time ÷ (on time + late). Each case counts once: as on
  time in the period it was resolved at or before its deadline, or as late in the period
  its deadline passed unresolved — resolved later or still open (a case open past its
  deadline is late). A case that was ever overdue is never on time, even if a reopening
  gave it a fresh budget it then met (see services, reopening rule). The filters are
  `TicketQuerySet.on_time_between` and `late_between`; docs/kpis.md.

Periods are half-open ``[start, end)`` instants. Each function returns one figure per
value of the breakdown (or one overall figure), with numerator, denominator and rate
(``None`` when the denominator is 0).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from qingquan.tickets.models import DONE_STATES, Ticket, late_in, on_time_in

# Breakdown name -> (grouping column, label column).
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "kind": ("kind__parent__code", "kind__parent__name"),
    "subkind": ("kind__code", "kind__name"),
    "district": ("district__code", "district__name"),
    "channel": ("channel", "channel"),
    "owner": ("owner__username", "owner__full_name"),
    "department": ("department__code", "department__name"),
}


@dataclass(frozen=True)
class Figure:
    """One KPI value: ``key`` is None for the overall figure or a missing group value."""

    key: str | None
    label: str
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


def _group(qs: Any, numerator: Q, by: str | None) -> list[Figure]:
    if by is None:
        row = qs.aggregate(num=Count("pk", filter=numerator), den=Count("pk"))
        return [Figure(key=None, label="", numerator=row["num"], denominator=row["den"])]
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}; use one of {', '.join(BREAKDOWNS)}")
    key, label = BREAKDOWNS[by]
    if by == "kind":
        # Top-level kind: a sub-kind's parent, or the kind itself.
        from django.db.models.functions import Coalesce

        qs = qs.annotate(
            _key=Coalesce("kind__parent__code", "kind__code"),
            _label=Coalesce("kind__parent__name", "kind__name"),
        )
        key, label = "_key", "_label"
    rows = (
        qs.values(key, label)
        .annotate(num=Count("pk", filter=numerator), den=Count("pk"))
        .order_by(key)
    )
    return [
        Figure(
            key=None if r[key] is None else str(r[key]),
            label=str(r[label] or ""),
            numerator=r["num"],
            denominator=r["den"],
        )
        for r in rows
    ]


def closure_rate(
    *, start: dt.datetime, end: dt.datetime, by: str | None = None, tickets: Any = None
) -> list[Figure]:
    """Closure rate over cases created in ``[start, end)``."""
    qs = (tickets if tickets is not None else Ticket.objects.all()).created_between(start, end)
    return _group(qs, Q(state__in=DONE_STATES), by)


def on_time_rate(
    *, start: dt.datetime, end: dt.datetime, by: str | None = None, tickets: Any = None
) -> list[Figure]:
    """On-time rate over the cases that became on time or late in ``[start, end)``."""
    on_time = on_time_in(start, end)
    qs = tickets if tickets is not None else Ticket.objects.all()
    return _group(qs.filter(on_time | late_in(start, end)), on_time, by)
