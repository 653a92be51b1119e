"""SLA clocks: how much time has counted towards a time limit, and when it runs out.

Pure computation: no Django, no database. Callers load the working-day calendar (seeded
from ``chinesecalendar`` and editable by administrators, SPEC "Time limits") into a
:class:`WorkCalendar` once, and pass it to every computation.

Model
-----
A time limit is a *budget* (in seconds of counted time) on a :class:`Clock`:

* ``ClockKind.CALENDAR``: every second counts, 24/7.
* ``ClockKind.WORKING_DAYS``: only official working days count, whole days 00:00-24:00
  Asia/Shanghai. A budget of *n* working days is ``working_days(n) == n * 86400`` seconds.
* ``ClockKind.WORKING_HOURS``: only the periods of a :class:`Schedule` on working days count.

Paused intervals (:class:`Pause`, 挂起) never count (R-CON-2). They may overlap each other
and extend outside the interval being measured; they are merged first.

All public functions take and return *aware* datetimes (naive ones raise ``ValueError``).
Results are returned in Asia/Shanghai. Internally every instant is an integer number of
microseconds since the Unix epoch, so arithmetic is exact (floats lose microseconds at
today's epoch values and would break round trips). Wall-clock boundaries (midnight, 08:30)
are converted through ``zoneinfo`` per day, never by a fixed +08:00 offset.

Decisions
---------
Deadline
    The deadline is the *earliest* instant at which counted time reaches the budget.
    Consequently, when a budget runs out exactly at the end of a counted period, the
    deadline is that end instant (17:30, or 24:00 which is the next day's 00:00), never
    the start of the next period. This rule makes budgets additive:
    ``deadline(deadline(s, a), b) == deadline(s, a + b)`` and
    ``counted_seconds(s, deadline(s, b)) == b``.
Budget zero
    ``deadline(start, 0) == start`` even if ``start`` is outside counted time: nothing
    has to be spent, so nothing is waited for.
Open pause
    A pause with ``end=None`` freezes the clock. If the budget is not yet spent when the
    open pause begins, the deadline is unknown: ``deadline=None``, ``paused=True``. If the
    budget was already spent *before* the open pause began, the deadline is already fixed
    in the past and is returned (still with ``paused=True``), so an overdue case cannot
    become "not breached" by being paused.
Breach
    ``breached`` means ``now > deadline``, the same rule as :func:`is_on_time`. Remaining
    time is ``budget - elapsed`` and becomes negative only once counted time passes the
    budget (during non-counted time right after a deadline it is 0 while already
    breached).
Calendar gaps
    A year that the :class:`WorkCalendar` does not fully cover is never silently treated
    as an ordinary "weekends only" year *without saying so*. The computation still returns
    a PROVISIONAL answer, using whatever days of that year the calendar does hold and, for
    the missing days, Monday-Friday minus the public holidays fixed by law
    (:func:`statutory_holidays`: 《全国年节及纪念日放假办法》 as amended in 2024), so the
    estimate is never earlier than the official deadline can be for those holidays; only
    the State Council's weekend swaps (调休) and bridge days stay unknown. The result
    carries ``provisional=True`` and
    ``calendar_gap_years`` (the uncovered years that were consulted). Callers must flag
    such results loudly on the case and to administrators (who then enter the State
    Council's schedule for that year). Refusing to compute would leave cases without any
    deadline around New Year, which is worse than a flagged estimate.

Performance
-----------
Per (calendar, clock kind, schedule) and year, the counted intervals of every day and a
prefix sum over the year are built once (about a millisecond) and cached on the
:class:`WorkCalendar` instance; build the calendar once and share it. A computation then
costs a few dictionary look-ups, a ``bisect`` and two time-zone conversions, whatever the
budget (30 working days cost the same as 1).

The package, by concern (callers import from `qingquan.core.sla`):
- `units`: budget units, clock kinds, schedules, results;
- `calendar`: the working-day calendar and statutory holidays, the timelines;
- `engine`: clocks and pauses, `counted_seconds`, `deadline`, `status`, `is_on_time`.
"""

from __future__ import annotations

from qingquan.core.sla.calendar import (
    WorkCalendar,
    calendar_days_from_chinesecalendar,
    statutory_holidays,
)
from qingquan.core.sla.engine import Clock, Pause, counted_seconds, deadline, is_on_time, status
from qingquan.core.sla.units import (
    SHANGHAI,
    CalendarGapError,
    ClockKind,
    CountedResult,
    DeadlineResult,
    Schedule,
    SlaStatus,
    hours,
    minutes,
    working_days,
)

__all__ = [
    "SHANGHAI",
    "CalendarGapError",
    "Clock",
    "ClockKind",
    "CountedResult",
    "DeadlineResult",
    "Pause",
    "Schedule",
    "SlaStatus",
    "WorkCalendar",
    "calendar_days_from_chinesecalendar",
    "counted_seconds",
    "deadline",
    "hours",
    "is_on_time",
    "minutes",
    "status",
    "statutory_holidays",
    "working_days",
]
