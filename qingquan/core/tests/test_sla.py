"""Tests for the SLA engine (qingquan.core.sla): pure Python, no Django, no database."""

from __future__ import annotations

import random
import time as time_module
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingquan.core.sla import (
    SHANGHAI,
    CalendarGapError,
    Clock,
    ClockKind,
    Pause,
    Schedule,
    WorkCalendar,
    calendar_days_from_chinesecalendar,
    counted_seconds,
    deadline,
    hours,
    is_on_time,
    minutes,
    status,
    statutory_holidays,
    working_days,
)

# The real official calendar of 2024–2026 (from chinesecalendar); 2027 is left out on
# purpose, whatever the installed package knows, so the gap tests below always have a gap.
REAL = WorkCalendar.from_chinesecalendar(years=range(2024, 2027))


def _synthetic_calendar() -> WorkCalendar:
    # Random but fixed: odd holidays and worked weekends, so nothing relies on Mon-Fri.
    rng = random.Random(20250101)
    days: dict[date, bool] = {}
    d = date(2025, 1, 1)
    while d.year <= 2027:
        days[d] = rng.random() < (0.85 if d.weekday() < 5 else 0.1)
        d += timedelta(days=1)
    return WorkCalendar.from_days(days)


SYNTHETIC = _synthetic_calendar()

LUNCH_BREAK = Schedule(periods=((time(8, 30), time(12, 0)), (time(13, 30), time(17, 30))))
CAL = Clock(kind=ClockKind.CALENDAR)
WD = Clock(kind=ClockKind.WORKING_DAYS, calendar=REAL)
WH = Clock(kind=ClockKind.WORKING_HOURS, calendar=REAL, schedule=LUNCH_BREAK)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An aware Asia/Shanghai datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def due(clock: Clock, start: datetime, budget: float, pauses: tuple[Pause, ...] = ()) -> datetime:
    result = deadline(clock=clock, start=start, budget_seconds=budget, pauses=pauses)
    assert result.deadline is not None
    return result.deadline


# ---------------------------------------------------------------------------
# Calendar clock
# ---------------------------------------------------------------------------


def test_calendar_clock_simple_deadline() -> None:
    result = deadline(clock=CAL, start=sh(2026, 2, 13, 22, 0), budget_seconds=hours(4))
    assert result.deadline == sh(2026, 2, 14, 2, 0)
    assert result.deadline.tzinfo == SHANGHAI
    assert not result.paused
    assert not result.provisional
    assert result.calendar_gap_years == frozenset()


def test_calendar_clock_with_multiple_overlapping_and_early_pauses() -> None:
    start = sh(2026, 5, 6, 10, 0)
    pauses = (
        Pause(start=sh(2026, 5, 6, 9, 0), end=sh(2026, 5, 6, 10, 30)),  # began before start
        Pause(start=sh(2026, 5, 6, 11, 0), end=sh(2026, 5, 6, 12, 0)),
        Pause(start=sh(2026, 5, 6, 11, 30), end=sh(2026, 5, 6, 12, 30)),  # overlaps previous
        Pause(start=sh(2026, 5, 6, 20, 0), end=sh(2026, 5, 6, 21, 0)),  # after the deadline
    )
    # Counted: 10:30-11:00 (30 min), then from 12:30 the remaining 3.5 h -> 16:00.
    assert due(CAL, start, hours(4), pauses) == sh(2026, 5, 6, 16, 0)
    spent = counted_seconds(clock=CAL, start=start, end=sh(2026, 5, 6, 16, 0), pauses=pauses)
    assert spent.seconds == hours(4)
    assert spent.microseconds == hours(4) * 1_000_000


def test_zero_budget_deadline_is_the_start_even_outside_counted_time() -> None:
    saturday_night = sh(2026, 3, 7, 23, 0)
    assert due(WH, saturday_night, 0) == saturday_night
    assert due(WD, saturday_night, 0) == saturday_night


def test_other_time_zones_are_converted_and_results_are_in_shanghai() -> None:
    start_utc = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    result = due(WH, start_utc, hours(2))
    assert result == sh(2026, 3, 10, 14, 30)
    assert result.tzinfo == SHANGHAI
    assert result.hour == 14


# ---------------------------------------------------------------------------
# Working days, real 2026 calendar
# ---------------------------------------------------------------------------


def test_real_calendar_facts_used_below() -> None:
    assert REAL.years == frozenset({2024, 2025, 2026})
    assert REAL.is_working_day(date(2026, 2, 13))  # Friday
    assert REAL.is_working_day(date(2026, 2, 14))  # Saturday, adjusted working day (调休)
    assert not any(REAL.is_working_day(date(2026, 2, d)) for d in range(15, 24))  # 春节
    assert REAL.is_working_day(date(2026, 2, 24))
    assert REAL.is_working_day(date(2026, 9, 20))  # Sunday, adjusted working day


def test_working_days_across_spring_festival_without_pause() -> None:
    # Fri 13 Feb 16:00-24:00 = 8 h; Sat 14 (调休, worked) = 24 h -> 32 h;
    # 15-23 Feb holiday; Tue 24 Feb 00:00-16:00 = 16 h -> 48 h = 2 working days.
    assert due(WD, sh(2026, 2, 13, 16, 0), working_days(2)) == sh(2026, 2, 24, 16, 0)


def test_working_days_connection_paused_for_contract_signing() -> None:
    # R-CON-2: the clock stops while the applicant signs the contract.
    # Fri 13 Feb 16:00-17:00 = 1 h, then paused until Wed 25 Feb 09:00 (the adjusted
    # Saturday and the Spring Festival are inside the pause, so they do not matter).
    # Wed 25 09:00-24:00 = 15 h -> 16 h; Thu 26 = 24 h -> 40 h;
    # Fri 27 00:00-08:00 = 8 h -> 48 h. Deadline Fri 27 Feb 08:00.
    pause = Pause(start=sh(2026, 2, 13, 17, 0), end=sh(2026, 2, 25, 9, 0))
    start = sh(2026, 2, 13, 16, 0)
    assert due(WD, start, working_days(2), (pause,)) == sh(2026, 2, 27, 8, 0)
    spent = counted_seconds(clock=WD, start=start, end=sh(2026, 2, 27, 8, 0), pauses=(pause,))
    assert spent.seconds == working_days(2)


def test_working_days_counts_adjusted_sunday_2026_09_20() -> None:
    # Fri 18 Sep 12:00-24:00 = 12 h; Sat 19 rest; Sun 20 worked = 24 h -> 36 h;
    # Mon 21 00:00-12:00 = 12 h -> 48 h.
    assert due(WD, sh(2026, 9, 18, 12, 0), working_days(2)) == sh(2026, 9, 21, 12, 0)
    weekend = counted_seconds(clock=WD, start=sh(2026, 9, 19), end=sh(2026, 9, 21))
    assert weekend.seconds == working_days(1)


def test_working_days_budget_ending_at_midnight_stays_at_midnight() -> None:
    # Fri 6 Mar 12:00 + 12 h runs out at 24:00 Friday = Sat 7 Mar 00:00, not Monday 00:00.
    assert due(WD, sh(2026, 3, 6, 12, 0), hours(12)) == sh(2026, 3, 7, 0, 0)


def test_working_days_thirty_days_budget() -> None:
    # 30 whole working days from a midnight end at the midnight after the 30th working
    # day; count those days with the calendar itself as the independent oracle.
    start = sh(2026, 3, 2)
    d, counted = date(2026, 3, 2), 0
    while counted < 30:
        counted += REAL.is_working_day(d)
        d += timedelta(days=1)
    assert due(WD, start, working_days(30)) == sh(d.year, d.month, d.day)


# ---------------------------------------------------------------------------
# Working hours with a lunch break
# ---------------------------------------------------------------------------


def test_working_hours_across_lunch_break() -> None:
    # Tue 10 Mar: 11:00-12:00 = 1 h, break, 13:30-14:30 = 1 h.
    assert due(WH, sh(2026, 3, 10, 11, 0), hours(2)) == sh(2026, 3, 10, 14, 30)


def test_working_hours_received_during_break_starts_at_1330() -> None:
    start = sh(2026, 3, 10, 12, 30)
    assert counted_seconds(clock=WH, start=start, end=sh(2026, 3, 10, 13, 30)).seconds == 0
    assert due(WH, start, minutes(1)) == sh(2026, 3, 10, 13, 31)
    assert due(WH, start, hours(1)) == sh(2026, 3, 10, 14, 30)


def test_working_hours_friday_evening_to_next_working_day() -> None:
    # Fri 6 Mar 17:00-17:30 = 30 min; Sat 7/Sun 8 rest; Mon 9 08:30-09:00 = 30 min.
    assert due(WH, sh(2026, 3, 6, 17, 0), hours(1)) == sh(2026, 3, 9, 9, 0)
    # Fri 13 Feb: the next working day is Saturday 14 Feb (调休).
    assert due(WH, sh(2026, 2, 13, 17, 0), hours(1)) == sh(2026, 2, 14, 9, 0)


def test_working_hours_budget_ending_at_1730_stays_at_1730() -> None:
    assert due(WH, sh(2026, 3, 10, 16, 30), hours(1)) == sh(2026, 3, 10, 17, 30)
    assert due(WH, sh(2026, 3, 10, 11, 0), hours(1)) == sh(2026, 3, 10, 12, 0)
    # A whole working day spent from 08:30 ends at 17:30 the same day.
    assert due(WH, sh(2026, 3, 10, 8, 30), hours(7.5)) == sh(2026, 3, 10, 17, 30)


def test_touching_periods_are_allowed() -> None:
    schedule = Schedule(periods=((time(9, 0), time(12, 0)), (time(12, 0), time(13, 0))))
    clock = Clock(kind=ClockKind.WORKING_HOURS, calendar=REAL, schedule=schedule)
    assert due(clock, sh(2026, 3, 10, 11, 0), hours(2)) == sh(2026, 3, 10, 13, 0)


# ---------------------------------------------------------------------------
# Calendar gaps
# ---------------------------------------------------------------------------


def test_chinesecalendar_seeding_skips_unknown_years() -> None:
    days = calendar_days_from_chinesecalendar(years=[2026, 2100])  # 2100: never published
    assert len(days) == 365
    assert {d.year for d in days} == {2026}
    assert days[date(2026, 2, 14)] is True
    assert days[date(2026, 2, 16)] is False


def test_uncovered_year_raises_on_direct_question() -> None:
    assert REAL.covers(date(2026, 12, 31))
    assert not REAL.covers(date(2027, 1, 4))
    with pytest.raises(CalendarGapError) as info:
        REAL.is_working_day(date(2027, 1, 4))
    assert info.value.year == 2027


def test_computation_into_2027_is_provisional_but_returns_a_deadline() -> None:
    # Wed 30 and Thu 31 Dec 2026 (real) = 2 days; 2027 is not covered, so Mon-Fri minus
    # the holidays fixed by law is assumed: Fri 1 Jan is 元旦, so Mon 4, Tue 5, Wed 6 ->
    # deadline Thu 7 Jan 00:00, flagged.
    result = deadline(clock=WD, start=sh(2026, 12, 30), budget_seconds=working_days(5))
    assert result.deadline == sh(2027, 1, 7)
    assert result.provisional is True
    assert result.calendar_gap_years == frozenset({2027})
    spent = counted_seconds(clock=WD, start=sh(2026, 12, 30), end=sh(2027, 1, 7))
    assert spent.seconds == working_days(5)
    assert spent.calendar_gap_years == frozenset({2027})
    sla = status(
        clock=WD, start=sh(2026, 12, 30), budget_seconds=working_days(5), now=sh(2026, 12, 31)
    )
    assert sla.provisional and sla.calendar_gap_years == frozenset({2027})


def test_computation_inside_covered_years_is_not_provisional() -> None:
    result = deadline(clock=WD, start=sh(2026, 12, 28), budget_seconds=working_days(2))
    assert result.deadline == sh(2026, 12, 30)
    assert not result.provisional
    assert result.calendar_gap_years == frozenset()


def test_partly_entered_year_uses_known_days_and_stays_provisional() -> None:
    days = dict(REAL.days)
    days[date(2027, 1, 1)] = False  # entered by an administrator; rest of 2027 missing
    calendar = WorkCalendar.from_days(days)
    assert 2027 not in calendar.years
    clock = Clock(kind=ClockKind.WORKING_DAYS, calendar=calendar)
    result = deadline(clock=clock, start=sh(2026, 12, 30), budget_seconds=working_days(5))
    assert result.deadline == sh(2027, 1, 7)
    assert result.provisional and result.calendar_gap_years == frozenset({2027})


def test_gap_years_flagged_for_every_uncovered_year_crossed() -> None:
    result = counted_seconds(clock=WD, start=sh(2026, 6, 1), end=sh(2029, 2, 1))
    assert result.calendar_gap_years == frozenset({2027, 2028, 2029})


# ---------------------------------------------------------------------------
# status() and is_on_time()
# ---------------------------------------------------------------------------


def test_status_before_and_after_breach() -> None:
    start = sh(2026, 3, 10, 9, 0)
    at_80 = status(clock=WH, start=start, budget_seconds=hours(5), now=sh(2026, 3, 10, 14, 30))
    # 09:00-12:00 = 3 h, 13:30-14:30 = 1 h -> 4 of 5 hours used.
    assert at_80.deadline == sh(2026, 3, 10, 15, 30)
    assert at_80.elapsed_seconds == hours(4)
    assert at_80.remaining_seconds == hours(1)
    assert at_80.fraction_used == pytest.approx(0.8)
    assert not at_80.breached
    assert not at_80.paused

    late = status(clock=WH, start=start, budget_seconds=hours(5), now=sh(2026, 3, 10, 17, 30))
    assert late.breached
    assert late.remaining_seconds == -hours(2)
    assert late.fraction_used == pytest.approx(1.4)


def test_status_after_deadline_in_non_counted_time_is_breached_with_zero_remaining() -> None:
    start = sh(2026, 3, 10, 16, 30)
    sla = status(clock=WH, start=start, budget_seconds=hours(1), now=sh(2026, 3, 10, 20, 0))
    assert sla.deadline == sh(2026, 3, 10, 17, 30)
    assert sla.breached
    assert sla.remaining_seconds == 0
    assert sla.fraction_used == 1.0


def test_status_with_open_pause_has_no_deadline() -> None:
    start = sh(2026, 3, 10, 9, 0)
    pauses = (Pause(start=sh(2026, 3, 10, 10, 0)),)
    sla = status(clock=WH, start=start, budget_seconds=hours(5), pauses=pauses, now=sh(2026, 3, 20))
    assert sla.paused
    assert sla.deadline is None
    assert not sla.breached
    assert sla.elapsed_seconds == hours(1)
    assert sla.remaining_seconds == hours(4)
    result = deadline(clock=WH, start=start, budget_seconds=hours(5), pauses=pauses)
    assert result.paused and result.deadline is None


def test_open_pause_after_budget_spent_keeps_the_past_deadline() -> None:
    start = sh(2026, 3, 10, 9, 0)
    pauses = (Pause(start=sh(2026, 3, 11, 10, 0)),)
    sla = status(clock=WH, start=start, budget_seconds=hours(2), pauses=pauses, now=sh(2026, 3, 12))
    assert sla.paused
    assert sla.deadline == sh(2026, 3, 10, 11, 0)
    assert sla.breached


def test_status_now_before_start_counts_nothing() -> None:
    sla = status(
        clock=CAL, start=sh(2026, 3, 10, 9, 0), budget_seconds=60, now=sh(2026, 3, 10, 8, 0)
    )
    assert sla.elapsed_seconds == 0
    assert sla.fraction_used == 0
    assert not sla.breached


def test_status_zero_budget() -> None:
    start = sh(2026, 3, 10, 9, 0)
    assert status(clock=CAL, start=start, budget_seconds=0, now=start).fraction_used == 1.0
    later = status(clock=CAL, start=start, budget_seconds=0, now=start + timedelta(seconds=1))
    assert later.fraction_used == float("inf")
    assert later.breached


def test_is_on_time_boundary() -> None:
    limit = sh(2026, 3, 10, 17, 30)
    assert is_on_time(finished_at=limit, deadline=limit)
    assert is_on_time(finished_at=limit - timedelta(microseconds=1), deadline=limit)
    assert not is_on_time(finished_at=limit + timedelta(microseconds=1), deadline=limit)
    assert is_on_time(finished_at=limit.astimezone(UTC), deadline=limit)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


NAIVE = datetime(2026, 3, 10, 9, 0)  # deliberately naive


def test_naive_datetimes_raise_value_error() -> None:
    aware = sh(2026, 3, 10, 9, 0)
    with pytest.raises(ValueError, match="aware"):
        deadline(clock=CAL, start=NAIVE, budget_seconds=60)
    with pytest.raises(ValueError, match="aware"):
        counted_seconds(clock=CAL, start=aware, end=NAIVE)
    with pytest.raises(ValueError, match="aware"):
        status(clock=CAL, start=aware, budget_seconds=60, now=NAIVE)
    with pytest.raises(ValueError, match="aware"):
        is_on_time(finished_at=NAIVE, deadline=aware)
    with pytest.raises(ValueError, match="aware"):
        Pause(start=NAIVE)
    with pytest.raises(ValueError, match="aware"):
        Pause(start=aware, end=NAIVE)


def test_misconfigured_clocks_raise_value_error() -> None:
    with pytest.raises(ValueError, match="WorkCalendar"):
        Clock(kind=ClockKind.WORKING_DAYS)
    with pytest.raises(ValueError, match="WorkCalendar"):
        Clock(kind=ClockKind.WORKING_HOURS, schedule=LUNCH_BREAK)
    with pytest.raises(ValueError, match="Schedule"):
        Clock(kind=ClockKind.WORKING_HOURS, calendar=REAL)
    with pytest.raises(ValueError, match="schedule"):
        Clock(kind=ClockKind.WORKING_DAYS, calendar=REAL, schedule=LUNCH_BREAK)
    with pytest.raises(ValueError, match="neither"):
        Clock(kind=ClockKind.CALENDAR, calendar=REAL)
    with pytest.raises(ValueError, match="unknown clock kind"):
        Clock(kind="fortnightly")  # type: ignore[arg-type]
    assert Clock(kind="working_days", calendar=REAL).kind is ClockKind.WORKING_DAYS  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "periods",
    [
        (),
        ((time(9), time(9)),),
        ((time(12), time(9)),),
        ((time(9), time(12)), (time(11), time(14))),
        ((time(13), time(14)), (time(9), time(12))),
        ((time(9, tzinfo=UTC), time(12)),),
    ],
)
def test_invalid_schedules_raise_value_error(periods: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError):
        Schedule(periods=periods)


def test_other_invalid_inputs_raise_value_error() -> None:
    aware = sh(2026, 3, 10, 9, 0)
    with pytest.raises(ValueError, match="before"):
        Pause(start=aware, end=aware - timedelta(seconds=1))
    with pytest.raises(ValueError, match="budget"):
        deadline(clock=CAL, start=aware, budget_seconds=-1)
    with pytest.raises(ValueError, match="budget"):
        deadline(clock=CAL, start=aware, budget_seconds=float("nan"))
    with pytest.raises(ValueError, match="end"):
        counted_seconds(clock=CAL, start=aware, end=aware - timedelta(seconds=1))
    with pytest.raises(ValueError, match="missing"):
        WorkCalendar(days={date(2026, 1, 1): False}, years=frozenset({2026}))


def test_budget_helpers() -> None:
    assert working_days(2) == 172_800
    assert hours(1.5) == 5400
    assert minutes(30) == 1800


def test_calendars_are_values() -> None:
    copy = WorkCalendar.from_days(dict(REAL.days))
    assert copy == REAL
    assert hash(copy) == hash(REAL)
    assert Clock(kind=ClockKind.WORKING_DAYS, calendar=copy) == WD


def test_long_budgets_are_fast() -> None:
    # Sweeps over a million open cases need each computation in the microseconds.
    start = sh(2026, 1, 5, 10, 0)
    due(WD, start, working_days(30))  # warm the per-year caches
    due(WH, start, hours(200))
    began = time_module.perf_counter()
    for _ in range(2000):
        due(WD, start, working_days(30))
        due(WH, start, hours(200))
    assert time_module.perf_counter() - began < 2.0  # ~20 ms expected; generous for CI


# ---------------------------------------------------------------------------
# Hypothesis properties
# ---------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

RANGE_START = sh(2025, 1, 1)
RANGE_SECONDS = 2 * 365 * 86_400


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    count = draw(st.integers(1, 3))
    marks = sorted(
        draw(st.lists(st.integers(0, 1439), min_size=2 * count, max_size=2 * count, unique=True))
    )
    pairs = [(marks[i], marks[i + 1]) for i in range(0, len(marks), 2)]
    return Schedule(periods=tuple((time(a // 60, a % 60), time(b // 60, b % 60)) for a, b in pairs))


@st.composite
def clocks(draw: st.DrawFn) -> Clock:
    kind = draw(st.sampled_from(ClockKind))
    if kind is ClockKind.CALENDAR:
        return CAL
    calendar = draw(st.sampled_from([REAL, SYNTHETIC]))
    if kind is ClockKind.WORKING_DAYS:
        return Clock(kind=kind, calendar=calendar)
    schedule = draw(st.one_of(st.just(LUNCH_BREAK), schedules()))
    return Clock(kind=kind, calendar=calendar, schedule=schedule)


def daily_seconds(clock: Clock) -> int:
    if clock.kind is not ClockKind.WORKING_HOURS:
        return 86_400
    assert clock.schedule is not None
    day = date(2026, 1, 1)
    return sum(
        int((datetime.combine(day, b) - datetime.combine(day, a)).total_seconds())
        for a, b in clock.schedule.periods
    )


# Instants: minute-aligned (to hit period boundaries often), or to the microsecond.
instants = st.one_of(
    st.integers(0, RANGE_SECONDS // 60).map(lambda m: RANGE_START + timedelta(minutes=m)),
    st.integers(0, RANGE_SECONDS * 1_000_000).map(
        lambda us: RANGE_START + timedelta(microseconds=us)
    ),
)


@st.composite
def budgets(draw: st.DrawFn, clock: Clock, min_value: int = 0) -> int:
    # Up to about 30 counted days whatever the clock, in whole seconds or round units.
    per_day = daily_seconds(clock)
    return draw(
        st.one_of(
            st.integers(min_value, 30 * per_day),
            st.integers(max(1, min_value), 30).map(lambda n: n * per_day),
            st.integers(max(1, min_value), 60).map(lambda n: n * 1800),
        )
    )


@st.composite
def pause_lists(draw: st.DrawFn, start: datetime) -> tuple[Pause, ...]:
    pauses = []
    for _ in range(draw(st.integers(0, 4))):
        offset = draw(st.integers(-5 * 86_400, 40 * 86_400))
        length = draw(st.integers(0, 10 * 86_400))
        begin = start + timedelta(seconds=offset)
        pauses.append(Pause(start=begin, end=begin + timedelta(seconds=length)))
    return tuple(pauses)


def _working(calendar: WorkCalendar, d: date) -> bool:
    # The documented provisional rule for uncovered years: weekdays that are not holidays
    # fixed by law (the law's dates are checked in test_statutory_holidays.py).
    if calendar.covers(d):
        return calendar.is_working_day(d)
    return calendar.days.get(d, d.weekday() < 5 and d not in statutory_holidays(d.year))


def reference_counted(
    clock: Clock, start: datetime, end: datetime, pauses: tuple[Pause, ...]
) -> int:
    """Slow, independent oracle: build counted intervals day by day, subtract pauses."""
    one_us = timedelta(microseconds=1)
    if clock.kind is ClockKind.CALENDAR:
        pieces = [(start, end)]
    else:
        assert clock.calendar is not None
        pieces = []
        d = start.astimezone(SHANGHAI).date()
        while d <= end.astimezone(SHANGHAI).date():
            if _working(clock.calendar, d):
                spans: list[tuple[time, time | None]]
                if clock.kind is ClockKind.WORKING_DAYS:
                    spans = [(time(0), None)]
                else:
                    assert clock.schedule is not None
                    spans = list(clock.schedule.periods)
                for a, b in spans:
                    lo = datetime.combine(d, a, tzinfo=SHANGHAI)
                    hi = (
                        datetime.combine(d + timedelta(days=1), time(0), tzinfo=SHANGHAI)
                        if b is None
                        else datetime.combine(d, b, tzinfo=SHANGHAI)
                    )
                    lo, hi = max(lo, start), min(hi, end)
                    if lo < hi:
                        pieces.append((lo, hi))
            d += timedelta(days=1)
    total = timedelta(0)
    for lo, hi in pieces:
        # Subtract the union of pauses from [lo, hi) by sweeping sorted pauses.
        cursor = lo
        for p in sorted(pauses, key=lambda p: p.start):
            p_end = p.end if p.end is not None else datetime.max.replace(tzinfo=UTC)
            if p_end <= cursor or p.start >= hi:
                continue
            if p.start > cursor:
                total += p.start - cursor
            cursor = max(cursor, p_end)
        if cursor < hi:
            total += hi - cursor
    return total // one_us


@PROPERTY_SETTINGS
@given(data=st.data(), clock=clocks(), start=instants)
def test_property_adding_a_pause_never_brings_the_deadline_earlier(
    data: st.DataObject, clock: Clock, start: datetime
) -> None:
    budget = data.draw(budgets(clock))
    pauses = data.draw(pause_lists(start))
    extra_start = start + timedelta(seconds=data.draw(st.integers(-86_400, 40 * 86_400)))
    extra_end = data.draw(
        st.one_of(
            st.none(),
            st.integers(0, 10 * 86_400).map(lambda s: extra_start + timedelta(seconds=s)),
        )
    )
    before = deadline(clock=clock, start=start, budget_seconds=budget, pauses=pauses)
    after = deadline(
        clock=clock,
        start=start,
        budget_seconds=budget,
        pauses=(*pauses, Pause(start=extra_start, end=extra_end)),
    )
    assert before.deadline is not None
    assert after.deadline is None or after.deadline >= before.deadline
    assert after.paused == (extra_end is None)


@PROPERTY_SETTINGS
@given(data=st.data(), clock=clocks(), start=instants)
def test_property_budget_spent_in_two_parts(
    data: st.DataObject, clock: Clock, start: datetime
) -> None:
    a = data.draw(budgets(clock))
    b = data.draw(budgets(clock))
    middle = due(clock, start, a)
    assert due(clock, middle, b) == due(clock, start, a + b)


@PROPERTY_SETTINGS
@given(data=st.data(), clock=clocks(), start=instants)
def test_property_deadline_falls_on_counted_time(
    data: st.DataObject, clock: Clock, start: datetime
) -> None:
    budget = data.draw(budgets(clock, min_value=1))
    pauses = data.draw(pause_lists(start))
    result = due(clock, start, budget, pauses)
    local = result.astimezone(SHANGHAI)
    assert result.tzinfo == SHANGHAI
    # Never strictly inside a pause (it may be exactly where a pause begins).
    for p in pauses:
        assert p.end is not None
        assert not (p.start < result < p.end) or p.start == p.end
    if clock.kind is ClockKind.CALENDAR:
        return
    assert clock.calendar is not None
    if clock.kind is ClockKind.WORKING_DAYS:
        on_working_day = _working(clock.calendar, local.date())
        at_end_of_working_day = local.time() == time(0) and _working(
            clock.calendar, local.date() - timedelta(days=1)
        )
        assert on_working_day or at_end_of_working_day
    else:
        assert clock.schedule is not None
        assert _working(clock.calendar, local.date())
        wall = local.replace(tzinfo=None).time()
        assert any(a < wall <= b for a, b in clock.schedule.periods)


@PROPERTY_SETTINGS
@given(data=st.data(), clock=clocks(), start=instants)
def test_property_counted_time_up_to_deadline_is_the_budget(
    data: st.DataObject, clock: Clock, start: datetime
) -> None:
    budget = data.draw(budgets(clock))
    pauses = data.draw(pause_lists(start))
    result = due(clock, start, budget, pauses)
    spent = counted_seconds(clock=clock, start=start, end=result, pauses=pauses)
    assert spent.seconds == budget
    if budget:
        # ... and it is the earliest such instant.
        just_before = result - timedelta(microseconds=1)
        earlier = counted_seconds(clock=clock, start=start, end=just_before, pauses=pauses)
        assert earlier.microseconds < budget * 1_000_000


@PROPERTY_SETTINGS
@given(data=st.data(), clock=clocks(), start=instants)
def test_property_counted_time_is_monotone_and_additive(
    data: st.DataObject, clock: Clock, start: datetime
) -> None:
    pauses = data.draw(pause_lists(start))
    gaps = sorted(data.draw(st.lists(st.integers(0, 60 * 86_400_000_000), min_size=2, max_size=2)))
    middle = start + timedelta(microseconds=gaps[0])
    end = start + timedelta(microseconds=gaps[1])

    def spent(a: datetime, b: datetime) -> int:
        return counted_seconds(clock=clock, start=a, end=b, pauses=pauses).microseconds

    assert 0 <= spent(start, middle) <= spent(start, end)
    assert spent(start, middle) + spent(middle, end) == spent(start, end)


@PROPERTY_SETTINGS
@given(data=st.data(), clock=clocks(), start=instants)
def test_property_counted_time_matches_reference(
    data: st.DataObject, clock: Clock, start: datetime
) -> None:
    pauses = data.draw(pause_lists(start))
    end = start + timedelta(microseconds=data.draw(st.integers(0, 60 * 86_400_000_000)))
    spent = counted_seconds(clock=clock, start=start, end=end, pauses=pauses)
    assert spent.microseconds == reference_counted(clock, start, end, pauses)
    assert spent.provisional == bool(spent.calendar_gap_years)
