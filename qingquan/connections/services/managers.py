"""The customer manager (R-CON-5): who owns an application, handing it over, and the
twice-yearly calls counted from water on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.connections.models import Application, ApplicationStep, ManagerCall
from qingquan.connections.services.base import NotOwner, Refused, audit, bump, entry, lock
from qingquan.connections.services.intake import manager_for
from qingquan.core import actors, clock
from qingquan.core.sla import SHANGHAI
from qingquan.core.validation import clean_text
from qingquan.staff.access import check

CALL_EVERY = relativedelta(months=6)


def manager_calls_schedule(*, application: Application, start: dt.datetime) -> ManagerCall:
    """The next call six months after `start` (water on, or the previous call)."""
    due = (start.astimezone(SHANGHAI) + CALL_EVERY).date()
    call, _created = ManagerCall.objects.get_or_create(
        application=application, due_on=due, defaults={"manager_id": application.manager_id}
    )
    return call


def manager_call_record(*, actor: Any, call: ManagerCall, note: str) -> ManagerCall:
    """The manager made the call (what the customer said); the next one is due six
    months after this one was due."""
    check(actor, "connections.work")
    note = clean_text(note, field=_("note"), max_length=2000, multiline=True)
    if not note:
        raise Refused(_("Write down what the customer said."), field="note")
    with transaction.atomic():
        row = ManagerCall.objects.select_for_update().get(pk=call.pk)
        if row.done_at is not None:
            raise Refused(_("This call is recorded already."))
        if getattr(actors.user_of(actor), "pk", None) != row.manager_id:
            raise NotOwner(_("This call belongs to another customer manager."))
        row.done_at = clock.now()
        row.note = note
        ManagerCall.objects.filter(pk=row.pk).update(done_at=row.done_at, note=note)
        start = dt.datetime.combine(row.due_on, dt.time(12), tzinfo=SHANGHAI)
        manager_calls_schedule(application=row.application, start=start)
        entry(
            row.application, "call", _("Customer manager's call made."), actor=actor, public=False
        )
        audit(actor, "call", row.application, due_on=row.due_on, note=note)
    return row


def manager_change(
    *, actor: Any, application: Application, manager: Any, version: int | None = None
) -> Application:
    """Hand the application to another customer manager (a supervisor's decision): the
    steps the manager owns move with it."""
    check(actor, "connections.supervise")
    with transaction.atomic():
        app = lock(application, version)
        chosen = manager_for(manager)
        old = app.manager_id
        ApplicationStep.objects.filter(application=app, owner_id=old, done_at__isnull=True).update(
            owner=chosen
        )
        ManagerCall.objects.filter(application=app, done_at__isnull=True).update(manager=chosen)
        bump(app, manager=chosen)
        entry(
            app,
            "manager",
            _("Customer manager now %(m)s.") % {"m": chosen.get_full_name() or chosen},
            actor=actor,
        )
        audit(actor, "manager", app, before=old, manager=chosen.pk)
    return app
