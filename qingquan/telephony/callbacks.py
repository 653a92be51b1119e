"""Callback requests ("press 1 to be called back") worked by agents in the console.

An agent takes a waiting request (it is theirs from then on: nobody else can take it),
calls back through the platform (agents see callers' numbers masked, so the phone system
dials: `TELEPHONY_DIALER`), and records the outcome. No answer puts the request back in
the list until `TELEPHONY_CALLBACK_ATTEMPTS` tries were made. Every step is audited; a
repeated or late step (taking a request twice, an outcome for a request already done)
changes nothing and says why.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.staff.access import can
from qingquan.telephony.models import (
    Call,
    CallbackAttempt,
    CallbackOutcome,
    CallbackRequest,
    CallbackStatus,
    CallState,
    Direction,
)
from qingquan.telephony.services import (
    EventIn,
    NotPermitted,
    TelephonyError,
    _customer_of,
    call_event_handle,
)
from qingquan.tickets.models import Channel
from qingquan.tickets.services import contact_record

Dialer = Callable[..., None]


def dialer() -> Dialer | None:
    """The function placing outbound calls (`dial(*, call_id, extension, number)`), from
    the TELEPHONY_DIALER setting (a dotted path); None when no phone system dials."""
    path = str(getattr(settings, "TELEPHONY_DIALER", "") or "")
    return import_string(path) if path else None


def _mine(actor: Any, request_pk: int) -> CallbackRequest:
    if not can(actor, "console.use"):
        raise NotPermitted(_("Only agents and supervisors work callback requests."))
    found = CallbackRequest.objects.select_for_update().filter(pk=request_pk).first()
    if found is None:
        raise TelephonyError(_("This callback request does not exist."))
    return found


@transaction.atomic
def callback_take(*, actor: Any, request_pk: int) -> CallbackRequest:
    """Take a waiting callback request: it is the actor's from now on. Taking one already
    taken (by anyone, or done) is refused without changing it."""
    request = _mine(actor, request_pk)
    if request.status != CallbackStatus.OPEN:
        if request.assignee_id == actor.pk and request.status == CallbackStatus.TAKEN:
            return request  # the same click twice
        raise TelephonyError(_("Someone else took this callback request already."))
    now = clock.now()
    CallbackRequest.objects.filter(pk=request.pk).update(
        status=CallbackStatus.TAKEN, assignee=actor, taken_at=now
    )
    request.refresh_from_db()
    audit_record(
        actor=actor,
        action="telephony.callback.take",
        obj=request,
        after={"status": request.status},
    )
    return request


def _require_taken_by(actor: Any, request: CallbackRequest) -> None:
    if request.status == CallbackStatus.DONE:
        raise TelephonyError(_("This callback request is finished already."))
    if request.status != CallbackStatus.TAKEN or request.assignee_id != actor.pk:
        raise TelephonyError(_("Take the callback request first; it is not yours."))


@transaction.atomic
def callback_dial(*, actor: Any, request_pk: int) -> Call:
    """Call the requester back from the actor's extension through the phone system: an
    outbound call is recorded (its answer and hang-up arrive as call events, with the
    screen pop) and handed to the dialer."""
    request = _mine(actor, request_pk)
    _require_taken_by(actor, request)
    dial = dialer()
    if dial is None:
        raise TelephonyError(
            _("No phone system places outbound calls here (TELEPHONY_DIALER is not set).")
        )
    if not getattr(actor, "extension", ""):
        raise TelephonyError(_("You have no phone extension to call from."))
    live = (
        Call.objects.live().filter(agent=actor).exists()
        or Call.objects.filter(
            state=CallState.RINGING, extension=actor.extension, direction=Direction.OUTBOUND
        ).exists()
    )
    if live:
        raise TelephonyError(_("You are on a call already."))
    from qingquan.telephony.ivr import ivr_pbx

    call_id = f"cb-{request.pk}-{request.attempts + 1}-{secrets.token_hex(3)}"
    event = EventIn.model_validate(
        {
            "event_id": f"{call_id}-ring",
            "type": "ring",
            "call_id": call_id,
            "from": actor.extension,
            "to": request.number,
            "direction": "outbound",
            "queue": request.skill,
            "extension": actor.extension,
        }
    )
    call = call_event_handle(pbx=ivr_pbx(), event=event).call
    Call.objects.filter(pk=call.pk).update(agent=actor)
    audit_record(
        actor=actor, action="telephony.callback.dial", obj=request, after={"call": call_id}
    )
    number, extension = request.number, actor.extension
    transaction.on_commit(lambda: dial(call_id=call_id, extension=extension, number=number))
    return call


@transaction.atomic
def callback_finish(
    *, actor: Any, request_pk: int, outcome: str, note: str = ""
) -> CallbackRequest:
    """Record how the callback went: reached (done), wrong number (done) or no answer (back
    in the list, done after TELEPHONY_CALLBACK_ATTEMPTS tries). The contact is the
    outbound call's when the phone system reported it, else one recorded here."""
    request = _mine(actor, request_pk)
    _require_taken_by(actor, request)
    if outcome not in CallbackOutcome.values:
        raise TelephonyError(_("Choose reached, no answer or wrong number."))
    now = clock.now()
    attempts = request.attempts + 1
    last = (
        Call.objects.filter(call_id__startswith=f"cb-{request.pk}-", direction=Direction.OUTBOUND)
        .order_by("-rang_at", "-id")
        .first()
    )
    contact = last.contact if last is not None and last.contact_id else None
    if contact is None:
        contact = contact_record(
            actor=actor,
            channel=Channel.PHONE,
            from_address=request.number,
            started_at=now,
            ended_at=now,
            agent=actor,
            customer=_customer_of(request.number),
            note=_("Callback: %(outcome)s. %(note)s")
            % {"outcome": CallbackOutcome(outcome).label, "note": note.strip()[:300]},
        )
    retry = outcome == CallbackOutcome.NO_ANSWER and attempts < int(
        settings.TELEPHONY_CALLBACK_ATTEMPTS
    )
    CallbackRequest.objects.filter(pk=request.pk).update(
        attempts=attempts,
        outcome=outcome,
        contact=contact,
        status=CallbackStatus.OPEN if retry else CallbackStatus.DONE,
        assignee=None if retry else actor,
        done_at=None if retry else now,
    )
    request.refresh_from_db()
    CallbackAttempt.objects.create(request=request, agent=actor, outcome=outcome, at=now)
    audit_record(
        actor=actor,
        action="telephony.callback.finish",
        obj=request,
        after={"outcome": outcome, "attempts": attempts, "status": request.status},
    )
    return request
