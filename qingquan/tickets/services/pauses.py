"""The case's clock: pauses (挂起, R-CON-2), extensions (延期) decided by a supervisor, and
the recomputation after a calendar edit (no new version)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import user_of
from qingquan.tickets import rules
from qingquan.tickets.errors import IllegalTransition, InvalidInput
from qingquan.tickets.models import (
    OPEN_STATES,
    PauseReason,
    Ticket,
    TicketExtension,
    TicketPause,
)
from qingquan.tickets.services.base import (
    Visibility,
    _clean,
    _commit,
    _end_open_pause,
    _lock,
    _rearm_timers,
    _refresh_sla,
    _snapshot,
    _tell,
)


@transaction.atomic
def ticket_pause(
    *, actor: Any, ticket: Ticket, version: int | None, reason: str, note: str = ""
) -> Ticket:
    """Pause (挂起) the clock for time outside the utility's control (R-CON-2)."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "pause")
    if reason not in PauseReason.values:
        raise InvalidInput(_("Choose why the clock is paused."))
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    pause = TicketPause.objects.create(
        ticket=ticket,
        reason=reason,
        note=_clean(note, 200),
        started_at=now,
        started_by=user_of(actor),
    )
    # Paused time never counts: the other budgets' timers stop too (re-armed on resume).
    ticket.response_due = ticket.arrival_due = ticket.restoration_due = None
    _refresh_sla(ticket, now=now)
    return _commit(
        ticket,
        actor=actor,
        action="pause",
        before=before,
        from_state=from_state,
        now=now,
        note=f"{pause.get_reason_display()} {pause.note}".strip(),
        visibility=Visibility.CUSTOMER,
        data={"pause": pause.pk, "reason": reason},
    )


@transaction.atomic
def ticket_resume(*, actor: Any, ticket: Ticket, version: int | None, note: str = "") -> Ticket:
    """Resume the paused clock; the deadline moves by the paused counted time."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "resume")
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    pause = _end_open_pause(ticket, actor=actor, now=now)
    if pause is None:
        raise IllegalTransition(
            _("The clock of case %(number)s is not paused.") % {"number": ticket.number},
            ticket=ticket,
        )
    _rearm_timers(ticket, paused=now - pause.started_at)
    _refresh_sla(ticket, now=now)
    return _commit(
        ticket,
        actor=actor,
        action="resume",
        before=before,
        from_state=from_state,
        now=now,
        note=_clean(note),
        visibility=Visibility.CUSTOMER,
        data={"pause": pause.pk},
    )


@transaction.atomic
def ticket_extension_request(
    *, actor: Any, ticket: Ticket, version: int | None, seconds: int, reason: str
) -> TicketExtension:
    """Ask for more time (延期) on the case's clock; a supervisor decides."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "extension_request")
    reason = _clean(reason, field="reason")
    if not reason:
        raise InvalidInput(_("Say why more time is needed."))
    if seconds <= 0 or seconds > 366 * 86400:
        raise InvalidInput(_("Ask for a positive extension of at most a year."))
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    extension = TicketExtension.objects.create(
        ticket=ticket, seconds=seconds, reason=reason, requested_by=user_of(actor), requested_at=now
    )
    _commit(
        ticket,
        actor=actor,
        action="extension_request",
        before=before,
        from_state=from_state,
        now=now,
        note=reason,
        data={"extension": extension.pk, "seconds": seconds},
    )
    return extension


@transaction.atomic
def ticket_extension_decide(
    *,
    actor: Any,
    ticket: Ticket,
    version: int | None,
    extension: TicketExtension,
    approve: bool,
    note: str = "",
) -> Ticket:
    """Approve or refuse a pending extension; an approval adds its time to the budget."""
    ticket = _lock(ticket, version)
    rules.authorize(actor, ticket, "extension_decide")
    extension = TicketExtension.objects.select_for_update().get(pk=extension.pk)
    if extension.ticket_id != ticket.pk:
        raise InvalidInput(_("This extension request belongs to another case."))
    if extension.status != TicketExtension.Status.PENDING:
        raise IllegalTransition(_("This extension request was already decided."), ticket=ticket)
    before, from_state, now = _snapshot(ticket), ticket.state, clock.now()
    extension.status = (
        TicketExtension.Status.APPROVED if approve else TicketExtension.Status.REFUSED
    )
    extension.decided_by = user_of(actor)
    extension.decided_at = now
    extension.decision_note = _clean(note)
    extension.save()
    if approve:
        ticket.sla_extension_seconds += extension.seconds
        _refresh_sla(ticket, now=now)
    _commit(
        ticket,
        actor=actor,
        action="extension_approve" if approve else "extension_refuse",
        before=before,
        from_state=from_state,
        now=now,
        note=extension.decision_note,
        data={"extension": extension.pk, "seconds": extension.seconds},
    )
    _tell(
        [extension.requested_by, ticket.owner],
        ticket,
        (
            _("Extension for case %(number)s approved.")
            if approve
            else _("Extension for case %(number)s refused.")
        )
        % {"number": ticket.number},
        key=f"extension:{extension.pk}",
    )
    return ticket


@transaction.atomic
def ticket_refresh_clock(*, ticket: Ticket) -> Ticket:
    """Recompute one open case's clock (after a calendar edit); no new version."""
    ticket = _lock(ticket, None)
    if ticket.state in OPEN_STATES:
        before = (ticket.resolution_deadline, ticket.warn_at, ticket.sla_state, ticket.calendar_gap)
        _refresh_sla(ticket, now=clock.now())
        after = (ticket.resolution_deadline, ticket.warn_at, ticket.sla_state, ticket.calendar_gap)
        if after != before:
            ticket.save(
                update_fields=[
                    "resolution_deadline",
                    "warn_at",
                    "sla_state",
                    "calendar_gap",
                    "calendar_gap_years",
                    "breached_at",
                ]
            )
    return ticket
