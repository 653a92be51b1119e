"""Telephony over HTTP: /api/v1/telephony/… (mounted in qingquan.api).

Contacts (list with filters, detail), the caller's own agent state (read and change through
`services.agent_state_set`) and the calls waiting in the queue. Reads go through
`selectors`, which decide who sees what; a refused request answers 403, an unknown record
404 and bad input 400 or 422, always with a message in ``detail``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from qingquan.core.schemas import PageIn, PageOut, paged
from qingquan.customers import privacy
from qingquan.staff.access import check
from qingquan.telephony import selectors, services
from qingquan.telephony.models import AgentState, AgentStatus, Call
from qingquan.tickets.api import ContactBase, contact_out
from qingquan.tickets.models import Contact

router: Router = Router(tags=["telephony"])

SETTABLE = [s for s in AgentStatus.values if s != AgentStatus.ON_CALL]


class CallOut(Schema):
    id: int
    call_id: str
    direction: str
    from_number: str
    queue: str
    state: str
    outcome: str
    agent: str | None
    rang_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    wait_seconds: int | None
    talk_seconds: int | None
    hangup_cause: str
    recording_ref: str


class CallContactOut(ContactBase):
    outcome: str | None = Field(description="The call's outcome; null when not a call")


class ContactDetailOut(CallContactOut):
    recording_ref: str
    customer_id: int | None
    note: str
    call: CallOut | None


class ContactPage(PageOut):
    items: list[CallContactOut]


class ContactFilters(PageIn):
    date_from: dt.date | None = Field(None, description="First local day (YYYY-MM-DD)")
    date_to: dt.date | None = Field(None, description="Last local day, included")
    agent: str = Field("", description="The agent's username (others': supervisors only)")
    channel: str = Field("", description="phone, wechat, alipay, sms, web, counter …")
    outcome: str = Field("", description="answered, abandoned, rejected, or none (not a call)")


class StateOut(Schema):
    status: str
    status_label: str
    since: dt.datetime
    call_id: int | None


class StateIn(Schema):
    status: str = Field(description=f"One of {', '.join(SETTABLE)}")


def _call_out(user: Any, call: Call) -> dict[str, Any]:
    return {
        "id": call.pk,
        "call_id": call.call_id,
        "direction": call.direction,
        "from_number": privacy.shown(call.from_number, user=user, of=call),
        "queue": call.queue,
        "state": call.state,
        "outcome": call.outcome,
        "agent": call.agent.username if call.agent_id else None,  # type: ignore[union-attr]
        "rang_at": call.rang_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "wait_seconds": call.wait_seconds,
        "talk_seconds": call.talk_seconds,
        "hangup_cause": call.hangup_cause,
        "recording_ref": call.recording_ref,
    }


def _call_of(contact: Contact) -> Call | None:
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    call: Call | None = getattr(contact, "call", None)
    return call


def _contact_out(user: Any, contact: Contact) -> dict[str, Any]:
    call = _call_of(contact)
    return {
        **contact_out(contact, user),
        "outcome": call.outcome if call is not None else None,
    }


def _state_out(state: AgentState) -> dict[str, Any]:
    return {
        "status": state.status,
        "status_label": str(state.get_status_display()),
        "since": state.since,
        "call_id": state.call_id,
    }


@router.get("/contacts", response=ContactPage, summary="Contacts, filtered")
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]) -> dict[str, Any]:
    """Contacts the caller took (everyone's for supervisors and administrators), newest
    first, filtered by local days, agent, channel and call outcome."""
    try:
        qs = selectors.contacts_filtered(
            user=request.user,
            day_from=filters.date_from,
            day_to=filters.date_to,
            agent=filters.agent.strip(),
            channel=filters.channel.strip(),
            outcome=filters.outcome.strip(),
        )
    except selectors.FilterError as error:
        raise HttpError(400, str(error)) from None
    return paged(qs, filters, lambda contact: _contact_out(request.user, contact))


@router.get("/contacts/{contact_id}", response=ContactDetailOut, summary="One contact")
def get_contact(request: HttpRequest, contact_id: int) -> dict[str, Any]:
    """A contact with its call (times, outcome, recording) and the cases it touched."""
    try:
        contact = selectors.contact_for(user=request.user, pk=contact_id)
    except Contact.DoesNotExist:
        raise HttpError(404, f"No contact {contact_id} that you may see.") from None
    call = _call_of(contact)
    return {
        **_contact_out(request.user, contact),
        "customer_id": contact.customer_id,
        "note": contact.note,
        "call": _call_out(request.user, call) if call is not None else None,
    }


@router.get("/agent-state", response=StateOut, summary="My agent state")
def get_state(request: HttpRequest) -> dict[str, Any]:
    """The caller's console state: available, on a call, after-call work, break, signed out."""
    return _state_out(selectors.own_state(user=request.user))


@router.put("/agent-state", response=StateOut, summary="Change my agent state")
def set_state(request: HttpRequest, payload: StateIn) -> dict[str, Any]:
    """The state buttons: available, after-call work (wrap_up), break, signed out (offline).
    "On a call" is set by call events only; while on a live call the answer is 409."""
    check(request.user, "console.use")
    if payload.status not in SETTABLE:
        raise HttpError(400, f"Unknown state {payload.status!r}; use one of {', '.join(SETTABLE)}.")
    try:
        state = services.agent_state_set(actor=request.user, status=payload.status)
    except services.TelephonyError as error:
        raise HttpError(409, error.message) from None
    return _state_out(state)


@router.get("/calls/waiting", response=list[CallOut], summary="Calls waiting")
def calls_waiting(request: HttpRequest) -> list[dict[str, Any]]:
    """Inbound calls ringing in the queue, longest waiting first."""
    calls = selectors.calls_waiting(user=request.user).select_related("agent")
    return [_call_out(request.user, c) for c in calls[:200]]
