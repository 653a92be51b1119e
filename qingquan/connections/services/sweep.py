"""Warnings before a breach (R-CON-2): the customer manager and the supervisors on shift
are told when an application's clock passes its warning share, and again at its
deadline; each once (de-duplicated notifications, stamps on the application). A
real-estate project's milestones after construction entry keep their own due times on
the same clock: the same people and the milestone's owner are told the same way."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.connections.models import Application, ApplicationStep, StepPhase
from qingquan.connections.services.base import engine_pauses, working_clock
from qingquan.core import clock, sla
from qingquan.core.models import Notification
from qingquan.core.notifications import notify
from qingquan.core.sla import SHANGHAI


def _local(at: dt.datetime | None) -> str:
    return f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if at else "-"


def _recipients(app: Application) -> list[Any]:
    from qingquan.tickets.tasks import _supervisors

    people = {app.manager_id: app.manager}
    for person in _supervisors():
        people.setdefault(person.pk, person)
    return [p for p in people.values() if p.is_active]


def clock_sweep(*, now: dt.datetime | None = None) -> int:
    """Warn about every open application past its warning instant or its deadline while
    its clock runs; returns how many notices were sent."""
    now = now or clock.now()
    sent = 0
    due = (
        Application.objects.open()
        .filter(warn_at__lte=now)
        .filter(warned_at__isnull=True)
        .select_related("manager")
    )
    for app in due[:500]:
        with transaction.atomic():
            Application.objects.filter(pk=app.pk).update(warned_at=now)
            for person in _recipients(app):
                sent += (
                    notify(
                        recipient=person,
                        title=_("Connection %(n)s: the utility's clock is nearly spent (due %(d)s)")
                        % {"n": app.number, "d": _local(app.deadline)},
                        link=f"/connections/{app.number}/",
                        level=Notification.Level.WARNING,
                        dedupe_key=f"conn-warn-{app.pk}",
                    )
                    is not None
                )
    late = (
        Application.objects.open()
        .filter(deadline__lt=now, breached_at__isnull=True)
        .select_related("manager")
    )
    for app in late[:500]:
        with transaction.atomic():
            Application.objects.filter(pk=app.pk).update(breached_at=now)
            for person in _recipients(app):
                sent += (
                    notify(
                        recipient=person,
                        title=_("Connection %(n)s is past its deadline (%(d)s)")
                        % {"n": app.number, "d": _local(app.deadline)},
                        link=f"/connections/{app.number}/",
                        level=Notification.Level.ALERT,
                        dedupe_key=f"conn-breach-{app.pk}",
                    )
                    is not None
                )
    return sent + _milestone_sweep(now)


def _milestone_sweep(now: dt.datetime) -> int:
    """Each open application's current milestone past its warning share (the policy's
    `warn_fraction` of its own budget, on the working-day clock with the application's
    pauses) or past its due time: one notice of each to its owner, the customer manager
    and the supervisors."""
    sent = 0
    steps = ApplicationStep.objects.filter(
        phase=StepPhase.MILESTONE,
        done_at__isnull=True,
        started_at__isnull=False,
        due_at__isnull=False,
        application__in=Application.objects.open(),
    ).select_related("application__manager", "owner")
    for step in steps[:500]:
        app = step.application
        if step.order != app.step or step.due_at is None or step.started_at is None:
            continue
        if now >= step.due_at:
            key, level = f"conn-milestone-late-{step.pk}", Notification.Level.ALERT
            title = _("Connection %(n)s: milestone “%(s)s” is past its due time (%(d)s)")
        else:
            warn_at = sla.deadline(
                clock=working_clock(),
                start=step.started_at,
                budget_seconds=int(step.budget_seconds * app.warn_fraction),
                pauses=engine_pauses(app),
            ).deadline
            if warn_at is None or now < warn_at:
                continue
            key, level = f"conn-milestone-warn-{step.pk}", Notification.Level.WARNING
            title = _("Connection %(n)s: milestone “%(s)s” is nearly due (%(d)s)")
        people = {p.pk: p for p in _recipients(app)}
        if step.owner is not None and step.owner.is_active:
            people.setdefault(step.owner.pk, step.owner)
        for person in people.values():
            sent += (
                notify(
                    recipient=person,
                    title=title % {"n": app.number, "s": step.name, "d": _local(step.due_at)},
                    link=f"/connections/{app.number}/",
                    level=level,
                    dedupe_key=key,
                )
                is not None
            )
    return sent
