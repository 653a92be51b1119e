"""The engine: a clock and its pauses, the time counted, deadlines and status."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from qingquan.core.sla.calendar import _CALENDAR_TIMELINE, WorkCalendar, _from_us, _Timeline, _to_us
from qingquan.core.sla.units import (
    _INFINITY,
    _US_PER_S,
    ClockKind,
    CountedResult,
    DeadlineResult,
    Schedule,
    SlaStatus,
)


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
