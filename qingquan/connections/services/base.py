"""Plumbing of the connection services: refusals, the working-day clock of an
application, its timeline entries and audit events, the lock at the read version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext as _

from qingquan.connections.models import Application, AppState, ClockPause, Entry
from qingquan.core import actors, clock, sla
from qingquan.core.access import AccessDenied
from qingquan.core.audit import audit_record
from qingquan.core.calendar import load_calendar


class Refused(ValidationError):
    """Bad input or a step the application does not allow now (a 400 / form error)."""

    def __init__(self, message: Any, *, field: str = "") -> None:
        super().__init__(str(message), code="refused", params={"field": field})
        self.message = str(message)
        self.field = field


class NotOwner(AccessDenied):
    """A step taken by someone who does not own it (403)."""


class Stale(Refused):
    """Someone changed the application since the caller read it (409)."""


def working_clock() -> sla.Clock:
    """The working-day clock on the official calendar (R-CON-7)."""
    return sla.Clock(kind=sla.ClockKind.WORKING_DAYS, calendar=load_calendar())


def engine_pauses(application: Application) -> list[sla.Pause]:
    return [
        sla.Pause(start=p.started_at, end=p.ended_at)
        for p in ClockPause.objects.filter(application=application).order_by("started_at")
    ]


def actor_label(actor: Any) -> str:
    user = actors.user_of(actor)
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.get_full_name() or user.get_username())[:150]
    return str(actor)[:150]


def entry(
    application: Application, kind: str, text: str, *, actor: Any, public: bool = True
) -> Entry:
    row = Entry.objects.create(
        application=application,
        at=clock.now(),
        kind=kind,
        text=str(text)[:300],
        actor=actor_label(actor),
        public=public,
    )
    if application.partner_id is not None:
        # The partner it came from (the provincial platform) hears of it, in this
        # transaction (R-CH-2).
        from qingquan.connections.services.provincial import report

        report(application, row)
    return row


def audit(actor: Any, action: str, application: Application, **after: Any) -> None:
    audit_record(actor=actor, action=f"connections.{action}", obj=application, after=after)


def lock(application: Application, version: int | None = None) -> Application:
    """The application locked for this transaction; `Stale` if `version` (what the caller
    read) is no longer current, `Refused` if it is closed."""
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if version is not None and locked.version != version:
        raise Stale(
            _("This application was changed meanwhile (version %(v)s); reload it.")
            % {"v": locked.version}
        )
    if locked.state != AppState.OPEN:
        raise Refused(
            _("This application is finished (%(state)s).") % {"state": locked.get_state_display()}
        )
    return locked


def bump(application: Application, **fields: Any) -> None:
    """Save `fields` and raise the version by one."""
    for name, value in fields.items():
        setattr(application, name, value)
    Application.objects.filter(pk=application.pk).update(version=F("version") + 1, **fields)
    application.version += 1


def refresh_clock(application: Application, *, now: dt.datetime | None = None) -> None:
    """Recompute the application's deadline and warning instant from its pauses (None
    while paused; left alone once its clock stopped), and the current step's due time;
    saved on the rows."""
    from qingquan.connections.models import ApplicationStep

    pauses = engine_pauses(application)
    engine = working_clock()
    if application.clock_done_at is None:
        _refresh_deadline(application, engine, pauses)
    step = ApplicationStep.objects.filter(
        application=application, order=application.step, done_at__isnull=True
    ).first()
    if step is not None and step.started_at is not None:
        due = sla.deadline(
            clock=engine,
            start=step.started_at,
            budget_seconds=step.budget_seconds,
            pauses=pauses,
        ).deadline
        ApplicationStep.objects.filter(pk=step.pk).update(due_at=due)


def _refresh_deadline(application: Application, engine: sla.Clock, pauses: list[sla.Pause]) -> None:
    """The application's deadline and warning instant while its clock runs."""
    whole = sla.deadline(
        clock=engine,
        start=application.created_at,
        budget_seconds=application.budget_seconds,
        pauses=pauses,
    )
    warn = sla.deadline(
        clock=engine,
        start=application.created_at,
        budget_seconds=int(application.budget_seconds * application.warn_fraction),
        pauses=pauses,
    )
    Application.objects.filter(pk=application.pk).update(
        deadline=whole.deadline, warn_at=warn.deadline
    )
    application.deadline = whole.deadline
    application.warn_at = warn.deadline


def utility_and_customer_seconds(application: Application, *, end: dt.datetime) -> tuple[int, int]:
    """(working seconds of the utility's time, working seconds paused on the customer's
    side) from the application to `end`."""
    engine = working_clock()
    pauses = engine_pauses(application)
    utility = sla.counted_seconds(
        clock=engine, start=application.created_at, end=end, pauses=pauses
    ).seconds
    total = sla.counted_seconds(clock=engine, start=application.created_at, end=end).seconds
    return int(utility), int(max(0, total - utility))
