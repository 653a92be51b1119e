"""A phone system reusing a call id (a SIP Call-ID, baresip's call `id`) for a later call:
the new call gets its own Call and contact; true repeats and late events of the ended call
still change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.telephony import services
from qingquan.telephony.ivr import FakeDriver, Session
from qingquan.telephony.models import Call, CallOutcome, CallState

T0 = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)  # a Wednesday, 10:00 in Shanghai


def _event(kind: str, event_id: str, at: dt.datetime, **extra: Any) -> services.EventIn:
    return services.EventIn.model_validate(
        {"event_id": event_id, "type": kind, "call_id": "sip-5a4148a3", "at": at}
        | {"from": "13800005678", "to": "96390"}
        | extra
    )


def _clock(moment: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: moment


@pytest.mark.django_db
def test_a_ring_after_the_end_is_a_new_call_and_late_events_change_nothing() -> None:
    pbx = services.pbx_create(actor=SYSTEM, name="PBX-R", token="reuse-token-0123456789")[0]
    handle = services.call_event_handle
    handle(pbx=pbx, event=_event("ring", "r1", T0))
    handle(pbx=pbx, event=_event("hangup", "h1", T0 + dt.timedelta(seconds=20)))
    first = Call.objects.get()
    assert first.state == CallState.ENDED and first.outcome == CallOutcome.ABANDONED

    # The same hang-up again, and a ring of that call arriving late: nothing changes.
    again = handle(pbx=pbx, event=_event("hangup", "h1", T0 + dt.timedelta(seconds=20)))
    late = handle(pbx=pbx, event=_event("ring", "r1-late", T0 + dt.timedelta(seconds=1)))
    assert again.duplicate and late.call == first and Call.objects.count() == 1

    # Five minutes later the phone system rings with the same call id: a new call.
    second = handle(pbx=pbx, event=_event("ring", "r2", T0 + dt.timedelta(minutes=5))).call
    assert second.pk != first.pk and second.state == CallState.RINGING
    handle(pbx=pbx, event=_event("hangup", "h2", T0 + dt.timedelta(minutes=6)))
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.state == CallState.ENDED and second.contact is not None
    assert first.contact is not None and second.contact.pk != first.contact.pk
    assert first.ended_at == T0 + dt.timedelta(seconds=20)


@pytest.mark.django_db
def test_an_ivr_call_reusing_a_sip_call_id_gets_its_own_call(standard_flow: Any) -> None:
    for minutes in (0, 10):
        Session(
            driver=FakeDriver(keys=[], gone_after=0),
            caller="13800005678",
            line="line1",
            call_id="sip-5a4148a3",  # baresip's id: the SIP Call-ID, reused by the carrier
            now=_clock(T0 + dt.timedelta(minutes=minutes)),
        ).run()
    first, second = Call.objects.order_by("rang_at")
    assert second.rang_at == T0 + dt.timedelta(minutes=10)
    assert first.outcome == second.outcome == CallOutcome.ABANDONED
    assert first.contact is not None and second.contact is not None
    assert first.contact.pk != second.contact.pk and second.ivr_trace[-1] == "caller_gone"


@pytest.mark.django_db
def test_every_event_finds_its_call_through_an_index_on_the_call_id() -> None:
    """A phone system's events find their call by id among every call it ever had (the
    live-call unique index serves only live calls; issue #12's look-ups that grow)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qingquan.core.tests.plans import finds_by, lookups

    pbx = services.pbx_create(actor=SYSTEM, name="PBX-I", token="index-token-0123456789")[0]
    with CaptureQueriesContext(connection) as captured:
        services.call_event_handle(pbx=pbx, event=_event("ring", "i1", T0))
        services.call_event_handle(
            pbx=pbx, event=_event("hangup", "i2", T0 + dt.timedelta(seconds=9))
        )
        services.call_event_handle(
            pbx=pbx, event=_event("hangup", "i3", T0 + dt.timedelta(seconds=10))
        )
    plans = lookups(captured, table="telephony_call", column="call_id")
    assert len(plans) >= 3
    for sql, plan in plans:
        assert finds_by(plan, "call_id"), (sql, plan)
