"""Warnings before a breach (R-CON-2): the customer manager and the supervisors on shift
are told when an application's clock passes its warning share, and again at its
deadline; each once (de-duplicated notifications, stamps on the application)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.connections.models import Application
from qingquan.core import clock
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
    return sent
