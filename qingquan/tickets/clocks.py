"""A case's time limits through the pure SLA engine (qingquan.core.sla).

The services call `refresh_sla` whenever something that moves a deadline happens
(creation, pause, resume, extension, reopening, resolution); it writes the denormalised
columns (`resolution_deadline`, `warn_at`, `sla_state`, `calendar_gap`) that lists and
the sweep filter on. `clock_status` computes the live picture for one case's page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from qingquan.core import sla
from qingquan.core.calendar import load_calendar
from qingquan.tickets.models import SlaState, Ticket, TicketPause


@dataclass(frozen=True)
class ClockFacts:
    """What the engine says about a case's resolution clock at one instant."""

    deadline: dt.datetime | None
    warn_at: dt.datetime | None
    state: SlaState
    paused: bool
    elapsed_seconds: float
    remaining_seconds: float
    fraction_used: float
    gap_years: tuple[int, ...]
    # A working-day clock counts 86 400 s per working day: its durations read in working days.
    working_days: bool = False

    @property
    def unit(self) -> str:
        """The unit argument of the ``durations`` template filters ("working" or "")."""
        return "working" if self.working_days else ""


def _pauses(ticket: Ticket, pauses: Iterable[TicketPause] | None) -> list[sla.Pause]:
    if pauses is None:
        rows: Iterable[TicketPause] = ticket.pauses.all() if ticket.pk is not None else ()
    else:
        rows = pauses
    # Pauses from before a reopening ended before the new clock started; the engine
    # skips them, but there is no need to hand them over.
    return [p.as_sla() for p in rows if p.ended_at is None or p.ended_at > ticket.sla_started_at]


def compute(
    ticket: Ticket,
    *,
    now: dt.datetime,
    calendar: sla.WorkCalendar | None = None,
    pauses: Iterable[TicketPause] | None = None,
) -> ClockFacts:
    """Run the engine for `ticket`'s resolution clock at `now`."""
    calendar = calendar or load_calendar()
    clock = ticket.sla_clock(calendar)
    pause_list = _pauses(ticket, pauses)
    budget = ticket.budget_seconds
    current = sla.status(
        clock=clock,
        start=ticket.sla_started_at,
        budget_seconds=budget,
        pauses=pause_list,
        now=now,
    )
    warn = sla.deadline(
        clock=clock,
        start=ticket.sla_started_at,
        budget_seconds=budget * ticket.sla_warn_fraction,
        pauses=pause_list,
    )
    paused_open = any(p.end is None for p in pause_list)
    if current.breached:
        state = SlaState.BREACHED
    elif paused_open:
        state = SlaState.PAUSED
    elif warn.deadline is not None and now >= warn.deadline:
        state = SlaState.WARNING
    else:
        state = SlaState.OK
    gaps = tuple(sorted(current.calendar_gap_years | warn.calendar_gap_years))
    return ClockFacts(
        deadline=current.deadline,
        warn_at=warn.deadline,
        state=state,
        paused=paused_open,
        elapsed_seconds=current.elapsed_seconds,
        remaining_seconds=current.remaining_seconds,
        fraction_used=current.fraction_used,
        gap_years=gaps,
        working_days=clock.kind is sla.ClockKind.WORKING_DAYS,
    )


def apply_facts(ticket: Ticket, facts: ClockFacts) -> None:
    """Copy the engine's answer onto the case's denormalised columns (not saved)."""
    ticket.resolution_deadline = facts.deadline
    ticket.warn_at = facts.warn_at
    ticket.sla_state = facts.state
    ticket.calendar_gap = bool(facts.gap_years)
    ticket.calendar_gap_years = list(facts.gap_years)
    if facts.state == SlaState.BREACHED and ticket.breached_at is None:
        ticket.breached_at = facts.deadline


def calendar_deadline(start: dt.datetime, seconds: int | None) -> dt.datetime | None:
    """A calendar-time deadline (repair arrival and restoration), or None without budget."""
    if seconds is None:
        return None
    result = sla.deadline(
        clock=sla.Clock(kind=sla.ClockKind.CALENDAR), start=start, budget_seconds=seconds
    )
    return result.deadline


def response_deadline(ticket: Ticket, seconds: int | None) -> dt.datetime | None:
    """The first-response deadline on the case's own clock from its start (None without
    a response budget). Pauses do not move it: a case is answered before it waits."""
    if seconds is None:
        return None
    clock = ticket.sla_clock(load_calendar())
    return sla.deadline(clock=clock, start=ticket.sla_started_at, budget_seconds=seconds).deadline
