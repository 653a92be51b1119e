"""Cases over HTTP: /api/v1/tickets/… (mounted in qingquan.api).

Every mutating call carries the `version` of the case it read; a stale version answers
409 with the message and the case as it is now. Illegal steps answer 409, bad input 400,
a step the caller may not take 403; never a 500 and never half-written data (each step
is one transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import StringConstraints

from qingquan.core import durations
from qingquan.core import validation as vd
from qingquan.customers import privacy
from qingquan.customers import selectors as customer_selectors
from qingquan.staff.access import check
from qingquan.tickets import kpis, reference, rules, selectors, services
from qingquan.tickets.errors import InvalidInput, NotAllowed, TicketError
from qingquan.tickets.models import Channel, Ticket

router: Router = Router(tags=["tickets"])


# ---------------------------------------------------------------------------
# Schemas
# ---------------------------------------------------------------------------


class KindOut(Schema):
    code: str
    name: str
    parent: str | None
    default_priority: str
    policy: str
    clock_kind: str
    resolution_seconds: int


class TicketOut(Schema):
    id: int
    number: str
    kind: str
    kind_name: str
    channel: str
    priority: str
    subject: str
    description: str
    caller_name: str
    caller_phone: str
    address: str
    state: str
    state_label: str
    owner: str
    owner_name: str
    department: str | None
    team: str | None
    assignee: str | None
    parent: str | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    resolution_deadline: dt.datetime | None
    resolution_deadline_text: str = Field(
        description="For open cases, the deadline in words in the request's language, "
        "with its date and time: '截止 2026-12-05 17:30，剩余 2 天 3 小时' or 'due 2026-12-05 "
        "17:30, 8 h 29 min overdue' (wall-clock time to the deadline; the case's counted "
        "time is in `clock` of one case). Empty when there is no deadline or the case is "
        "resolved."
    )
    warn_at: dt.datetime | None
    sla_state: str
    paused: bool
    breached_at: dt.datetime | None
    on_time: bool | None
    calendar_gap: bool
    calendar_gap_years: list[int]
    escalation_level: int
    reopen_count: int
    version: int
    allowed_actions: list[str]


class EventOut(Schema):
    at: dt.datetime
    actor: str | None
    action: str
    from_state: str
    to_state: str
    note: str
    visibility: str


class PauseOut(Schema):
    reason: str
    note: str
    started_at: dt.datetime
    ended_at: dt.datetime | None


class ExtensionOut(Schema):
    id: int
    seconds: int
    reason: str
    status: str
    requested_at: dt.datetime
    decided_at: dt.datetime | None


class ClockOut(Schema):
    deadline: dt.datetime | None
    warn_at: dt.datetime | None
    state: str
    paused: bool
    elapsed_seconds: float = Field(description="Counted time so far, in seconds.")
    remaining_seconds: float = Field(
        description="Counted time left, in seconds (negative once overdue)."
    )
    remaining_text: str = Field(
        description="The time left (or overdue) in words, in the request's language: "
        "'剩余 1 个工作日 3 小时', '1 working day 3 h left', '已超时 8 小时 29 分'."
    )
    elapsed_text: str = Field(description="The counted time in words: '已计时 2 个工作日 1 小时'.")
    deadline_text: str = Field(
        description="The deadline's local date and time, 'YYYY-MM-DD HH:MM'."
    )
    fraction_used: float
    provisional: bool
    calendar_gap_years: list[int]


class TicketDetailOut(TicketOut):
    events: list[EventOut]
    pauses: list[PauseOut]
    extensions: list[ExtensionOut]
    children: list[str]
    clock: ClockOut | None


class TicketPage(Schema):
    count: int
    items: list[TicketOut]


class ErrorOut(Schema):
    detail: str
    current: TicketOut | None = None


class TicketIn(Schema):
    kind: str = Field(description="Case kind code, e.g. repair-burst", max_length=40)
    channel: str = Field(description=f"One of {', '.join(Channel.values)}", max_length=20)
    subject: vd.Subject
    description: vd.Note = ""
    caller_name: vd.Name = ""
    caller_phone: vd.Phone = ""
    address: vd.Address = ""
    district: str | None = Field(None, description="District code", max_length=20)
    priority: str = Field("", max_length=10)
    customer_id: int | None = None
    account_id: int | None = None
    premise_id: int | None = None
    contact_id: int | None = Field(None, description="The contact that opened the case")


Word = Annotated[str, StringConstraints(max_length=150), vd.LINE]  # codes and usernames in queries


class VersionIn(Schema):
    version: int = Field(description="The case version you read (optimistic locking)")


class NoteIn(VersionIn):
    note: vd.Note = ""


class ReasonIn(VersionIn):
    reason: vd.Note


class HandOffIn(VersionIn):
    department: str | None = Field(None, description="Department code")
    team: str | None = Field(None, description="Team or crew code")
    note: vd.Note = ""


class ResolveIn(VersionIn):
    resolution: vd.Note


class PauseIn(VersionIn):
    reason: str = Field(
        description="customer, budget_review, contract, payment, force_majeure", max_length=20
    )
    note: Annotated[str, StringConstraints(max_length=200), vd.FREE] = ""


class ExtensionIn(VersionIn):
    seconds: int = Field(description="Extra budget in seconds of the case's clock", ge=1, le=10**9)
    reason: vd.Note


class DecideIn(VersionIn):
    extension_id: int
    approve: bool
    note: vd.Note = ""


class CallbackIn(VersionIn):
    outcome: str = Field(
        description="satisfied, fairly_satisfied, dissatisfied, unreachable", max_length=20
    )
    note: vd.Note = ""


class OwnerIn(VersionIn):
    owner: str = Field(description="Username of the new owner", max_length=150)
    reason: vd.Note


class MergeIn(VersionIn):
    parent: str = Field(description="Number of the incident case to merge into", max_length=16)
    note: vd.Note = ""


class ContactIn(Schema):
    channel: str = Field(max_length=20)
    from_address: Annotated[str, StringConstraints(max_length=120), vd.LINE] = ""
    started_at: vd.Datetime | None = None
    ended_at: vd.Datetime | None = None
    recording_ref: Annotated[str, StringConstraints(max_length=200), vd.LINE] = ""
    customer_id: int | None = None
    note: vd.Note = ""
    tickets: list[str] = Field(default_factory=list, description="Case numbers it touched")


class ContactBase(Schema):
    """What every API shows of a contact (the telephony API adds the call's outcome)."""

    id: int
    channel: str
    from_address: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration_seconds: int | None
    agent: str | None
    tickets: list[str]


class ContactOut(ContactBase):
    recording_ref: str


class FigureOut(Schema):
    key: str | None
    label: str
    numerator: int
    denominator: int
    rate: float | None


class KpisOut(Schema):
    start: dt.datetime
    end: dt.datetime
    by: str | None
    closure_rate: list[FigureOut]
    on_time_rate: list[FigureOut]


ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


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


def _step(path: str, schema: Any, summary: str) -> Callable[[Callable[..., Any]], Any]:
    """Register one transition endpoint POST /{number}/<path>."""

    def decorator(func: Callable[..., Any]) -> Any:
        @wraps(func)
        def view(request: HttpRequest, number: str, payload: Any) -> Any:
            ticket = _visible(request, number)
            func(request, ticket, payload)
            return Status(200, _changed(request, ticket))

        view.__annotations__ = {
            "request": HttpRequest,
            "number": str,
            "payload": schema,
            "return": Any,
        }
        del view.__wrapped__
        return router.post(
            f"/{{number}}/{path}", response={200: TicketOut, **ERRORS}, summary=summary
        )(guarded(view))

    return decorator


@_step("dispatch", HandOffIn, "Dispatch to a department or crew (派单)")
def dispatch(request: HttpRequest, ticket: Ticket, p: HandOffIn) -> None:
    check(request.user, "tickets.dispatch")
    services.ticket_dispatch(
        actor=request.user,
        ticket=ticket,
        version=p.version,
        department=_by_code(selectors.department_by, p.department, "department"),
        team=_by_code(selectors.team_by, p.team, "team"),
        note=p.note,
    )


@_step("transfer", HandOffIn, "Transfer to another department or crew (转办)")
def transfer(request: HttpRequest, ticket: Ticket, p: HandOffIn) -> None:
    services.ticket_transfer(
        actor=request.user,
        ticket=ticket,
        version=p.version,
        department=_by_code(selectors.department_by, p.department, "department"),
        team=_by_code(selectors.team_by, p.team, "team"),
        note=p.note,
    )


@_step("accept", NoteIn, "Take the case on")
def accept(request: HttpRequest, ticket: Ticket, p: NoteIn) -> None:
    services.ticket_accept(actor=request.user, ticket=ticket, version=p.version, note=p.note)


@_step("arrive", NoteIn, "Crew on site")
def arrive(request: HttpRequest, ticket: Ticket, p: NoteIn) -> None:
    services.ticket_arrive(actor=request.user, ticket=ticket, version=p.version, note=p.note)


@_step("resolve", ResolveIn, "Resolve (办结)")
def resolve(request: HttpRequest, ticket: Ticket, p: ResolveIn) -> None:
    services.ticket_resolve(
        actor=request.user, ticket=ticket, version=p.version, resolution=p.resolution
    )


@_step("return", ReasonIn, "Return to the hotline (退单)")
def return_(request: HttpRequest, ticket: Ticket, p: ReasonIn) -> None:
    services.ticket_return(actor=request.user, ticket=ticket, version=p.version, reason=p.reason)


@_step("callback", CallbackIn, "Record the follow-up call (回访)")
def callback(request: HttpRequest, ticket: Ticket, p: CallbackIn) -> None:
    services.ticket_callback_record(
        actor=request.user, ticket=ticket, version=p.version, outcome=p.outcome, note=p.note
    )


@_step("close", NoteIn, "Close without a callback")
def close(request: HttpRequest, ticket: Ticket, p: NoteIn) -> None:
    services.ticket_close(actor=request.user, ticket=ticket, version=p.version, note=p.note)


@_step("reopen", ReasonIn, "Reopen")
def reopen(request: HttpRequest, ticket: Ticket, p: ReasonIn) -> None:
    services.ticket_reopen(actor=request.user, ticket=ticket, version=p.version, reason=p.reason)


@_step("pause", PauseIn, "Pause the clock (挂起)")
def pause(request: HttpRequest, ticket: Ticket, p: PauseIn) -> None:
    services.ticket_pause(
        actor=request.user, ticket=ticket, version=p.version, reason=p.reason, note=p.note
    )


@_step("resume", NoteIn, "Resume the clock")
def resume(request: HttpRequest, ticket: Ticket, p: NoteIn) -> None:
    services.ticket_resume(actor=request.user, ticket=ticket, version=p.version, note=p.note)


@_step("extensions", ExtensionIn, "Ask for more time (延期)")
def extension_request(request: HttpRequest, ticket: Ticket, p: ExtensionIn) -> None:
    services.ticket_extension_request(
        actor=request.user, ticket=ticket, version=p.version, seconds=p.seconds, reason=p.reason
    )


@_step("extensions/decide", DecideIn, "Approve or refuse an extension")
def extension_decide(request: HttpRequest, ticket: Ticket, p: DecideIn) -> None:
    check(request.user, "tickets.supervise")
    extension = selectors.extension_of(ticket, p.extension_id)
    if extension is None:
        raise InvalidInput(f"Case {ticket.number} has no extension request {p.extension_id}.")
    services.ticket_extension_decide(
        actor=request.user,
        ticket=ticket,
        version=p.version,
        extension=extension,
        approve=p.approve,
        note=p.note,
    )


@_step("escalate", NoteIn, "Escalate (督办)")
def escalate(request: HttpRequest, ticket: Ticket, p: NoteIn) -> None:
    check(request.user, "tickets.supervise")
    services.ticket_escalate(actor=request.user, ticket=ticket, version=p.version, note=p.note)


@_step("remind", NoteIn, "Remind the handlers (催办)")
def remind(request: HttpRequest, ticket: Ticket, p: NoteIn) -> None:
    services.ticket_remind(actor=request.user, ticket=ticket, version=p.version, note=p.note)


@_step("owner", OwnerIn, "Change the first-contact owner (supervisors)")
def change_owner(request: HttpRequest, ticket: Ticket, p: OwnerIn) -> None:
    check(request.user, "tickets.change_owner")
    owner = selectors.staff_member(username=p.owner)
    if owner is None:
        raise InvalidInput(f"Unknown staff member {p.owner!r}.")
    services.ticket_change_owner(
        actor=request.user, ticket=ticket, version=p.version, owner=owner, reason=p.reason
    )


@_step("merge", MergeIn, "Merge into an incident case (并单)")
def merge(request: HttpRequest, ticket: Ticket, p: MergeIn) -> None:
    parent = selectors.visible_case(user=request.user, number=p.parent)
    if parent is None:
        raise InvalidInput(f"No case {p.parent} that you may see.")
    services.ticket_merge(
        actor=request.user, ticket=ticket, version=p.version, parent=parent, note=p.note
    )
