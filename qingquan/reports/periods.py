"""Reporting periods: a local-day range ``[start, end)`` and the period before it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from qingquan.core import clock

KINDS = {
    "day": gettext_lazy("Day"),
    "week": gettext_lazy("Week"),
    "month": gettext_lazy("Month"),
    "quarter": gettext_lazy("Quarter"),
    "year": gettext_lazy("Year"),
    "custom": gettext_lazy("Custom"),
}


class PeriodError(ValueError):
    """A period that cannot be understood (shown as a form error)."""


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date  # first day
    end: dt.date  # day after the last

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def start_at(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=clock.SHANGHAI)

    @property
    def end_at(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), tzinfo=clock.SHANGHAI)

    @property
    def label(self) -> str:
        if self.end - self.start == dt.timedelta(days=1):
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.last.isoformat()}"

    def previous(self) -> Period:
        """The period just before, of the same kind (custom: the same number of days)."""
        if self.kind in ("month", "quarter", "year"):
            return period(self.kind, self.start - dt.timedelta(days=1))
        length = self.end - self.start
        return Period(self.kind, self.start - length, self.start)


def _month_start(day: dt.date, months_back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def period(kind: str, anchor: dt.date, end: dt.date | None = None) -> Period:
    """The period of ``kind`` containing ``anchor`` (custom: ``anchor``..``end`` inclusive)."""
    if kind == "day":
        return Period(kind, anchor, anchor + dt.timedelta(days=1))
    if kind == "week":
        start = anchor - dt.timedelta(days=anchor.weekday())
        return Period(kind, start, start + dt.timedelta(days=7))
    if kind == "month":
        start = dt.date(anchor.year, anchor.month, 1)
        return Period(kind, start, _month_start(start, -1))
    if kind == "quarter":
        start = dt.date(anchor.year, (anchor.month - 1) // 3 * 3 + 1, 1)
        return Period(kind, start, _month_start(start, -3))
    if kind == "year":
        return Period(kind, dt.date(anchor.year, 1, 1), dt.date(anchor.year + 1, 1, 1))
    if kind == "custom":
        if end is None or end < anchor:
            raise PeriodError(_("A custom period needs an end on or after its start."))
        if (end - anchor).days > 3660:
            raise PeriodError(_("A custom period may cover at most ten years."))
        return Period(kind, anchor, end + dt.timedelta(days=1))
    raise PeriodError(_("Unknown period %(kind)s.") % {"kind": kind})


def from_query(params: dict[str, str]) -> Period:
    """Read ``period``, ``date`` and (custom) ``end`` from query parameters."""
    kind = params.get("period") or "month"
    try:
        anchor = dt.date.fromisoformat(params["date"]) if params.get("date") else clock.today()
        end = dt.date.fromisoformat(params["end"]) if params.get("end") else None
    except ValueError:
        raise PeriodError(_("Write dates as YYYY-MM-DD.")) from None
    return period(kind, anchor, end)
