"""The plumbing every case service of this package shares: locking a case at the version
the caller read, the snapshot, commit (new version, timeline entry, audit event) and
timers of a transition, input cleaning, and telling people. Not for callers outside
`tickets.services`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import validation
from qingquan.core.access import AccessDenied
from qingquan.core.actors import user_of
from qingquan.core.audit import audit_record
from qingquan.core.notifications import notify
from qingquan.staff.access import CAPABILITIES, check
from qingquan.staff.models import User
from qingquan.tickets import clocks
from qingquan.tickets.errors import InvalidInput, NotAllowed, StaleVersion
from qingquan.tickets.models import (
    DONE_STATES,
    OPEN_STATES,
    SlaState,
    Ticket,
    TicketEvent,
    TicketPause,
    TicketState,
)

S = TicketState
Visibility = TicketEvent.Visibility

TRACKED_FIELDS = (
    "state",
    "owner",
    "department",
    "team",
    "assignee",
    "parent",
    "priority",
    "resolution_deadline",
    "sla_state",
    "sla_extension_seconds",
    "escalation_level",
    "version",
)


def _require(actor: Any, capability: str) -> None:
    try:
        check(actor, capability)
    except AccessDenied as denied:
        raise NotAllowed(denied.message, capability=capability) from None


def _lock(ticket: Ticket | int, version: int | None) -> Ticket:
    pk = ticket if isinstance(ticket, int) else ticket.pk
    locked = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("kind", "kind__parent", "owner", "department", "team")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise InvalidInput(_("This case does not exist."))
    if version is not None and locked.version != version:
        raise StaleVersion(
            _(
                "Case %(number)s was changed by someone else (you read version %(read)s, "
                "it is now version %(now)s, %(state)s). Reload it and try again."
            )
            % {
                "number": locked.number,
                "read": version,
                "now": locked.version,
                "state": locked.get_state_display(),
            },
            ticket=locked,
        )
    return locked


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    from qingquan.core.audit import snapshot

    return snapshot(ticket, TRACKED_FIELDS)


def _commit(
    ticket: Ticket,
    *,
    actor: Any,
    action: str,
    before: dict[str, Any],
    from_state: str,
    now: dt.datetime,
    note: str = "",
    visibility: str = Visibility.INTERNAL,
    data: dict[str, Any] | None = None,
) -> Ticket:
    """Save the case with a new version, its timeline entry and its audit event."""
    _disarm_met_timers(ticket)
    ticket.version += 1
    ticket.updated_at = now
    ticket.save()
    TicketEvent.objects.create(
        ticket=ticket,
        at=now,
        actor=user_of(actor),
        action=action,
        from_state=from_state,
        to_state=ticket.state,
        note=note,
        visibility=visibility,
        data=data or {},
    )
    audit_record(
        actor=actor,
        action=f"ticket.{action}",
        obj=ticket,
        before=before,
        after=_snapshot(ticket),
        note=note,
    )
    return ticket


def _disarm_met_timers(ticket: Ticket) -> None:
    """Stop watching the budgets the case has met: the response once it left "received",
    the arrival once the crew is on site, every budget once it is resolved."""
    if ticket.state != S.RECEIVED:
        ticket.response_due = None
    if ticket.arrived_at is not None or ticket.state in DONE_STATES:
        ticket.arrival_due = None
    if ticket.state in DONE_STATES:
        ticket.restoration_due = None


def _rearm_timers(ticket: Ticket, *, paused: dt.timedelta) -> None:
    """After a pause: the response, arrival and restoration deadlines not yet missed move
    by the paused time (calendar time, as those budgets count) and are watched again;
    `_commit` disarms those already met."""
    for deadline, due, stamp in (
        ("response_deadline", "response_due", "response_breached_at"),
        ("arrival_deadline", "arrival_due", "arrival_breached_at"),
        ("restoration_deadline", "restoration_due", "restoration_breached_at"),
    ):
        value = getattr(ticket, deadline)
        if value is None or getattr(ticket, stamp) is not None:
            continue
        setattr(ticket, deadline, value + paused)
        setattr(ticket, due, value + paused)


def _refresh_sla(ticket: Ticket, *, now: dt.datetime) -> None:
    """Recompute the open case's clock and queue the calendar-gap alarm if needed."""
    if ticket.state not in OPEN_STATES:
        return
    facts = clocks.compute(ticket, now=now)
    clocks.apply_facts(ticket, facts)
    if facts.gap_years:
        from qingquan.tickets import tasks

        years = list(facts.gap_years)
        # Read the id at commit time: a new case has none until it is saved.
        # robust: a failing enqueue after the commit is logged, never the caller's error.
        transaction.on_commit(
            lambda: tasks.calendar_gap_alert.enqueue(ticket_id=ticket.pk, years=years),
            robust=True,
        )
    if facts.state in (SlaState.WARNING, SlaState.BREACHED):
        # A change (a resume, a short budget…) can land a case straight past a
        # threshold, where the sweep (which looks for crossings) would not see it.
        from qingquan.tickets import tasks

        kind = str(facts.state)
        transaction.on_commit(
            lambda: tasks.sla_alerts.enqueue(ticket_ids=[ticket.pk], kind=kind), robust=True
        )


def _clean(
    text: str | None, limit: int = validation.TEXT, *, field: str = "note", line: bool = False
) -> str:
    """Text as the platform's input rules allow it (core.validation): trimmed, never cut:
    too long, a control character (tab and new lines allowed unless `line`) or a lone
    surrogate is refused with a message naming the field and its limit."""
    try:
        return validation.clean_text(text, field=field, max_length=limit, multiline=not line)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None


def _phone(number: str | None, *, field: str = "caller_phone") -> str:
    """A caller's number in E.164 ("" for none); not a phone number is refused."""
    try:
        return validation.clean_phone(number, field=field)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None


def _when(value: dt.datetime, field: str) -> dt.datetime:
    try:
        return validation.check_datetime(value, field=field)
    except ValidationError as error:
        raise InvalidInput(error.messages[0]) from None


def _link(ticket: Ticket) -> str:
    from django.urls import reverse

    return reverse("tickets:detail", args=[ticket.number])


def _tell(
    users: Iterable[Any], ticket: Ticket, title: str, *, key: str, level: str = "info"
) -> None:
    """Notify each distinct user once about this case event (dedupe per key)."""
    seen: set[int] = set()
    for user in users:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        notify(
            recipient=user,
            title=title,
            link=_link(ticket),
            level=level,
            dedupe_key=f"t{ticket.pk}:{key}"[:120],
        )


def handlers_of(ticket: Ticket) -> list[User]:
    """The people the case currently sits with: the assignee, else its crew or department."""
    if ticket.assignee_id:
        return [ticket.assignee]  # type: ignore[list-item]
    roles = CAPABILITIES["tickets.work"]
    people = User.objects.filter(is_active=True, role__in=roles)
    if ticket.team_id:
        return list(people.filter(team_id=ticket.team_id))
    if ticket.department_id:
        return list(people.filter(department_id=ticket.department_id))
    return []


def _end_open_pause(ticket: Ticket, *, actor: Any, now: dt.datetime) -> TicketPause | None:
    """End the case's open pause, if any (resolving or resuming); the pause ended."""
    pause = ticket.pauses.filter(ended_at__isnull=True).first()
    if pause is not None:
        pause.ended_at = now
        pause.ended_by = user_of(actor)
        pause.save(update_fields=["ended_at", "ended_by"])
    return pause
