"""Reads of new connections that reach people, with the access check: staff see the
applications they manage or work on (supervisors and administrators every one); an
applicant in the online hall sees their own; the clock in words (what waits on whom)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from qingquan.connections.models import (
    Application,
    ApplicationStep,
    AppState,
    ClockPause,
    ManagerCall,
)
from qingquan.connections.services.base import engine_pauses, working_clock
from qingquan.core import clock, sla
from qingquan.staff.access import can, check


def applications_for(user: Any) -> QuerySet[Application]:
    """The applications `user` may see."""
    check(user, "connections.view")
    rows = Application.objects.select_related("policy", "manager", "engineer")
    if can(user, "connections.view_all"):
        return rows
    return rows.filter(Q(manager=user) | Q(engineer=user) | Q(steps__owner=user)).distinct()


def application_for(user: Any, number: str) -> Application | None:
    return applications_for(user).filter(number=number[:24]).first()


def applications_of_resident(resident: Any) -> QuerySet[Application]:
    """The applications an applicant made in the online hall (their own only)."""
    return Application.objects.filter(resident=resident).select_related("policy", "manager")


@dataclass(frozen=True)
class ClockView:
    """The clock in words for staff and the applicant."""

    budget_days: float
    used_days: float
    remaining_days: float
    deadline: dt.datetime | None
    paused: bool
    breached: bool
    fraction: float
    waiting_on: str  # "customer", "utility" or "" (finished)
    waiting_for: str  # what is awaited, in words
    step: ApplicationStep | None
    pause: ClockPause | None

    @property
    def percent(self) -> int:
        return min(100, round(self.fraction * 100))


def clock_view(application: Application, *, now: dt.datetime | None = None) -> ClockView:
    """Where the application's clock stands now, and what waits on whom."""
    now = now or clock.now()
    end = application.clock_done_at or application.water_on_at or now
    state = sla.status(
        clock=working_clock(),
        start=application.created_at,
        budget_seconds=application.budget_seconds,
        pauses=engine_pauses(application),
        now=end,
    )
    pause = ClockPause.objects.filter(application=application, ended_at__isnull=True).first()
    step = (
        ApplicationStep.objects.select_related("owner")
        .filter(application=application, order=application.step, done_at__isnull=True)
        .first()
    )
    if application.state != AppState.OPEN:
        waiting_on, waiting_for = "", application.get_state_display()
    elif pause is not None:
        waiting_on = "customer"
        waiting_for = _("The applicant: %(r)s") % {"r": pause.get_reason_display()}
    else:
        waiting_on = "utility"
        owner = step.owner if step else None
        who = (owner.get_full_name() or owner.get_username()) if owner else _("the utility")
        waiting_for = _("%(who)s: %(step)s") % {"who": who, "step": step.name if step else ""}
    day = 86_400
    return ClockView(
        budget_days=state.budget_seconds / day,
        used_days=state.elapsed_seconds / day,
        remaining_days=state.remaining_seconds / day,
        deadline=application.deadline if application.state == AppState.OPEN else None,
        paused=pause is not None,
        breached=not application.on_time
        if application.clock_done_at or application.state != AppState.OPEN
        else state.breached,
        fraction=state.fraction_used,
        waiting_on=waiting_on,
        waiting_for=waiting_for,
        step=step,
        pause=pause,
    )


def may_read_report(user: Any) -> bool:
    from qingquan.connections.report import may_read

    return may_read(user)


def portfolio(user: Any) -> dict[str, Any]:
    """A customer manager's portfolio: open applications with their clocks (the most
    pressing first), recently connected ones, and calls due."""
    rows = applications_for(user)
    if not can(user, "connections.view_all"):
        rows = rows.filter(manager=user)
    now = clock.now()
    open_rows = list(rows.filter(state=AppState.OPEN).order_by("deadline", "created_at")[:200])
    calls = ManagerCall.objects.filter(done_at__isnull=True).select_related("application")
    if not can(user, "connections.view_all"):
        calls = calls.filter(manager=user)
    return {
        "open": [(a, clock_view(a, now=now)) for a in open_rows],
        "done": list(rows.exclude(state=AppState.OPEN).order_by("-water_on_at", "-pk")[:30]),
        "calls": list(calls.order_by("due_on")[:100]),
        "today": clock.today(),
        "perms_report": may_read_report(user),
    }
