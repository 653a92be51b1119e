"""A phone event reads its call once: the call is found with one statement (a reused id
included) and kept in step with what the event writes, not read again for the audit row
and the answer (issue #12: every statement of a phone event is paid at every ring,
answer and hang-up of a cold-wave surge)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.staff.models import Role
from qingquan.telephony import services
from qingquan.telephony.models import Call, CallOutcome, CallState

T0 = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)


def _event(kind: str, n: int, **extra: Any) -> services.EventIn:
    return services.EventIn.model_validate(
        {"event_id": f"reads-{kind}-{n}", "call_id": f"reads-{n}", "type": kind,
         "from": "13800001234", "to": "96390", "at": T0 + dt.timedelta(seconds=n * 10), **extra}
    )  # fmt: skip


def _call_reads(pbx: Any, event: services.EventIn) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        result = services.call_event_handle(pbx=pbx, event=event)
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "telephony_call"' in q["sql"]
    ]
    return result, len(reads)


@pytest.mark.django_db
def test_each_event_reads_its_call_once_and_audits_what_it_wrote(make_user: Any) -> None:
    pbx = services.pbx_create(actor=SYSTEM, name="PBX-R", token="reads-token-0123456789")[0]
    make_user(Role.AGENT, extension="8123")

    rang, reads = _call_reads(pbx, _event("ring", 1))
    assert reads == 1 and rang.call.state == CallState.RINGING
    answered, reads = _call_reads(pbx, _event("answer", 1, extension="8123"))
    assert reads == 2  # its own, and the agent's calls left answered (none here)
    assert answered.call.state == CallState.ANSWERED and answered.call.contact is not None
    ended, reads = _call_reads(pbx, _event("hangup", 1))
    assert reads == 1

    stored = Call.objects.get(pk=ended.call.pk)
    assert (ended.call.state, ended.call.outcome) == (stored.state, stored.outcome)
    assert (stored.state, stored.outcome) == (CallState.ENDED, CallOutcome.ANSWERED)
    audits = AuditEvent.objects.filter(
        object_id=str(stored.pk), action__startswith="telephony.call."
    ).order_by("id")
    assert [(a.action, (a.after or {})["state"], (a.after or {})["outcome"]) for a in audits] == [
        ("telephony.call.ring", "ringing", ""),
        ("telephony.call.answer", "answered", ""),
        ("telephony.call.hangup", "ended", "answered"),
    ]


@pytest.mark.django_db
def test_the_event_path_compiles_no_telephony_query(make_user: Any, monkeypatch: Any) -> None:
    """The look-ups every phone event and every screen pop make (the phone system by its
    token, the event id seen before, the call, the agent at the extension, the agent's
    state, the call the pop opens) are precompiled statements (`core.db.fastselect`):
    compiling them cost more than running them, at every ring, answer and hang-up."""
    from django.test import Client

    from qingquan.core.tests.compiled import compiled_selects

    pbx, token = services.pbx_create(actor=SYSTEM, name="PBX-C", token="compile-token-0123456789")
    agent = make_user(Role.AGENT, extension="8124")
    services.call_event_handle(pbx=pbx, event=_event("ring", 7))  # the statements made once
    compiled = compiled_selects(monkeypatch)
    assert services.pbx_authenticate(token) == pbx
    for kind, extra in (("ring", {}), ("answer", {"extension": "8124"}), ("hangup", {})):
        services.call_event_handle(pbx=pbx, event=_event(kind, 8, **extra))
    looked_up = {"telephony.Pbx", "telephony.CallEvent", "telephony.Call", "staff.User"}
    assert not looked_up & set(compiled), compiled
    client = Client()
    client.force_login(agent)
    call = Call.objects.get(call_id="reads-8")
    compiled.clear()
    opened = client.get(f"/console/calls/{call.pk}/", HTTP_HX_REQUEST="true")

    assert opened.status_code == 200
    assert "telephony.Call" not in compiled
    monkeypatch.undo()
