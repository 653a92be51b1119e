"""The provisional estimate for a year the State Council has not published yet still skips
the public holidays fixed by law (《全国年节及纪念日放假办法》 as amended in 2024), checked
against the years `chinesecalendar` does publish (issue #14 item 2)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from hypothesis import given, settings
from hypothesis import strategies as st

from qingquan.core.sla import (
    SHANGHAI,
    Clock,
    ClockKind,
    WorkCalendar,
    calendar_days_from_chinesecalendar,
    deadline,
    statutory_holidays,
    working_days,
)

# Years under the 2024 amendment (in force 2025) that chinesecalendar publishes.
PUBLISHED = [y for y in (2025, 2026, 2027, 2028) if calendar_days_from_chinesecalendar(years=[y])]
NAMES = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Tomb-sweeping Day",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-autumn Festival",
    "国庆节": "National Day",
}
# Only the year before: the published year itself is left out, as an unpublished one is.
BEFORE = {y: WorkCalendar.from_chinesecalendar(years=[y - 1]) for y in PUBLISHED}


def test_the_law_counts_thirteen_days_a_year() -> None:
    assert PUBLISHED, "chinesecalendar publishes no year under the 2024 amendment"
    for year in (*PUBLISHED, 2027, 2031, 2040):
        holidays = statutory_holidays(year)
        names = set(holidays.values())
        if len(holidays) == 12:  # 中秋 fell on 1-3 October (2031): the days coincide
            assert names == set(NAMES) - {"中秋节"}
        else:
            assert len(holidays) == 13 and names == set(NAMES)
    assert statutory_holidays(2027)[date(2027, 2, 5)] == "春节"  # 除夕 2027


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(PUBLISHED), st.integers(min_value=0, max_value=365))
def test_estimate_holiday_set_contains_the_statutory_holidays(year: int, offset: int) -> None:
    day = date(year, 1, 1) + timedelta(days=offset)
    if day.year != year:
        return
    estimate = BEFORE[year]
    assert not estimate.covers(day)  # the year is estimated, as an unpublished one is
    statutory = statutory_holidays(year)
    _on_holiday, name = chinese_calendar.get_holiday_detail(day)
    if day in statutory:
        assert chinese_calendar.is_holiday(day), day
        assert name == NAMES[statutory[day]], (day, name)
        assert not estimate._provisional_is_working_day(day)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(PUBLISHED),
    st.integers(min_value=0, max_value=364),
    st.integers(min_value=1, max_value=15),
)
def test_estimate_never_counts_a_statutory_holiday(year: int, offset: int, budget: int) -> None:
    # Counting working days from any start of the unpublished year never lands on or
    # spends a statutory holiday, so the estimate is not earlier for those days.
    start_day = date(year, 1, 1) + timedelta(days=offset)
    from datetime import datetime

    start = datetime(start_day.year, start_day.month, start_day.day, tzinfo=SHANGHAI)
    clock = Clock(kind=ClockKind.WORKING_DAYS, calendar=BEFORE[year])
    end = deadline(clock=clock, start=start, budget_seconds=working_days(budget)).deadline
    assert end is not None
    counted = 0
    day = start_day
    while datetime(day.year, day.month, day.day, tzinfo=SHANGHAI) < end:
        holidays = statutory_holidays(day.year)
        if day.weekday() < 5 and day not in holidays and day.year >= year:
            counted += 1
        day += timedelta(days=1)
    assert counted == budget
