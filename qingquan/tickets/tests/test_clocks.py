"""Time limits on real cases: China's calendar, pauses, schedules, reopening, gaps."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core.models import Notification
from qingquan.tickets import services, tasks
from qingquan.tickets.models import SlaState, Ticket

from .conftest import resolution_counts, sh

pytestmark = pytest.mark.django_db


def reload(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


def test_connection_paused_for_contract_over_spring_festival(
    at: Any, new_case: Any, people: Any
) -> None:
    # "221": water on within 2 working days. Friday 13 Feb 2026 16:00 counts 8 h; Saturday
    # 14 Feb is an adjusted working day (调休); the Spring Festival runs 15-23 Feb.
    at(sh(2026, 2, 13, 16))
    case = new_case("connection-residential", subject="新装水表")
    assert case.sla_clock_kind == "working_days"
    assert case.resolution_deadline == sh(2026, 2, 24, 16)

    # Saturday 10:00 (18 h counted) the applicant must sign the contract: clock stops.
    at(sh(2026, 2, 14, 10))
    case = services.ticket_pause(
        actor=people["agent"], ticket=case, version=case.version, reason="contract", note="待签合同"
    )
    assert case.sla_state == SlaState.PAUSED
    assert case.resolution_deadline is None
    assert case.warn_at is None

    # Signed after the holiday, Wednesday 25 Feb 09:00: 30 h remain -> Thursday 15:00.
    at(sh(2026, 2, 25, 9))
    case = services.ticket_resume(actor=people["agent"], ticket=case, version=case.version)
    assert case.resolution_deadline == sh(2026, 2, 26, 15)
    assert case.sla_state == SlaState.OK
    # Warning at 80 % of 48 h = 38.4 h counted: 20.4 h after resuming -> 26 Feb 05:24.
    assert case.warn_at == sh(2026, 2, 26, 5, 24)
    pause = case.pauses.get()
    assert (pause.reason, pause.started_at, pause.ended_at) == (
        "contract",
        sh(2026, 2, 14, 10),
        sh(2026, 2, 25, 9),
    )

    at(sh(2026, 2, 26, 14))
    case = services.ticket_resolve(
        actor=people["agent"], ticket=case, version=case.version, resolution="已通水"
    )
    assert case.on_time is True
    assert case.sla_state == SlaState.DONE
    actions = list(case.events.values_list("action", flat=True))
    assert actions == ["create", "pause", "resume", "resolve"]


def test_clock_counts_the_adjusted_working_sunday(at: Any, new_case: Any) -> None:
    # Sunday 20 Sep 2026 is worked (National Day 调休): Friday 12:00 + 2 working days
    # ends Monday 12:00, not Tuesday.
    at(sh(2026, 9, 18, 12))
    case = new_case("connection")
    assert case.resolution_deadline == sh(2026, 9, 21, 12)


def test_working_hours_clock_skips_the_lunch_break(at: Any, new_case: Any) -> None:
    # Meter faults: 2 days of 08:30-12:00 + 13:30-17:30 (15 counted hours). Monday 11:00
    # counts 1 h + 4 h, Tuesday 7.5 h, Wednesday 2.5 h from 08:30 -> 11:00.
    at(sh(2026, 3, 2, 11))
    case = new_case("repair-meter")
    assert case.sla_clock_kind == "working_hours"
    assert case.resolution_deadline == sh(2026, 3, 4, 11)
    # 80 % = 12 h: Monday 5 h + Tuesday 7 h -> Tuesday 17:00 (not during lunch).
    assert case.warn_at == sh(2026, 3, 3, 17)


def test_burst_runs_on_calendar_time_with_arrival_limit(at: Any, new_case: Any) -> None:
    at(sh(2026, 2, 16, 3))  # a holiday night: emergency clocks do not care
    case = new_case("repair-burst")
    assert case.priority == "urgent"
    assert case.arrival_deadline == sh(2026, 2, 16, 4)
    assert case.resolution_deadline == sh(2026, 2, 17, 3)


def test_reopening_after_a_breach_gives_a_fresh_budget_and_keeps_the_breach(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    assert case.resolution_deadline == sh(2026, 3, 3, 9)

    at(sh(2026, 3, 4, 9))
    assert resolution_counts(tasks.sweep()) == {"warning": 0, "breached": 1}
    case = reload(case)
    assert case.sla_state == SlaState.BREACHED
    assert case.breached_at == sh(2026, 3, 3, 9)
    case = services.ticket_resolve(
        actor=people["agent"], ticket=case, version=case.version, resolution="已答复"
    )
    assert case.on_time is False

    at(sh(2026, 3, 5, 10))
    notes_before = Notification.objects.count()
    case = services.ticket_reopen(
        actor=people["agent"], ticket=case, version=case.version, reason="用户仍有疑问"
    )
    # Not instantly overdue or escalated: a fresh working day from the reopening.
    assert case.state == "received"
    assert case.sla_state == SlaState.OK
    assert case.resolution_deadline == sh(2026, 3, 6, 10)
    assert case.escalation_level == 0
    assert case.breached_at == sh(2026, 3, 3, 9)
    assert resolution_counts(tasks.sweep()) == {"warning": 0, "breached": 0}
    assert Notification.objects.count() == notes_before

    at(sh(2026, 3, 5, 15))
    case = services.ticket_resolve(
        actor=people["agent"], ticket=case, version=case.version, resolution="再次答复"
    )
    # Met the new budget, but the case was overdue once: it never counts as on time.
    assert case.on_time is False
    assert case.reopen_count == 1


def test_clock_into_a_year_without_calendar_is_flagged_and_admins_told(
    at: Any, new_case: Any, people: Any
) -> None:
    # 2027 without its official calendar, whether or not the installed chinesecalendar
    # (which seeded the table) publishes it.
    from qingquan.core import calendar
    from qingquan.core.models import CalendarDay

    CalendarDay.objects.filter(date__year__gte=2027).delete()
    calendar._forget()
    at(sh(2026, 12, 30, 10))
    case = new_case("connection")
    assert case.calendar_gap is True
    assert case.calendar_gap_years == [2027]
    # Provisional: 1 Jan 2027 (元旦, fixed by law) is already skipped before the schedule is
    # entered; the last 10 h fall on Monday 4 January.
    assert case.resolution_deadline == sh(2027, 1, 4, 10)
    notes = Notification.objects.filter(recipient=people["admin"], dedupe_key="calendar-gap:2027")
    assert notes.count() == 1
    assert "2027" in notes.get().title
    # Agents and supervisors are not the ones to fix the calendar.
    assert not Notification.objects.filter(recipient=people["agent"], level="alert").exists()

    # A second case reaching 2027 does not repeat the alarm.
    new_case("connection")
    assert notes.count() == 1


def test_entering_the_missing_year_clears_the_flag(at: Any, new_case: Any, people: Any) -> None:
    import datetime as dt

    from qingquan.core.calendar import calendar_set_day

    at(sh(2026, 12, 30, 10))
    case = new_case("connection")
    assert case.calendar_gap
    day = dt.date(2027, 1, 1)
    while day.year == 2027:
        calendar_set_day(
            actor=people["admin"], day=day, is_working_day=day.weekday() < 5 and day.day != 1
        )
        day += dt.timedelta(days=1)
    assert tasks.refresh_provisional_clocks.call() == 1
    case = reload(case)
    assert case.calendar_gap is False
    # New Year's Day is now a holiday: the last 10 h fall on Monday 4 January.
    assert case.resolution_deadline == sh(2027, 1, 4, 10)
