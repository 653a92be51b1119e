"""The agent's side of an IVR transfer: their endpoint (a seat) answered, hung up, or
refused the call the queue offered them (the CTI "answer" and "hangup" events).

A seat that ends a call it never answered refused the offer (busy, rejected, no answer).
While the IVR line still holds the caller (:func:`holding`, around the transfer), that is
not the caller's hang-up: the offer is withdrawn, so the agent is no longer shown ringing
and keeps the state they had, and the queue offers the next agent or keeps the caller
waiting. Once the line has let the caller go (a blind transfer), the refused call ends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator

from qingquan.core import clock
from qingquan.telephony.models import Call, CallState
from qingquan.telephony.services import EventIn, call_event_handle

_held: set[int] = set()  # calls whose caller an IVR line of this process still holds
_lock = threading.Lock()


@contextlib.contextmanager
def holding(call_pk: int) -> Iterator[None]:
    """The IVR line keeps the caller of `call_pk` while an agent is being reached."""
    with _lock:
        _held.add(call_pk)
    try:
        yield
    finally:
        with _lock:
            _held.discard(call_pk)


def _offered_call(extension: str, states: tuple[str, ...]) -> Call | None:
    from qingquan.telephony.ivr import ivr_pbx

    return (
        Call.objects.filter(pbx=ivr_pbx(), extension=extension, state__in=states)
        .order_by("-rang_at", "-id")
        .first()
    )


def seat_answered(*, extension: str, at: dt.datetime | None = None) -> Call | None:
    """The agent at `extension` answered the call the IVR gave them: the contact starts
    and their console pops the caller's screen (the CTI "answer" event)."""
    from qingquan.telephony.ivr import ivr_pbx

    call = _offered_call(extension, (CallState.RINGING,))
    if call is None:
        return None
    event = EventIn(
        event_id=f"{call.call_id}-{call.pk}-answer-{extension}",
        type="answer",
        call_id=call.call_id,
        extension=extension,
        queue=call.queue,
        at=at or clock.now(),
    )
    return call_event_handle(pbx=ivr_pbx(), event=event).call


def seat_ended(
    *, extension: str, recording: str = "", at: dt.datetime | None = None
) -> Call | None:
    """The transferred call at `extension` ended (the CTI "hangup" event), or the seat
    refused the offer while the IVR still holds the caller: then the offer is withdrawn."""
    from qingquan.telephony.ivr import ivr_pbx

    call = _offered_call(extension, (CallState.RINGING, CallState.ANSWERED))
    if call is None:
        return None
    with _lock:
        held = call.pk in _held
    if held and call.state == CallState.RINGING:
        return _offer_withdraw(call, extension)
    event = EventIn(
        event_id=f"{call.call_id}-{call.pk}-hangup-{extension}",
        type="hangup",
        call_id=call.call_id,
        recording=recording,
        at=at or clock.now(),
    )
    return call_event_handle(pbx=ivr_pbx(), event=event).call


def _offer_withdraw(call: Call, extension: str) -> Call:
    # Only this offer: the line may already have offered the caller to someone else.
    Call.objects.filter(pk=call.pk, extension=extension, state=CallState.RINGING).update(
        extension=""
    )
    call.refresh_from_db()
    return call
