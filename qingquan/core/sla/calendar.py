"""The working-day calendar and the timelines that count working time on it (instants
as microseconds, a year's counted intervals and their prefix sums)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from qingquan.core.sla.units import (
    _EPOCH,
    _LAST_YEAR,
    _US,
    SHANGHAI,
    CalendarGapError,
    ClockKind,
    Schedule,
)


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
