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
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Final
from zoneinfo import ZoneInfo

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

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)
_US_PER_S: Final = 1_000_000
_SECONDS_PER_DAY: Final = 86_400
# Stand-in for "no end" of an open pause; far beyond any year datetime can represent.
_INFINITY: Final = 1 << 62
# datetime cannot go further; a budget this large is a data error, not a deadline.
_LAST_YEAR: Final = 9998


# ---------------------------------------------------------------------------
# Budget helpers
# ---------------------------------------------------------------------------


def working_days(n: float) -> int:
    """Return the budget in seconds for ``n`` working days (one working day = 86 400 s)."""
    return round(n * _SECONDS_PER_DAY)


def hours(n: float) -> int:
    """Return the budget in seconds for ``n`` hours."""
    return round(n * 3600)


def minutes(n: float) -> int:
    """Return the budget in seconds for ``n`` minutes."""
    return round(n * 60)


# ---------------------------------------------------------------------------
# Configuration objects
# ---------------------------------------------------------------------------


class ClockKind(StrEnum):
    """How a clock counts time."""

    CALENDAR = "calendar"
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"


class CalendarGapError(LookupError):
    """A day was asked about whose year the :class:`WorkCalendar` does not cover."""

    def __init__(self, year: int) -> None:
        super().__init__(f"the working-day calendar does not cover the year {year}")
        self.year = year


def _days_in_year(year: int) -> int:
    return date(year + 1, 1, 1).toordinal() - date(year, 1, 1).toordinal()


@dataclass(frozen=True)
class WorkCalendar:
    """China's official working days (R-CON-7), as data.

    ``days`` maps a date to ``True`` (working day) or ``False`` (rest day); it must hold
    every day of each year in ``years`` (the covered years). It may hold days of other
    years too (a partly entered year): those are used, flagged as provisional.

    Build it once (e.g. from the database table) and share it: per-year facts are cached
    on the instance.
    """

    days: Mapping[date, bool] = field(hash=False)
    years: frozenset[int]
    # Cache of per-(kind, schedule) timelines; not part of the value.
    _timelines: dict[tuple[ClockKind, Schedule | None], _Timeline] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        # Copy so later changes to the caller's dict cannot desynchronise the caches, and
        # coerce values (a database may hand back 0/1).
        days = MappingProxyType({d: bool(working) for d, working in self.days.items()})
        object.__setattr__(self, "days", days)
        object.__setattr__(self, "years", frozenset(self.years))
        for year in self.years:
            first = date(year, 1, 1).toordinal()
            missing = [
                date.fromordinal(o)
                for o in range(first, first + _days_in_year(year))
                if date.fromordinal(o) not in days
            ]
            if missing:
                raise ValueError(
                    f"year {year} is declared covered but {len(missing)} day(s) are missing, "
                    f"first {missing[0].isoformat()}"
                )

    @classmethod
    def from_days(cls, days: Mapping[date, bool]) -> WorkCalendar:
        """Build a calendar whose covered years are those fully present in ``days``."""
        counts: dict[int, int] = {}
        for d in days:
            counts[d.year] = counts.get(d.year, 0) + 1
        years = frozenset(y for y, n in counts.items() if n == _days_in_year(y))
        return cls(days=days, years=years)

    @classmethod
    def from_chinesecalendar(cls, *, years: Iterable[int]) -> WorkCalendar:
        """Build a calendar from the ``chinesecalendar`` package (unknown years left out)."""
        return cls.from_days(calendar_days_from_chinesecalendar(years=years))

    def covers(self, d: date) -> bool:
        """Return whether the calendar holds the official schedule for ``d``'s year."""
        return d.year in self.years

    def is_working_day(self, d: date) -> bool:
        """Return whether ``d`` is an official working day.

        Raises :class:`CalendarGapError` if ``d``'s year is not covered.
        """
        if d.year not in self.years:
            raise CalendarGapError(d.year)
        return self.days[d]

    def _provisional_is_working_day(self, d: date) -> bool:
        # Used only for uncovered years, whose results are flagged provisional.
        known = self.days.get(d)
        if known is not None:
            return known
        return d.weekday() < 5 and d not in statutory_holidays(d.year)

    def _timeline(self, kind: ClockKind, schedule: Schedule | None) -> _Timeline:
        key = (kind, schedule)
        timeline = self._timelines.get(key)
        if timeline is None:
            # A race between threads only builds an equivalent timeline twice; either wins.
            timeline = _WorkingTimeline(self, kind, schedule)
            self._timelines[key] = timeline
        return timeline


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> Mapping[date, str]:
    """The public holidays fixed by law in ``year``, ``{date: festival}``: 《全国年节及纪念日
    放假办法》 as amended in 2024 (in force from 2025): 元旦 1 day, 春节 4 days from 除夕,
    清明 1, 劳动节 2 (1-2 May), 端午 1, 中秋 1, 国庆 3 (1-3 October).

    Lunar dates and the solar term 清明 come from ``lunar_python`` (a maintained calendar
    library, no data files). The State Council's yearly schedule adds bridge days and moves
    weekends around these; that part cannot be known before it is published.
    """
    # Imported here: the library is needed only for years the calendar table lacks.
    from lunar_python import Lunar

    def lunar(month: int, day: int) -> date:
        solar = Lunar.fromYmd(year, month, day).getSolar()
        return date(solar.getYear(), solar.getMonth(), solar.getDay())

    days: dict[date, str] = {date(year, 1, 1): "元旦"}
    # 除夕 is the day before the first day of the lunar year that begins in ``year``.
    new_year = lunar(1, 1)
    for offset in range(-1, 3):
        days[new_year + timedelta(days=offset)] = "春节"
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    days[date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = "清明节"
    days[date(year, 5, 1)] = days[date(year, 5, 2)] = "劳动节"
    days[lunar(5, 5)] = "端午节"
    days[lunar(8, 15)] = "中秋节"
    for day in (1, 2, 3):
        days[date(year, 10, day)] = "国庆节"
    return MappingProxyType({d: name for d, name in days.items() if d.year == year})


def calendar_days_from_chinesecalendar(*, years: Iterable[int]) -> dict[date, bool]:
    """Return ``{date: is_working_day}`` for each requested year ``chinesecalendar`` knows.

    Years the package has no data for (it raises ``NotImplementedError``) are skipped, so
    the caller can seed what exists and let administrators enter the rest.
    """
    # Imported here: the package is needed only for seeding, not for computing.
    import chinese_calendar

    result: dict[date, bool] = {}
    for year in sorted(set(years)):
        first = date(year, 1, 1).toordinal()
        try:
            result.update(
                (d, bool(chinese_calendar.is_workday(d)))
                for d in (date.fromordinal(o) for o in range(first, first + _days_in_year(year)))
            )
        except NotImplementedError:
            # The package covers a fixed range of years (each release adds the next one).
            # Drop a possibly partial year so only whole years are seeded.
            for o in range(first, first + _days_in_year(year)):
                result.pop(date.fromordinal(o), None)
    return result


@dataclass(frozen=True)
class Schedule:
    """Counted periods of a working day, e.g. ``((08:30, 12:00), (13:30, 17:30))``.

    Periods are local (Asia/Shanghai) naive times, non-empty, sorted, non-overlapping
    (touching is allowed) and each with start < end.
    """

    periods: tuple[tuple[time, time], ...]

    def __post_init__(self) -> None:
        periods = tuple((start, end) for start, end in self.periods)
        object.__setattr__(self, "periods", periods)
        if not periods:
            raise ValueError("a schedule needs at least one period")
        previous_end: time | None = None
        for start, end in periods:
            if not isinstance(start, time) or not isinstance(end, time):
                raise ValueError("schedule periods are pairs of datetime.time")
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("schedule times are local wall times and must be naive")
            if not start < end:
                raise ValueError(f"period {start}-{end}: start must be before end")
            if previous_end is not None and start < previous_end:
                raise ValueError(f"period {start}-{end} overlaps or is out of order")
            previous_end = end


@dataclass(frozen=True)
class Clock:
    """A clock: its kind plus the calendar (working kinds) and schedule (working hours)."""

    kind: ClockKind
    calendar: WorkCalendar | None = None
    schedule: Schedule | None = None
    _timeline: _Timeline = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        try:
            kind = ClockKind(self.kind)
        except ValueError:
            raise ValueError(f"unknown clock kind {self.kind!r}") from None
        object.__setattr__(self, "kind", kind)
        if kind is ClockKind.CALENDAR:
            if self.calendar is not None or self.schedule is not None:
                raise ValueError("a calendar clock takes neither a calendar nor a schedule")
            object.__setattr__(self, "_timeline", _CALENDAR_TIMELINE)
            return
        if not isinstance(self.calendar, WorkCalendar):
            raise ValueError(f"a {kind.value} clock needs a WorkCalendar")
        if kind is ClockKind.WORKING_HOURS:
            if not isinstance(self.schedule, Schedule):
                raise ValueError("a working_hours clock needs a Schedule")
        elif self.schedule is not None:
            raise ValueError("only a working_hours clock takes a schedule")
        object.__setattr__(self, "_timeline", self.calendar._timeline(kind, self.schedule))


@dataclass(frozen=True)
class Pause:
    """A paused interval (挂起). ``end=None`` means still paused."""

    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        start = _to_us(self.start, "pause start")
        if self.end is not None and _to_us(self.end, "pause end") < start:
            raise ValueError("a pause cannot end before it starts")


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CountedResult:
    """Counted time between two instants."""

    seconds: float
    microseconds: int
    provisional: bool
    calendar_gap_years: frozenset[int]


@dataclass(frozen=True)
class DeadlineResult:
    """When a budget runs out.

    ``deadline`` is ``None`` only when an open pause began before the budget was spent.
    ``paused`` is ``True`` when the pauses include an open one.
    """

    deadline: datetime | None
    paused: bool
    provisional: bool
    calendar_gap_years: frozenset[int]


@dataclass(frozen=True)
class SlaStatus:
    """A time limit's state at ``now``.

    ``remaining_seconds`` is negative once counted time exceeds the budget;
    ``fraction_used`` is ``elapsed / budget`` (a zero budget gives 1.0 when nothing has
    counted yet and infinity after); ``breached`` is ``now > deadline``; ``paused`` is
    whether ``now`` falls inside a pause.
    """

    deadline: datetime | None
    budget_seconds: float
    elapsed_seconds: float
    remaining_seconds: float
    fraction_used: float
    breached: bool
    paused: bool
    provisional: bool
    calendar_gap_years: frozenset[int]


# ---------------------------------------------------------------------------
# Timelines: counted time as a function of the instant
# ---------------------------------------------------------------------------


def _to_us(value: datetime, name: str) -> int:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {value.isoformat()}")
    # Aware subtraction across time zones goes through UTC, so this is exact.
    return (value - _EPOCH) // _US


def _from_us(us: int) -> datetime:
    return (_EPOCH + timedelta(microseconds=us)).astimezone(SHANGHAI)


def _local_us(d: date, t: time) -> int:
    return (datetime.combine(d, t, tzinfo=SHANGHAI) - _EPOCH) // _US


class _Timeline:
    """Counted time as a function of the instant; the calendar clock counts everything."""

    __slots__ = ()

    def counted(self, a: int, b: int, gaps: set[int]) -> int:
        """Counted microseconds in ``[a, b)``; adds consulted uncovered years to ``gaps``."""
        return b - a

    def find(self, a: int, r: int, gaps: set[int]) -> int:
        """Earliest ``t`` with ``counted(a, t) == r`` (``r > 0``)."""
        return a + r


_CALENDAR_TIMELINE: Final = _Timeline()


class _Year:
    """Counted intervals of each local day of one year, and their prefix sums."""

    __slots__ = ("first_ordinal", "gap", "intervals", "prefix", "total")

    def __init__(
        self,
        first_ordinal: int,
        intervals: list[tuple[tuple[int, int], ...]],
        gap: bool,
    ) -> None:
        self.first_ordinal = first_ordinal
        self.intervals = intervals
        self.gap = gap
        prefix = [0]
        running = 0
        for day in intervals:
            for start, end in day:
                running += end - start
            prefix.append(running)
        # prefix[i] = counted microseconds of the year before day i.
        self.prefix = prefix
        self.total = running


class _WorkingTimeline(_Timeline):
    """Counted time for the working kinds, built lazily one year at a time."""

    __slots__ = ("_calendar", "_kind", "_periods", "_years")

    def __init__(self, calendar: WorkCalendar, kind: ClockKind, schedule: Schedule | None):
        self._calendar = calendar
        self._kind = kind
        self._periods = schedule.periods if schedule is not None else ()
        self._years: dict[int, _Year] = {}

    def _year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is None:
            data = self._build(year)
            self._years[year] = data
        return data

    def _build(self, year: int) -> _Year:
        calendar = self._calendar
        covered = year in calendar.years
        is_working = calendar.days.__getitem__ if covered else calendar._provisional_is_working_day
        first = date(year, 1, 1).toordinal()
        intervals: list[tuple[tuple[int, int], ...]] = []
        midnight = time(0, 0)
        for ordinal in range(first, first + _days_in_year(year)):
            d = date.fromordinal(ordinal)
            if not is_working(d):
                intervals.append(())
            elif self._kind is ClockKind.WORKING_DAYS:
                # 24:00 is the next day's midnight; computed per day, not as +86 400 s.
                next_day = date.fromordinal(ordinal + 1)
                intervals.append(((_local_us(d, midnight), _local_us(next_day, midnight)),))
            else:
                intervals.append(
                    tuple((_local_us(d, start), _local_us(d, end)) for start, end in self._periods)
                )
        return _Year(first, intervals, gap=not covered)

    def _cum(self, t: int, gaps: set[int]) -> tuple[int, int]:
        """Return ``(year, counted microseconds from that year's start up to t)``."""
        local = _from_us(t)
        year = local.year
        data = self._year(year)
        if data.gap:
            gaps.add(year)
        index = local.toordinal() - data.first_ordinal
        counted = data.prefix[index]
        for start, end in data.intervals[index]:
            if t <= start:
                break
            counted += (t if t < end else end) - start
        return year, counted

    def counted(self, a: int, b: int, gaps: set[int]) -> int:
        year_a, cum_a = self._cum(a, gaps)
        year_b, cum_b = self._cum(b, gaps)
        if year_a == year_b:
            return cum_b - cum_a
        total = self._year(year_a).total - cum_a + cum_b
        for year in range(year_a + 1, year_b):
            data = self._year(year)
            if data.gap:
                gaps.add(year)
            total += data.total
        return total

    def find(self, a: int, r: int, gaps: set[int]) -> int:
        year, cum_a = self._cum(a, gaps)
        need = cum_a + r  # > 0, so the answer is strictly after a
        while True:
            data = self._year(year)
            if data.gap:
                gaps.add(year)
            if need <= data.total:
                break
            need -= data.total
            year += 1
            if year > _LAST_YEAR:
                raise ValueError(f"the deadline lies beyond the year {_LAST_YEAR}")
        # First day whose end-of-day prefix reaches `need`, then walk its few periods.
        # `<=` (not `<`) stops at a period's end when the budget runs out exactly there.
        index = bisect_left(data.prefix, need, 1) - 1
        remaining = need - data.prefix[index]
        for start, end in data.intervals[index]:
            if remaining <= end - start:
                return start + remaining
            remaining -= end - start
        raise AssertionError("unreachable: prefix sums and intervals disagree")  # pragma: no cover


# ---------------------------------------------------------------------------
# Public computations
# ---------------------------------------------------------------------------


def _merge_pauses(pauses: Iterable[Pause]) -> tuple[list[tuple[int, int]], bool]:
    """Sorted, disjoint pause intervals (open end = _INFINITY) and whether one is open."""
    raw: list[tuple[int, int]] = []
    has_open = False
    for pause in pauses:
        if not isinstance(pause, Pause):
            raise ValueError(f"pauses must be Pause objects, got {type(pause).__name__}")
        start = _to_us(pause.start, "pause start")
        if pause.end is None:
            has_open = True
            raw.append((start, _INFINITY))
        else:
            end = _to_us(pause.end, "pause end")
            if end > start:
                raw.append((start, end))
    if len(raw) <= 1:
        return raw, has_open
    raw.sort()
    merged = [raw[0]]
    for start, end in raw[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end:
            if end > last_end:
                merged[-1] = (last_start, end)
        else:
            merged.append((start, end))
    return merged, has_open


def _budget_us(budget_seconds: float) -> int:
    if isinstance(budget_seconds, bool) or not isinstance(budget_seconds, int | float):
        raise ValueError("budget_seconds must be a number of seconds")
    if not math.isfinite(budget_seconds) or budget_seconds < 0:
        raise ValueError(f"budget_seconds must be finite and >= 0, got {budget_seconds!r}")
    if isinstance(budget_seconds, int):
        return budget_seconds * _US_PER_S
    return round(budget_seconds * _US_PER_S)


def _clock(clock: Clock) -> _Timeline:
    if not isinstance(clock, Clock):
        raise ValueError(f"clock must be a Clock, got {type(clock).__name__}")
    return clock._timeline


def _counted_us(
    timeline: _Timeline, start: int, end: int, merged: Sequence[tuple[int, int]], gaps: set[int]
) -> int:
    total = 0
    cursor = start
    for pause_start, pause_end in merged:
        if pause_end <= cursor:
            continue
        if pause_start >= end:
            break
        if pause_start > cursor:
            total += timeline.counted(cursor, pause_start, gaps)
        cursor = pause_end
        if cursor >= end:
            return total
    if cursor < end:
        total += timeline.counted(cursor, end, gaps)
    return total


def _deadline_us(
    timeline: _Timeline, start: int, budget: int, merged: Sequence[tuple[int, int]], gaps: set[int]
) -> int | None:
    if budget == 0:
        return start
    remaining = budget
    cursor = start
    for pause_start, pause_end in merged:
        if pause_end <= cursor:
            continue
        if pause_start > cursor:
            available = timeline.counted(cursor, pause_start, gaps)
            if remaining <= available:
                return timeline.find(cursor, remaining, gaps)
            remaining -= available
        if pause_end == _INFINITY:
            return None  # frozen by an open pause before the budget was spent
        cursor = pause_end
    return timeline.find(cursor, remaining, gaps)


def counted_seconds(
    *, clock: Clock, start: datetime, end: datetime, pauses: Iterable[Pause] = ()
) -> CountedResult:
    """Return the counted time in ``[start, end]``, excluding pauses and non-working time.

    Raises ``ValueError`` for naive datetimes or ``end < start``.
    """
    timeline = _clock(clock)
    start_us = _to_us(start, "start")
    end_us = _to_us(end, "end")
    if end_us < start_us:
        raise ValueError("end must not be before start")
    merged, _ = _merge_pauses(pauses)
    gaps: set[int] = set()
    total = _counted_us(timeline, start_us, end_us, merged, gaps)
    return CountedResult(
        seconds=total / _US_PER_S,
        microseconds=total,
        provisional=bool(gaps),
        calendar_gap_years=frozenset(gaps),
    )


def deadline(
    *, clock: Clock, start: datetime, budget_seconds: float, pauses: Iterable[Pause] = ()
) -> DeadlineResult:
    """Return the earliest instant at which counted time since ``start`` reaches the budget.

    See the module docstring for the boundary rule, zero budgets, open pauses and
    calendar gaps.
    """
    timeline = _clock(clock)
    start_us = _to_us(start, "start")
    budget = _budget_us(budget_seconds)
    merged, has_open = _merge_pauses(pauses)
    gaps: set[int] = set()
    result = _deadline_us(timeline, start_us, budget, merged, gaps)
    return DeadlineResult(
        deadline=None if result is None else _from_us(result),
        paused=has_open,
        provisional=bool(gaps),
        calendar_gap_years=frozenset(gaps),
    )


def status(
    *,
    clock: Clock,
    start: datetime,
    budget_seconds: float,
    pauses: Iterable[Pause] = (),
    now: datetime,
) -> SlaStatus:
    """Return the state of a time limit at ``now`` (see :class:`SlaStatus`).

    A ``now`` before ``start`` counts as no time elapsed.
    """
    timeline = _clock(clock)
    start_us = _to_us(start, "start")
    now_us = _to_us(now, "now")
    budget = _budget_us(budget_seconds)
    merged, _ = _merge_pauses(pauses)
    gaps: set[int] = set()
    deadline_us = _deadline_us(timeline, start_us, budget, merged, gaps)
    elapsed = _counted_us(timeline, start_us, now_us, merged, gaps) if now_us > start_us else 0
    # A zero budget is fully used at once (its deadline is the start); past it, without end.
    fraction = elapsed / budget if budget else (math.inf if elapsed else 1.0)
    paused = any(pause_start <= now_us < pause_end for pause_start, pause_end in merged)
    return SlaStatus(
        deadline=None if deadline_us is None else _from_us(deadline_us),
        budget_seconds=budget / _US_PER_S,
        elapsed_seconds=elapsed / _US_PER_S,
        remaining_seconds=(budget - elapsed) / _US_PER_S,
        fraction_used=fraction,
        breached=deadline_us is not None and now_us > deadline_us,
        paused=paused,
        provisional=bool(gaps),
        calendar_gap_years=frozenset(gaps),
    )


def is_on_time(*, finished_at: datetime, deadline: datetime) -> bool:
    """Return whether a case finished at or before its deadline."""
    return _to_us(finished_at, "finished_at") <= _to_us(deadline, "deadline")
