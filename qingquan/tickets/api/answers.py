"""From records to answers: case output, domain errors as 4xx answers, the case a
caller may see, registry records by key."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Status

from qingquan.core import durations
from qingquan.customers import privacy
from qingquan.customers import selectors as customer_selectors
from qingquan.staff.access import check
from qingquan.tickets import rules, selectors, services
from qingquan.tickets.errors import InvalidInput, NotAllowed, TicketError
from qingquan.tickets.models import Ticket

# ---------------------------------------------------------------------------
# Converting
# ---------------------------------------------------------------------------


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Instants in UTC, as read back from the database (a case fresh from a service holds
    some in Asia/Shanghai)."""
    return value.astimezone(dt.UTC) if value is not None else None


def ticket_out(ticket: Ticket, user: Any, *, new: bool = False) -> dict[str, Any]:
    """The case as the API shows it; `new` for the case the request has just created (its
    steps are decided without asking for pauses, extensions or merged cases)."""
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "kind": ticket.kind.code,
        "kind_name": str(ticket.kind),
        "channel": ticket.channel,
        "priority": ticket.priority,
        "subject": ticket.subject,
        "description": ticket.description,
        "caller_name": privacy.shown(ticket.caller_name, user=user, kind=privacy.Kind.NAME),
        "caller_phone": privacy.shown(ticket.caller_phone, user=user, of=ticket),
        "address": ticket.address,
        "state": ticket.state,
        "state_label": str(ticket.get_state_display()),
        "owner": ticket.owner.username,
        "owner_name": ticket.owner.get_full_name(),
        "department": ticket.department.code if ticket.department else None,
        "team": ticket.team.code if ticket.team else None,
        "assignee": ticket.assignee.username if ticket.assignee else None,
        "parent": ticket.parent.number if ticket.parent else None,
        "created_at": _utc(ticket.created_at),
        "resolved_at": _utc(ticket.resolved_at),
        "closed_at": _utc(ticket.closed_at),
        "resolution_deadline": _utc(ticket.resolution_deadline),
        "resolution_deadline_text": (
            durations.deadline_text(ticket.resolution_deadline)
            if ticket.resolution_deadline and ticket.is_open
            else ""
        ),
        "warn_at": _utc(ticket.warn_at),
        "sla_state": ticket.sla_state,
        "paused": ticket.sla_state == "paused",
        "breached_at": _utc(ticket.breached_at),
        "on_time": ticket.on_time,
        "calendar_gap": ticket.calendar_gap,
        "calendar_gap_years": list(ticket.calendar_gap_years or []),
        "escalation_level": ticket.escalation_level,
        "reopen_count": ticket.reopen_count,
        "version": ticket.version,
        "allowed_actions": (
            services.allowed_actions(user, ticket, facts=rules.Facts(ticket, new=new))
            if user is not None
            else []
        ),
    }


def ticket_detail_out(ticket: Ticket, user: Any) -> dict[str, Any]:
    data = ticket_out(ticket, user)
    facts = selectors.case_clock(ticket)
    history = selectors.case_history(ticket)
    data.update(
        events=[
            {
                "at": e.at,
                "actor": e.actor.get_full_name() if e.actor else None,
                "action": e.action,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
                "visibility": e.visibility,
            }
            for e in history.events
        ],
        pauses=history.pauses,
        extensions=history.extensions,
        children=[child.number for child in history.children],
        clock=(
            None
            if facts is None
            else {
                "deadline": facts.deadline,
                "warn_at": facts.warn_at,
                "state": str(facts.state),
                "paused": facts.paused,
                "elapsed_seconds": facts.elapsed_seconds,
                "remaining_seconds": facts.remaining_seconds,
                "fraction_used": facts.fraction_used,
                **durations.clock_texts(facts, working_days=facts.working_days),
                "provisional": bool(facts.gap_years),
                "calendar_gap_years": list(facts.gap_years),
            }
        ),
    )
    return data


def _error(request: HttpRequest, error: TicketError) -> Status:
    current = None
    if error.ticket is not None:
        current = ticket_out(selectors.ticket_after_step(error.ticket), request.user)
    return Status(error.status, {"detail": error.message, "current": current})


def guarded(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain and validation errors into 4xx answers with a clear message."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except TicketError as error:
            return _error(request, error)
        except ValidationError as error:
            return Status(400, {"detail": " ".join(error.messages), "current": None})

    # The view's signature with its annotations evaluated where the view is written:
    # django-ninja would read them in this module's namespace (the wrapper's globals).
    wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
    return wrapper


def _visible(request: HttpRequest, number: str) -> Ticket:
    check(request.user, "tickets.view")
    try:
        return selectors.ticket_for(user=request.user, number=number)
    except NotAllowed:
        raise _NotFound(number) from None


class _NotFound(TicketError):
    status = 404

    def __init__(self, number: str) -> None:
        super().__init__(f"No case {number} that you may see.")


def _by_code(find: Callable[..., Any], code: str | None, label: str) -> Any:
    """The record `find(code=code)` finds, None for no code, 400 for an unknown one."""
    if not code:
        return None
    obj = find(code=code)
    if obj is None:
        raise InvalidInput(f"Unknown {label} {code!r}.")
    return obj


def _registry(request: HttpRequest, label: str, pk: int | None) -> Any:
    """The customer, account or premise `pk` through the customer selectors (403 for a
    role that may not see the registry, 400 for an unknown id)."""
    if pk is None:
        return None
    obj = customer_selectors.registry_record(user=request.user, kind=label, pk=pk)
    if obj is None:
        raise InvalidInput(f"Unknown {label} {pk}.")
    return obj


def _changed(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    return ticket_out(selectors.ticket_after_step(ticket), request.user)
