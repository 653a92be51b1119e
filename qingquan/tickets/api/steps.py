"""One endpoint per step of a case's lifecycle (POST /{number}/<step>)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest
from ninja import Status

from qingquan.staff.access import check
from qingquan.tickets import selectors, services
from qingquan.tickets.api.answers import _by_code, _changed, _visible, guarded
from qingquan.tickets.api.cases import router
from qingquan.tickets.api.schemas import (
    ERRORS,
    CallbackIn,
    DecideIn,
    ExtensionIn,
    HandOffIn,
    MergeIn,
    NoteIn,
    OwnerIn,
    PauseIn,
    ReasonIn,
    ResolveIn,
    TicketOut,
)
from qingquan.tickets.errors import InvalidInput
from qingquan.tickets.models import Ticket


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
