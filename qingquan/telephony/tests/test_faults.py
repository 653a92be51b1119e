"""Faults: an IVR line (or the SIP stack) down sends callers straight to the agents' queue
and shows on the wallboard; repeated or out-of-order reports and events change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from qingquan.core.models import AuditEvent
from qingquan.staff.roles import Role
from qingquan.telephony import health, services
from qingquan.telephony.ivr import FakeDriver, Session, ivr_pbx
from qingquan.telephony.models import AgentState, AgentStatus, Call, CallEvent, LineHealth
from qingquan.tickets.models import Contact

OPEN = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
CALLER = "13800005678"


def _session(driver: FakeDriver, line: str = "line1") -> Session:
    return Session(driver=driver, caller=CALLER, line=line, now=lambda: OPEN)


@pytest.mark.django_db
def test_a_driver_reporting_its_media_down_sends_the_caller_to_the_agents_queue(
    make_user: Any, standard_flow: Any
) -> None:
    agent = make_user(Role.AGENT, extension="8001")
    AgentState.objects.create(user=agent, status=AgentStatus.AVAILABLE, since=OPEN)
    driver = FakeDriver(keys=["1"], line_up=False)
    result = _session(driver).run()
    assert result.ending == "transferred" and result.agent == agent
    assert "line_down:queue" in _session_trace()
    assert not any("欢迎" in text for text in driver.played)  # no greeting, no menu
    assert LineHealth.objects.get(line="line1").up is False
    assert AuditEvent.objects.filter(action="telephony.line.down").count() == 1


def _session_trace() -> list[str]:
    return list(Call.objects.get().ivr_trace)


@pytest.mark.django_db
def test_a_line_reported_down_skips_the_ivr_until_it_is_up(standard_flow: Any) -> None:
    health.line_health_report(line="line2", up=False, detail="baresip process ended")
    s = _session(FakeDriver(keys=[]), line="line2")
    s.run()
    assert s.trace[0] == "line_down:queue"
    health.line_health_report(line="line2", up=True)
    s2 = _session(FakeDriver(keys=["1"], gone_after=1), line="line2")
    s2.run()
    assert "line_down:queue" not in s2.trace
    # The whole stack down ("*") affects every line.
    health.line_health_report(line="*", up=False)
    assert health.line_is_down("line3")


@pytest.mark.django_db
def test_repeated_and_out_of_order_health_reports_change_nothing() -> None:
    health.line_health_report(line="line1", up=True, at=OPEN)
    health.line_health_report(line="line1", up=False, at=OPEN + dt.timedelta(seconds=10))
    health.line_health_report(line="line1", up=False, at=OPEN + dt.timedelta(seconds=15))
    # A report from before the last one arrives late: ignored.
    health.line_health_report(line="line1", up=True, at=OPEN + dt.timedelta(seconds=5))
    row = LineHealth.objects.get(line="line1")
    assert row.up is False and row.since == OPEN + dt.timedelta(seconds=10)
    assert AuditEvent.objects.filter(action="telephony.line.down").count() == 1
    assert AuditEvent.objects.filter(action="telephony.line.up").count() == 0


@pytest.mark.django_db
def test_a_silent_line_is_a_fault(settings: Any) -> None:
    settings.TELEPHONY_LINE_HEARTBEAT_SECONDS = 30
    health.line_health_report(line="line1", up=True, at=OPEN)
    assert health.line_faults(now=OPEN + dt.timedelta(seconds=20)) == []
    faults = health.line_faults(now=OPEN + dt.timedelta(seconds=31))
    assert [(f.line, f.silent) for f in faults] == [("line1", True)]


@pytest.mark.django_db
def test_the_wallboard_shows_the_fault(supervisor: Any) -> None:
    client = Client()
    client.force_login(supervisor)
    assert 'data-testid="line-faults"' not in client.get("/console/wallboard/").content.decode()
    health.line_health_report(line="line3", up=False, detail="control connection closed")
    page = client.get("/console/wallboard/").content.decode()
    assert 'data-testid="line-faults"' in page and "line3" in page
    assert "control connection closed" in page


def _event(kind: str, second: int, **extra: Any) -> services.EventIn:
    return services.EventIn.model_validate(
        {
            "event_id": f"x-{kind}-{second}",
            "type": kind,
            "call_id": "c-ooo",
            "from": CALLER,
            "at": OPEN + dt.timedelta(seconds=second),
            **extra,
        }
    )


@pytest.mark.django_db
def test_out_of_order_call_events_change_nothing(make_user: Any) -> None:
    make_user(Role.AGENT, extension="8002")
    pbx = ivr_pbx()
    services.call_event_handle(pbx=pbx, event=_event("ring", 0))
    services.call_event_handle(pbx=pbx, event=_event("answer", 5, extension="8002"))
    services.call_event_handle(pbx=pbx, event=_event("hangup", 65))
    before = Call.objects.values().get()
    # Late arrivals after the hang-up: a second answer, a ring, an earlier hang-up.
    services.call_event_handle(pbx=pbx, event=_event("answer", 7, extension="8002"))
    services.call_event_handle(pbx=pbx, event=_event("ring", 1))
    services.call_event_handle(pbx=pbx, event=_event("hangup", 30))
    assert Call.objects.values().get() == before
    assert Contact.objects.count() == 1 and Contact.objects.get().duration_seconds == 60
    assert Call.objects.live().count() == 0
    assert CallEvent.objects.count() == 6
    # A hang-up before its ring (events crossing): the call ends, the ring changes nothing.
    services.call_event_handle(pbx=pbx, event=_event("hangup", 100, call_id="c2"))
    services.call_event_handle(pbx=pbx, event=_event("ring", 90, call_id="c2"))
    assert Call.objects.get(call_id="c2").state == "ended"
    assert Call.objects.live().count() == 0
