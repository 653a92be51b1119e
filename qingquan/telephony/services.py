"""Writes about calls: the CTI-webhook event handler, PBX tokens, blocked numbers and agent
states. Every function is keyword-only, runs in one transaction, audits, and queues its
pushes (screen pops, wallboard refreshes) with transaction.on_commit."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qingquan.core import clock
from qingquan.core.access import AccessDenied
from qingquan.core.actors import require_actor, system
from qingquan.core.audit import audit_record
from qingquan.core.db import fastselect
from qingquan.core.notifications import push_to_user
from qingquan.customers import phones
from qingquan.staff.access import can
from qingquan.staff.models import User
from qingquan.staff.selectors import holders
from qingquan.telephony.models import (
    AgentState,
    AgentStatus,
    BlockedNumber,
    Call,
    CallEvent,
    CallOutcome,
    CallState,
    Direction,
    HangupCause,
    Pbx,
    token_digest,
)
from qingquan.tickets.models import Channel, Contact, ContactOutcome
from qingquan.tickets.services import contact_end, contact_record


class TelephonyError(Exception):
    """A request the telephony services refuse (shown as 400 with this message)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


class NotPermitted(TelephonyError, AccessDenied):
    """The platform's one access error, as a telephony error."""


# ---------------------------------------------------------------------------
# The event payload (PBX-agnostic CTI webhook)
# ---------------------------------------------------------------------------


class EventIn(BaseModel):
    """One call event. Field names follow the common CTI-webhook shape; `from` is aliased."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", str_strip_whitespace=True)

    event_id: str = Field(min_length=1, max_length=80)
    type: Literal["ring", "answer", "hangup"]
    call_id: str = Field(min_length=1, max_length=80)
    from_number: str = Field(default="", alias="from", max_length=40)
    to_number: str = Field(default="", alias="to", max_length=40)
    direction: Literal["inbound", "outbound"] = "inbound"
    queue: str = Field(default="", max_length=40)
    extension: str = Field(default="", max_length=10)
    cause: str = Field(default="", max_length=20)
    recording: str = Field(default="", max_length=200)
    at: dt.datetime | None = None

    @field_validator("cause")
    @classmethod
    def _known_cause(cls, value: str) -> str:
        value = value.lower().replace("-", "_").replace(" ", "_")
        if value and value not in HangupCause.values:
            raise ValueError(f"unknown hangup cause {value!r}; use one of {HangupCause.values}")
        return value

    @field_validator("at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give `at` with a time zone, e.g. 2026-11-28T09:00:00+08:00")
        return value


def parse_event(data: Any) -> EventIn:
    """Validate a decoded JSON body; TelephonyError with a readable message if it is wrong."""
    if not isinstance(data, dict):
        raise TelephonyError(_("The body must be a JSON object."))
    try:
        event = EventIn.model_validate(data)
    except ValidationError as error:
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        ]
        raise TelephonyError(
            _("Bad call event: %(errors)s") % {"errors": "; ".join(parts)}
        ) from None
    if event.type == "answer" and not event.extension:
        raise TelephonyError(_("Bad call event: an answer needs the agent's extension."))
    return event


# ---------------------------------------------------------------------------
# PBXs and blocked numbers
# ---------------------------------------------------------------------------


@transaction.atomic
def pbx_create(*, actor: Any, name: str, token: str = "") -> tuple[Pbx, str]:
    """Register a phone system; returns it with its token (shown once, stored hashed)."""
    name = (name or "").strip()
    if not name:
        raise TelephonyError(_("A phone system needs a name."))
    token = token or secrets.token_urlsafe(32)
    if len(token) < 16:
        raise TelephonyError(_("A PBX token must be at least 16 characters long."))
    try:
        with transaction.atomic():
            pbx = Pbx.objects.create(
                name=name[:80], token_hash=token_digest(token), created_at=clock.now()
            )
    except IntegrityError:
        raise TelephonyError(_("A phone system with this name or token exists.")) from None
    audit_record(actor=actor, action="telephony.pbx.create", obj=pbx, after={"name": pbx.name})
    return pbx, token


def pbx_authenticate(token: str) -> Pbx | None:
    """The active phone system holding `token`, or None."""
    if not token:
        return None
    # Every phone event asks this: a precompiled statement (core.db.fastselect).
    found = fastselect.rows(Pbx, token_hash=token_digest(token), active=True)
    return found[0] if found else None


def _national(number: str) -> str:
    parsed = phones.try_normalise(number or "")
    return parsed[1] if parsed else phones.clean_input(number or "")


@transaction.atomic
def blocked_number_add(*, actor: Any, number: str, reason: str) -> BlockedNumber:
    """Block a number: the PBX is told to reject its calls from now on."""
    digits = _national(number)
    if not digits:
        raise TelephonyError(_("Give the number to block."))
    if not (reason or "").strip():
        raise TelephonyError(_("Say why the number is blocked."))
    blocked, _created = BlockedNumber.objects.update_or_create(
        number=digits,
        defaults={
            "reason": reason.strip()[:200],
            "active": True,
            "created_at": clock.now(),
            "created_by": actor if getattr(actor, "is_authenticated", False) else None,
        },
    )
    audit_record(actor=actor, action="telephony.block", obj=blocked, after={"number": digits})
    return blocked


@transaction.atomic
def blocked_number_remove(*, actor: Any, blocked: BlockedNumber) -> BlockedNumber:
    """Lift a block: the number's calls reach the queue again."""
    BlockedNumber.objects.filter(pk=blocked.pk).update(active=False)
    blocked.refresh_from_db()
    audit_record(actor=actor, action="telephony.unblock", obj=blocked, after={"active": False})
    return blocked


def is_blocked(number: str) -> bool:
    digits = _national(number)
    return (
        bool(digits) and fastselect.first_id(BlockedNumber, number=digits, active=True) is not None
    )


# ---------------------------------------------------------------------------
# Live pushes
# ---------------------------------------------------------------------------


def wallboard_watchers() -> list[int]:
    """Ids of the active staff who may see the wallboard (they get refresh pushes); read
    through the holders' cache, not by loading every staff member at every phone event."""
    return holders("wallboard.view")


def _push_wallboard() -> None:
    event = {"kind": "wallboard"}
    for user_id in wallboard_watchers():
        push_to_user(user_id=user_id, event=event)


def pop_url(call: Call) -> str:
    return reverse("console:pop", kwargs={"call_id": call.pk})


# ---------------------------------------------------------------------------
# Agent states
# ---------------------------------------------------------------------------


def _set_state(user: Any, status: str, *, now: dt.datetime, call: Call | None = None) -> None:
    state, _created = AgentState.objects.select_for_update().get_or_create(
        user=user, defaults={"status": status, "since": now, "call": call}
    )
    if state.status != status or state.call_id != (call.pk if call else None):
        AgentState.objects.filter(pk=state.pk).update(status=status, since=now, call=call)


@transaction.atomic
def agent_state_set(*, actor: Any, status: str) -> AgentState:
    """An agent's own state button: available, after-call work, break or signed out.

    "On a call" is set only by call events; a button cannot leave a live call.
    """
    if not can(require_actor(actor), "console.use"):
        raise NotPermitted(_("Only agents and supervisors have a console state."))
    if status not in AgentStatus.values or status == AgentStatus.ON_CALL:
        raise TelephonyError(_("Choose available, after-call work, break or signed out."))
    now = clock.now()
    current = AgentState.objects.select_for_update().filter(user=actor).first()
    if current is not None and current.status == AgentStatus.ON_CALL and current.call_id:
        live = Call.objects.filter(id=current.call_id, state=CallState.ANSWERED).exists()
        if live:
            raise TelephonyError(_("You are on a call; the state changes when it ends."))
    before = current.status if current else ""
    _set_state(actor, status, now=now)
    state = AgentState.objects.get(user=actor)
    audit_record(
        actor=actor,
        action="telephony.agent_state",
        obj=state,
        before={"status": before},
        after={"status": status},
    )
    transaction.on_commit(_push_wallboard, robust=True)
    return state


# ---------------------------------------------------------------------------
# The event handler
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventResult:
    reply: dict[str, Any]
    call: Call
    duplicate: bool = False


def _agent_for(extension: str) -> User | None:
    if not extension:
        return None
    found = fastselect.rows(User, extension=extension, is_active=True)
    return found[0] if found else None


def _agent_of(call: Call) -> User | None:
    """The call's agent: the call is read without it (`_call_for`), and a hang-up needs
    it, found with a precompiled statement and kept on the call."""
    if call.agent_id is None:
        return None
    if not Call.agent.is_cached(call):
        found = fastselect.rows(User, id=call.agent_id)
        call.agent = found[0] if found else None
    return call.agent


def _call_for(pbx: Pbx, event: EventIn, at: dt.datetime) -> Call:
    """The call `event` belongs to. A ring after the end of the call that had its id is a
    new call (phone systems reuse SIP Call-IDs): it gets its own record and contact. Any
    other late event of an ended call, and a ring dated before its end, belong to it and
    change nothing there."""
    # Nearly always none or one row; several only when the phone system reused the id.
    # Every event asks this, with a precompiled statement (core.db.fastselect).
    found: list[Call] = fastselect.rows(Call, lock=True, pbx=pbx.pk, call_id=event.call_id)
    call = next((c for c in found if c.state != CallState.ENDED), found[0] if found else None)
    reused = (
        call is not None
        and event.type == "ring"
        and call.state == CallState.ENDED
        and call.ended_at is not None
        and at > call.ended_at
    )
    if call is not None and not reused:
        return call
    try:
        with transaction.atomic():
            return Call.objects.create(
                pbx=pbx,
                call_id=event.call_id,
                direction=event.direction,
                from_number=phones.clean_input(event.from_number),
                to_number=phones.clean_input(event.to_number),
                queue=event.queue,
                rang_at=at,
            )
    except IntegrityError:  # the same call's other event won the race
        calls = Call.objects.select_for_update().filter(pbx=pbx, call_id=event.call_id)
        return calls.exclude(state=CallState.ENDED).get()


def _customer_of(number: str) -> Any:
    from qingquan.customers.models import CustomerPhone

    digits = _national(number)
    if not digits:
        return None
    phone = fastselect.rows(CustomerPhone, national_digits=digits)
    return phone[0].customer if phone else None


def _update(call: Call, **fields: Any) -> None:
    """Write `fields` of the call (locked by `_call_for`) and keep the instance in step:
    the event's audit row and answer read it without reading the call again."""
    Call.objects.filter(pk=call.pk).update(**fields)
    for name, value in fields.items():
        setattr(call, name, value)


def _ring(call: Call, event: EventIn) -> dict[str, Any]:
    if call.direction == Direction.INBOUND and is_blocked(call.from_number):
        now = call.ended_at or clock.now()
        _update(
            call,
            state=CallState.ENDED,
            outcome=CallOutcome.REJECTED,
            ended_at=now,
            hangup_cause=HangupCause.REJECTED,
        )
        return {"action": "reject", "reason": "blocked"}
    if event.extension and call.state == CallState.RINGING and not call.extension:
        # The PBX offers the call to one agent: their console shows it ringing.
        _update(call, extension=event.extension)
    return {"action": "continue"}


def _end_stale_calls(agent: User, call: Call, at: dt.datetime) -> None:
    """An agent answering ``call`` is no longer on any other: a call of theirs still marked
    answered lost its hangup event. End it now (cause "failed", audited) so the console,
    the agent's state and the wallboard agree and the old caller does not pop again."""
    stale = fastselect.rows(Call, lock=True, agent=agent.pk, state=CallState.ANSWERED)
    for old in (c for c in stale if c.pk != call.pk):
        missing = EventIn(event_id="implicit", type="hangup", call_id=old.call_id, cause="failed")
        _hangup(old, missing, at)
        audit_record(
            actor=system("telephony"),
            action="telephony.call.hangup",
            obj=old,
            after={"state": CallState.ENDED, "cause": HangupCause.FAILED},
            note="no hangup event before the agent's next call",
        )


def _answer(call: Call, event: EventIn, at: dt.datetime) -> dict[str, Any]:
    if call.state == CallState.ENDED:
        return {"action": "continue", "note": "call already ended"}
    agent = _agent_for(event.extension)
    updates: dict[str, Any] = {
        "state": CallState.ANSWERED,
        "answered_at": call.answered_at or max(at, call.rang_at),  # never before its ring
        "extension": event.extension,
        "agent": agent,
    }
    if event.queue and not call.queue:
        updates["queue"] = event.queue
    _update(call, **updates)
    if call.contact_id is None:
        contact = contact_record(
            actor=agent,
            channel=Channel.PHONE,
            from_address=call.from_number,
            started_at=call.answered_at,
            agent=agent,
            customer=_customer_of(call.from_number),
            note=_("Call %(id)s, waited %(wait)s s")
            % {"id": call.call_id, "wait": call.wait_seconds},
        )
        _update(call, contact=contact)
    if agent is None:
        return {"action": "continue", "note": f"no agent with extension {event.extension}"}
    _end_stale_calls(agent, call, at)
    _set_state(agent, AgentStatus.ON_CALL, now=at, call=call)
    pop = {"kind": "screen_pop", "call_id": call.pk, "url": pop_url(call)}
    agent_id = agent.pk
    transaction.on_commit(lambda: push_to_user(user_id=agent_id, event=pop), robust=True)
    return {"action": "continue", "agent": agent.username}


def _hangup(call: Call, event: EventIn, at: dt.datetime) -> dict[str, Any]:
    if call.state == CallState.ENDED:
        return {"action": "continue", "note": "call already ended"}
    answered = call.answered_at is not None
    cause = event.cause or (HangupCause.NORMAL if answered else HangupCause.CANCEL)
    ended_at = max(at, call.answered_at or call.rang_at)
    served = not answered and ivr_self_served(call)
    outcome = CallOutcome.ANSWERED if answered else CallOutcome.ABANDONED
    _update(
        call,
        state=CallState.ENDED,
        outcome=CallOutcome.SELF_SERVICE if served else outcome,
        ended_at=ended_at,
        hangup_cause=cause,
        recording_ref=event.recording or call.recording_ref,
    )
    if answered and call.contact_id:
        contact_end(
            actor=_agent_of(call),
            contact=Contact(pk=call.contact_id),
            ended_at=ended_at,
            talk_seconds=call.talk_seconds,
            wait_seconds=call.wait_seconds,
            outcome=ContactOutcome.ANSWERED,
            recording_ref=event.recording or call.recording_ref,
        )
    elif served:
        contact = contact_record(
            actor=system("telephony"),
            channel=Channel.PHONE,
            from_address=call.from_number,
            started_at=call.rang_at,
            ended_at=ended_at,
            customer=_customer_of(call.from_number),
            note=_("Served by the IVR (%(path)s)")
            % {"path": " → ".join(n for n in call.ivr_trace if ":" not in n)[:300]},
            recording_ref=event.recording or call.recording_ref,
        )
        _update(call, contact=contact)
    elif not answered and call.direction == Direction.INBOUND:
        contact = contact_record(
            actor=system("telephony"),
            channel=Channel.PHONE,
            from_address=call.from_number,
            started_at=call.rang_at,
            ended_at=ended_at,
            customer=_customer_of(call.from_number),
            note=_("Abandoned after %(wait)s s waiting (%(cause)s)")
            % {"wait": call.wait_seconds, "cause": cause},
            wait_seconds=call.wait_seconds,
            outcome=ContactOutcome.ABANDONED,
        )
        _update(call, contact=contact)
    if call.agent_id:
        found = fastselect.rows(AgentState, user=call.agent_id, call=call.pk)
        state = found[0] if found else None
        if state is not None and state.status == AgentStatus.ON_CALL:
            _set_state(_agent_of(call), AgentStatus.WRAP_UP, now=ended_at, call=call)
    return {"action": "continue"}


def ivr_self_served(call: Call) -> bool:
    """Whether the caller got what they called for in the IVR (a bill read out, a callback
    requested) before hanging up without an agent."""
    return bool(call.line) and any(
        step.endswith((":ok", ":requested")) for step in call.ivr_trace or []
    )


@transaction.atomic
def call_event_handle(*, pbx: Pbx, event: EventIn) -> EventResult:
    """Apply one call event from `pbx`; a repeated event id changes nothing and gets the
    first reply again. Ring checks blocked numbers ({"action": "reject"}); answer records
    the contact, puts the agent on the call and pushes a screen pop to them; hangup records
    the outcome (answered or abandoned), waiting and talk time, and the recording."""
    found = fastselect.rows(CallEvent, pbx=pbx.pk, event_id=event.event_id)
    previous = found[0] if found else None
    if previous is not None:
        return EventResult(reply=previous.reply, call=previous.call, duplicate=True)
    at = event.at or clock.now()
    call = _call_for(pbx, event, at)
    if event.type == "ring":
        reply = _ring(call, event)
    elif event.type == "answer":
        reply = _answer(call, event, at)
    else:
        reply = _hangup(call, event, at)
    reply = {**reply, "call": call.call_id}
    try:
        with transaction.atomic():
            CallEvent.objects.create(
                pbx=pbx,
                event_id=event.event_id,
                call=call,
                kind=event.type,
                received_at=clock.now(),
                payload=event.model_dump(mode="json", by_alias=True),
                reply=reply,
            )
    except IntegrityError:
        # The same event arrived twice at once: the other delivery applied it.
        transaction.set_rollback(True)
        first = CallEvent.objects.get(pbx=pbx, event_id=event.event_id)
        return EventResult(reply=first.reply, call=first.call, duplicate=True)
    audit_record(
        actor=system("telephony"),
        action=f"telephony.call.{event.type}",
        obj=call,
        after={"event": event.event_id, "state": call.state, "outcome": call.outcome},
        note=pbx.name,
    )
    transaction.on_commit(_push_wallboard, robust=True)
    return EventResult(reply=reply, call=call)


def recording_listened(*, actor: Any, contact: Contact, download: bool = False) -> None:
    """Who listened to (or downloaded) which call recording, and when: the audit log."""
    audit_record(
        actor=actor,
        action="telephony.recording.download" if download else "telephony.recording.listen",
        obj=contact,
        after={"recording": contact.recording_ref},
    )
