"""The SLA engine's vocabulary: budget units, clock kinds, schedules and the results
the engine returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

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
