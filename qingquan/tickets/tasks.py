"""Background work for cases: time-limit warnings and breaches, calendar-gap alarms.

Tasks take ids and are safe to run twice (notifications carry de-duplication keys).
`sla_sweep` runs every minute and catches every threshold crossed since the last run,
including while the platform was down; it works on indexed columns only, set by set.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django_tasks import task

from qingquan.core import clock
from qingquan.core.notifications import notify
from qingquan.core.periodic import every
from qingquan.staff.access import CAPABILITIES
from qingquan.staff.models import User
from qingquan.tickets.models import OPEN_STATES, SlaState, Ticket

SWEEP_BATCH = 5000


def alert_recipients(ticket: Ticket, *, at: dt.datetime | None = None) -> list[User]:
    """The owner plus the supervisors on shift (every supervisor if nobody is rostered)."""
    from qingquan.staff.selectors import on_shift

    roles = CAPABILITIES["tickets.sla_alerts"]
    supervisors = [s.assignment.user for s in on_shift(at=at) if s.assignment.user.role in roles]
    if not supervisors:
        supervisors = list(User.objects.filter(is_active=True, role__in=roles))
    people: dict[int, User] = {ticket.owner_id: ticket.owner}
    for person in supervisors:
        people.setdefault(person.pk, person)
    return [p for p in people.values() if p.is_active]


def send_sla_alert(ticket: Ticket, kind: str) -> int:
    """Tell owner and supervisors that a case reached its warning threshold or deadline."""
    if ticket.state not in OPEN_STATES or ticket.resolution_deadline is None:
        return 0
    if kind == SlaState.WARNING and ticket.sla_state not in (SlaState.WARNING, SlaState.BREACHED):
        return 0
    if kind == SlaState.BREACHED and ticket.sla_state != SlaState.BREACHED:
        return 0
    from django.urls import reverse

    deadline = ticket.resolution_deadline.astimezone(clock.SHANGHAI)
    if kind == SlaState.BREACHED:
        title = _("Case %(number)s is overdue (deadline %(deadline)s)")
        level = "alert"
    else:
        title = _("Case %(number)s is close to its deadline (%(deadline)s)")
        level = "warning"
    title = title % {"number": ticket.number, "deadline": f"{deadline:%Y-%m-%d %H:%M}"}
    # One notice per case, threshold and deadline: a moved deadline warns again.
    key = f"t{ticket.pk}:sla:{kind}:{int(deadline.timestamp())}"
    sent = 0
    for person in alert_recipients(ticket):
        if notify(
            recipient=person,
            title=title,
            body=ticket.subject,
            link=reverse("tickets:detail", args=[ticket.number]),
            level=level,
            dedupe_key=key,
        ):
            sent += 1
    return sent


@task()
def sla_alerts(ticket_ids: list[int], kind: str) -> int:
    """Send the warning or breach notices for these cases; returns notices sent."""
    sent = 0
    for ticket in Ticket.objects.filter(pk__in=ticket_ids).select_related("owner"):
        sent += send_sla_alert(ticket, kind)
    return sent


def _flip(due: Any, *, to: SlaState, now: dt.datetime) -> list[int]:
    """Move one batch of due cases to `to`; return their ids (empty when none left)."""
    with transaction.atomic():
        ids = list(due.values_list("pk", flat=True)[:SWEEP_BATCH])
        if not ids:
            return []
        # Re-check the condition in the UPDATE: a service may have moved a case since.
        changes: dict[str, Any] = {"sla_state": to}
        if to == SlaState.BREACHED:
            changes["breached_at"] = Coalesce("breached_at", "resolution_deadline")
        due.filter(pk__in=ids).update(**changes)
        transaction.on_commit(lambda: sla_alerts.enqueue(ticket_ids=ids, kind=str(to)))
    return ids


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Flag every case past its warning instant or deadline; returns counts per state."""
    now = now or clock.now()
    counts = {"warning": 0, "breached": 0}
    # Breaches first, so a case past both thresholds is told it is overdue only.
    while batch := _flip(Ticket.objects.due_for_breach(now), to=SlaState.BREACHED, now=now):
        counts["breached"] += len(batch)
    while batch := _flip(Ticket.objects.due_for_warning(now), to=SlaState.WARNING, now=now):
        counts["warning"] += len(batch)
    return counts


@every(60)
@task()
def sla_sweep() -> dict[str, int]:
    """Every minute: warnings and breaches due since the last run."""
    return sweep()


@task()
def calendar_gap_alert(ticket_id: int, years: list[int]) -> int:
    """Tell the administrators that a case's clock reached a year without a calendar."""
    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    sent = 0
    admins = User.objects.filter(is_active=True, role__in=CAPABILITIES["calendar.manage"])
    for year in years:
        for admin in admins:
            if notify(
                recipient=admin,
                title=_(
                    "The working-day calendar has no data for %(year)s: case deadlines "
                    "(first %(number)s) are provisional. Enter the official schedule."
                )
                % {"year": year, "number": ticket.number},
                link="/admin/core/calendarday/",
                level="alert",
                dedupe_key=f"calendar-gap:{year}",
            ):
                sent += 1
    return sent


@every(3600)
@task()
def refresh_provisional_clocks() -> int:
    """Hourly: recompute cases whose deadline was provisional (the calendar may now hold
    the missing year); returns how many were recomputed."""
    from qingquan.tickets.services import ticket_refresh_clock

    ids = list(
        Ticket.objects.filter(Q(calendar_gap=True), state__in=OPEN_STATES).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        ticket_refresh_clock(ticket=Ticket(pk=pk))
    return len(ids)
