"""The working-day calendar as data: seeding, editing, and loading it for the SLA engine."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Count, Max

from qingquan.core.actors import SEED
from qingquan.core.audit import audit_record
from qingquan.core.models import CalendarDay
from qingquan.core.sla import WorkCalendar, calendar_days_from_chinesecalendar

_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"version": None, "calendar": None, "checked": 0.0}
# How long a process trusts its cached calendar before asking the table whether it changed.
# Edits are rare (next year's holidays, once each autumn); an edit made in this process
# is seen at once, one made in another process within this many seconds.
RECHECK_SECONDS = 60.0


def _forget() -> None:
    with _cache_lock:
        _cache["version"] = None
        _cache["checked"] = 0.0


def calendar_seed(*, actor: Any = SEED, years: Iterable[int]) -> int:
    """Add the days the `chinesecalendar` package knows for `years`; returns days added.

    Days already in the table (perhaps edited by an administrator) are left alone.
    """
    days = calendar_days_from_chinesecalendar(years=years)
    existing = set(CalendarDay.objects.filter(date__in=list(days)).values_list("date", flat=True))
    rows = [
        CalendarDay(date=day, is_working_day=working, source=CalendarDay.Source.PACKAGE)
        for day, working in sorted(days.items())
        if day not in existing
    ]
    with transaction.atomic():
        CalendarDay.objects.bulk_create(rows, batch_size=1000)
        _forget()
        transaction.on_commit(_forget)
        if rows:
            audit_record(
                actor=actor,
                action="calendar.seed",
                obj=CalendarDay.objects.get(date=rows[0].date),
                after={"days": len(rows), "first": rows[0].date, "last": rows[-1].date},
            )
    return len(rows)


@transaction.atomic
def calendar_set_day(
    *, actor: Any, day: dt.date, is_working_day: bool, note: str = ""
) -> CalendarDay:
    """Record whether `day` is worked (an administrator's edit, audited)."""
    row = CalendarDay.objects.select_for_update().filter(date=day).first()
    before = None
    if row is None:
        row = CalendarDay(date=day)
    else:
        before = {"is_working_day": row.is_working_day, "note": row.note, "source": row.source}
    row.is_working_day = is_working_day
    row.note = note
    row.source = CalendarDay.Source.MANUAL
    row.save()
    # Forget now (this transaction sees the change) and again once others can see it.
    _forget()
    transaction.on_commit(_forget)
    audit_record(
        actor=actor,
        action="calendar.set_day",
        obj=row,
        before=before,
        after={"is_working_day": is_working_day, "note": note, "source": row.source},
    )
    return row


def load_calendar() -> WorkCalendar:
    """The whole calendar table as a WorkCalendar, cached until the table changes."""
    with _cache_lock:
        fresh = time.monotonic() - _cache["checked"] < RECHECK_SECONDS
        if fresh and _cache["calendar"] is not None:
            return _cache["calendar"]
    version = CalendarDay.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    key = f"{version['n']}:{version['last']}"
    with _cache_lock:
        if _cache["version"] == key and _cache["calendar"] is not None:
            _cache["checked"] = time.monotonic()
            return _cache["calendar"]
    days = dict(CalendarDay.objects.values_list("date", "is_working_day"))
    calendar = WorkCalendar.from_days(days)
    with _cache_lock:
        _cache["version"] = key
        _cache["calendar"] = calendar
        _cache["checked"] = time.monotonic()
    return calendar


def is_working_day_or_weekday(day: dt.date) -> bool:
    """Whether `day` is worked by the calendar table; Monday–Friday where it has no data.

    Only for rosters and demo data: SLA clocks use the SLA engine, which flags gaps.
    """
    row = CalendarDay.objects.filter(date=day).values_list("is_working_day", flat=True).first()
    if row is None:
        return day.weekday() < 5
    return bool(row)
