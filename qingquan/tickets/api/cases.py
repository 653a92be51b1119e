"""The router, and the endpoints that read and open cases and record contacts."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import StringConstraints

from qingquan.core import validation as vd
from qingquan.customers import privacy
from qingquan.staff.access import check
from qingquan.tickets import kpis, reference, selectors, services
from qingquan.tickets.api.answers import (
    _by_code,
    _registry,
    _visible,
    guarded,
    ticket_detail_out,
    ticket_out,
)
from qingquan.tickets.api.schemas import (
    ERRORS,
    ContactIn,
    ContactOut,
    KindOut,
    KpisOut,
    TicketDetailOut,
    TicketIn,
    TicketOut,
    TicketPage,
    Word,
)
from qingquan.tickets.errors import InvalidInput

router: Router = Router(tags=["tickets"])


# ---------------------------------------------------------------------------
# Endpoints
# ---------------------------------------------------------------------------


@router.get("/kinds", response=list[KindOut], summary="Case kinds and their time limits")
def list_kinds(request: HttpRequest) -> list[dict[str, Any]]:
    check(request.user, "tickets.view")
    result = []
    for kind in selectors.active_kinds():
        policy = kind.effective_policy()
        result.append(
            {
                "code": kind.code,
                "name": kind.name,
                "parent": kind.parent.code if kind.parent else None,
                "default_priority": kind.effective_priority(),
                "policy": policy.code,
                "clock_kind": policy.clock_kind,
                "resolution_seconds": policy.resolution_seconds,
            }
        )
    return result


@router.get("/contacts", response=list[ContactOut], summary="Recent contacts")
def list_contacts(
    request: HttpRequest, limit: int = Query(50, ge=1, le=500)
) -> list[dict[str, Any]]:
    """Contacts the caller took (all for supervisors), newest first."""
    check(request.user, "tickets.view")
    rows = selectors.contacts_visible_to(request.user)[: max(1, min(limit, 500))]
    return [contact_out(c, request.user) for c in rows]


def contact_out(contact: Any, user: Any) -> dict[str, Any]:
    """A contact as `ContactOut` (and `ContactBase`), its number as `user` may see it."""
    return {
        "id": contact.pk,
        "channel": contact.channel,
        "from_address": privacy.shown(contact.from_address, user=user, of=contact),
        "started_at": contact.started_at,
        "ended_at": contact.ended_at,
        "duration_seconds": contact.duration_seconds,
        "agent": contact.agent.username if contact.agent_id else None,
        "recording_ref": contact.recording_ref,
        "tickets": [t.number for t in contact.tickets.all()],
    }


@router.post("/contacts", response={201: ContactOut, **ERRORS}, summary="Record a contact")
@guarded
def create_contact(request: HttpRequest, payload: ContactIn) -> Any:
    """Record a call, message or visit, linked to the cases it touched (R-INTAKE-2)."""
    check(request.user, "tickets.create")
    tickets = [selectors.ticket_for(user=request.user, number=n) for n in payload.tickets]
    contact = services.contact_record(
        actor=request.user,
        channel=payload.channel,
        from_address=payload.from_address,
        started_at=payload.started_at,
        ended_at=payload.ended_at,
        recording_ref=payload.recording_ref,
        customer=_registry(request, "customer", payload.customer_id),
        note=payload.note,
        tickets=tickets,
    )
    return Status(201, contact_out(contact, request.user))


@router.get("/kpis", response={200: KpisOut, **ERRORS}, summary="Closure and on-time rates")
@guarded
def get_kpis(
    request: HttpRequest, start: vd.Datetime, end: vd.Datetime, by: str | None = None
) -> Any:
    """SPEC KPIs for cases in ``[start, end)``; `by` is kind, subkind, district, channel,
    owner or department."""
    check(request.user, "tickets.kpis")
    if by is not None and by not in kpis.BREAKDOWNS:
        raise InvalidInput(f"Unknown breakdown {by!r}; use one of {', '.join(kpis.BREAKDOWNS)}.")
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidInput("Give an aware start before an aware end.")

    def out(figures: list[kpis.Figure]) -> list[dict[str, Any]]:
        return [
            {
                "key": f.key,
                "label": f.label,
                "numerator": f.numerator,
                "denominator": f.denominator,
                "rate": f.rate,
            }
            for f in figures
        ]

    return Status(
        200,
        {
            "start": start,
            "end": end,
            "by": by,
            "closure_rate": out(kpis.closure_rate(start=start, end=end, by=by)),
            "on_time_rate": out(kpis.on_time_rate(start=start, end=end, by=by)),
        },
    )


@router.get("/mine", response=list[TicketOut], summary="Cases I own, wherever they are")
def mine(request: HttpRequest, include_done: bool = False) -> list[dict[str, Any]]:
    check(request.user, "tickets.view")
    rows = selectors.my_cases(request.user, include_done=include_done).select_related(
        "assignee", "parent"
    )[:500]
    return [ticket_out(t, request.user) for t in rows]


@router.get("", response=TicketPage, summary="Search cases")
def list_tickets(
    request: HttpRequest,
    state: Word = "",
    sla_state: Word = "",
    kind: Word = "",
    channel: Word = "",
    owner: Word = "",
    q: Annotated[str, StringConstraints(max_length=200), vd.LINE] = "",
    created_from: vd.Datetime | None = None,
    created_to: vd.Datetime | None = None,
    limit: int = Query(50, ge=1, le=500),
    offset: vd.Offset = 0,
) -> dict[str, Any]:
    """Cases the caller may see, newest first, filtered."""
    check(request.user, "tickets.view")
    owner_id = None
    if owner:
        member = selectors.staff_member(username=owner)
        owner_id = member.pk if member is not None else -1
    qs = selectors.ticket_search(
        user=request.user,
        state=state,
        sla_state=sla_state,
        kind=kind,
        channel=channel,
        owner=owner_id,
        text=q,
        created_from=created_from,
        created_to=created_to,
    ).select_related("assignee", "parent")
    return {
        "count": qs.count(),
        "items": [ticket_out(t, request.user) for t in qs[offset : offset + limit]],
    }


@router.post("", response={201: TicketOut, **ERRORS}, summary="Open a case")
@guarded
def create_ticket(request: HttpRequest, payload: TicketIn) -> Any:
    """Receive a case; the caller (or the agent of `contact_id`) becomes its owner."""
    check(request.user, "tickets.create")
    kind = reference.kind_by_code(payload.kind)
    if kind is None:
        raise InvalidInput(f"Unknown case kind {payload.kind!r}.")
    contact = None
    if payload.contact_id is not None:
        contact = selectors.visible_contact(user=request.user, pk=payload.contact_id)
        if contact is None:
            raise InvalidInput(f"Unknown contact {payload.contact_id}.")
    ticket = services.ticket_create(
        actor=request.user,
        kind=kind,
        channel=payload.channel,
        subject=payload.subject,
        description=payload.description,
        caller_name=payload.caller_name,
        caller_phone=payload.caller_phone,
        address=payload.address,
        district=_by_code(selectors.district_by, payload.district, "district"),
        customer=_registry(request, "customer", payload.customer_id),
        account=_registry(request, "account", payload.account_id),
        premise=_registry(request, "premise", payload.premise_id),
        priority=payload.priority,
        contact=contact,
    )
    # The service's case is complete (kind, owner and every column it wrote): no refetch.
    return Status(201, ticket_out(ticket, request.user, new=True))


@router.get("/{number}", response={200: TicketDetailOut, **ERRORS}, summary="One case")
@guarded
def get_ticket(request: HttpRequest, number: str) -> Any:
    """The case with its timeline, pauses, extensions and live clock."""
    ticket = _visible(request, number)
    return Status(200, ticket_detail_out(ticket, request.user))
