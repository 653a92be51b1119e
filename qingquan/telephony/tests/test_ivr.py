"""The IVR engine with the fake driver: every branch of the standard flow, bad input, the
queue (longest-idle agent with the skill, position, callback offer, overflow), and the
agent's side (answer → screen pop, hang-up → contact outcome)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.core.models import CalendarDay
from qingquan.customers.models import Bill
from qingquan.customers.tests import factories as cf
from qingquan.telephony import flows, ivr, services
from qingquan.telephony.ivr import FakeDriver, Session
from qingquan.telephony.models import (
    AgentSkill,
    AgentState,
    AgentStatus,
    Call,
    CallbackRequest,
    CallOutcome,
    IvrFlow,
)
from qingquan.tickets.models import Contact

CALLER = "13800005678"
# A Wednesday, 10:00 in Shanghai.
OPEN = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
SATURDAY = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)


def session(keys: list[str | None], **kwargs: Any) -> tuple[Session, FakeDriver]:
    driver = FakeDriver(
        keys=keys, **{k: kwargs.pop(k) for k in ("gone_after", "transfer_ok") if k in kwargs}
    )
    kwargs.setdefault("now", lambda: OPEN)
    return Session(driver=driver, caller=CALLER, **kwargs), driver


def available(agent: Any, *, since: dt.datetime, skills: tuple[str, ...] = ()) -> Any:
    AgentState.objects.update_or_create(
        user=agent, defaults={"status": AgentStatus.AVAILABLE, "since": since}
    )
    for skill in skills:
        AgentSkill.objects.create(user=agent, skill=skill)
    return agent


@pytest.fixture
def account(db: Any) -> Any:
    acc = cf.account(cust=cf.customer(phones=(CALLER,)), number="33020012")
    Bill.objects.create(
        account=acc,
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        previous_reading=Decimal("100"),
        current_reading=Decimal("130"),
        volume=Decimal("30"),
        water_amount=Decimal("100.00"),
        sewage_amount=Decimal("28.50"),
        total=Decimal("128.50"),
        due_date=dt.date(2026, 12, 15),
        issued_at=OPEN,
    )
    return acc


@pytest.mark.django_db
def test_the_seeded_standard_flow_is_valid_and_versioned(
    supervisor: Any, standard_flow: Any
) -> None:
    flow = IvrFlow.objects.get(slug="standard")
    version = flow.current()
    assert version is not None and version.number == 1
    assert flows.graph_check(version.graph) == []
    changed = {**version.graph, "start": "main"}
    v2 = flows.flow_save(actor=supervisor, flow=flow, graph=changed, note="skip greeting")
    assert v2.number == 2 and v2.created_by == supervisor
    assert flows.active_graph()["start"] == "main"
    v3 = flows.flow_rollback(actor=supervisor, flow=flow, number=1)
    assert v3.number == 3 and v3.graph == version.graph and "1" in v3.note
    with pytest.raises(flows.FlowError) as error:
        flows.flow_save(
            actor=supervisor,
            flow=flow,
            graph={
                "start": "a",
                "nodes": {
                    "a": {"type": "menu", "prompt": "x", "options": {"x": "b"}, "fail": "zz"}
                },
            },
        )
    text = str(error.value)
    assert len(error.value.problems) == 3 and "zz" in text and "b" in text
    assert flows.graph_check({"start": "a", "nodes": {"a": {"type": "dance"}}})
    assert flows.graph_check([]) and flow.versions.count() == 3


@pytest.mark.django_db
def test_bill_self_service_speaks_amount_and_due_date(account: Any) -> None:
    s, driver = session(["1", "33020012#", None])
    result = s.run()
    assert result.ending == "self_service"
    played = " ".join(driver.played)
    assert "一百二十八元五角" in played and "二零二六年十二月十五日" in played
    assert "三三零二零零一二" in played  # the account read digit by digit
    call = Call.objects.get()
    assert call.outcome == CallOutcome.SELF_SERVICE and call.state == "ended"
    assert "bill:ok" in call.ivr_trace and call.line == "1"
    contact = Contact.objects.get()
    assert contact.outcome == "" and "bill_account" in contact.note and contact.ended_at
    assert call.contact == contact and call.recording_ref.startswith("fake:")


@pytest.mark.django_db
def test_an_account_without_debt_is_told_so(account: Any) -> None:
    Bill.objects.update(status="paid")
    s, driver = session(["1", "33020012#", None])
    s.run()
    assert any("没有欠费" in text for text in driver.played)


@pytest.mark.django_db
def test_bill_then_agent_pops_the_screen_and_ends_answered(
    account: Any, make_user: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    pushed: list[tuple[int, dict[str, Any]]] = []
    monkeypatch.setattr(
        services, "push_to_user", lambda *, user_id, event: pushed.append((user_id, event))
    )
    agent = available(make_user("agent", extension="8001"), since=OPEN, skills=("billing",))
    s, driver = session(["1", "33020012#", "0"])
    result = s.run()
    assert result.ending == "transferred" and result.agent == agent
    assert ("transfer", "8001") in driver.log and ("hangup", "") not in driver.log
    call = Call.objects.get()
    assert call.state == "ringing" and call.extension == "8001" and call.queue == "billing"
    with django_capture_on_commit_callbacks(execute=True):
        ivr.seat_answered(extension="8001", at=OPEN + dt.timedelta(seconds=40))
    call.refresh_from_db()
    assert call.state == "answered" and call.agent == agent and call.wait_seconds == 40
    assert (
        agent.pk,
        {"kind": "screen_pop", "call_id": call.pk, "url": f"/console/calls/{call.pk}/"},
    ) in pushed
    ivr.seat_ended(extension="8001", recording="rec/c.wav", at=OPEN + dt.timedelta(seconds=100))
    ivr.seat_ended(extension="8001", recording="rec/c.wav")  # repeated: changes nothing
    call.refresh_from_db()
    assert call.outcome == CallOutcome.ANSWERED and call.talk_seconds == 60
    contact = Contact.objects.get()
    assert contact.outcome == "answered" and contact.recording_ref == "rec/c.wav"
    assert AgentState.objects.get(user=agent).status == AgentStatus.WRAP_UP


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("keys", "queue"),
    [
        ([None, None, None], "general"),  # presses nothing three times
        (["7", "8", "#"], "general"),  # wrong keys three times
        (["1", "12", "", "x"], "billing"),  # account too short / nothing / not digits
        (["1", "999999#", "888888#", "777777#"], "billing"),  # unknown account 3×
    ],
)
def test_bad_input_three_times_goes_to_an_agent(
    account: Any, make_user: Any, keys: list[str | None], queue: str
) -> None:
    agent = available(make_user("agent", extension="8002"), since=OPEN)
    s, driver = session(keys)
    result = s.run()
    assert result.ending == "transferred" and result.agent == agent
    assert Call.objects.get().queue == queue
    assert sum(1 for t in driver.played if "有误" in t or "没有找到" in t) >= 2


@pytest.mark.django_db
def test_menu_routes_each_kind_to_its_queue(make_user: Any) -> None:
    available(make_user("agent", extension="8003"), since=OPEN)
    for key, queue in {"2": "repair", "4": "complaint", "0": "general", "3": "connection"}.items():
        Call.objects.all().update(state="ended")
        s, _driver = session([key])
        assert s.run().ending == "transferred"
        assert Call.objects.get(call_id=s.call_id).queue == queue


@pytest.mark.django_db
def test_after_hours_and_holidays_the_business_office_is_closed(make_user: Any) -> None:
    available(make_user("agent", extension="8004"), since=OPEN)
    s, driver = session(["3", "2"], now=lambda: SATURDAY)
    s.run()
    assert any("非工作时间" in t for t in driver.played)
    assert Call.objects.get(call_id=s.call_id).queue == "repair"
    # A weekday made a holiday in the calendar is closed too; a worked Saturday is open.
    CalendarDay.objects.update_or_create(date=OPEN.date(), defaults={"is_working_day": False})
    assert not ivr.is_open(OPEN)
    CalendarDay.objects.update_or_create(date=SATURDAY.date(), defaults={"is_working_day": True})
    assert ivr.is_open(SATURDAY)
    assert not ivr.is_open(OPEN.replace(hour=12))  # 20:00 in Shanghai


@pytest.mark.django_db
def test_longest_idle_agent_with_the_skill_gets_the_call(make_user: Any) -> None:
    repair_new = available(make_user("agent", extension="8011"), since=OPEN, skills=("repair",))
    repair_old = available(
        make_user("agent", extension="8012"),
        since=OPEN - dt.timedelta(minutes=9),
        skills=("repair",),
    )
    billing = available(
        make_user("agent", extension="8013"),
        since=OPEN - dt.timedelta(hours=1),
        skills=("billing",),
    )
    generalist = available(make_user("agent", extension="8014"), since=OPEN - dt.timedelta(hours=2))
    assert ivr.pick_agent("repair") == generalist  # no listed skills: takes any queue
    AgentState.objects.filter(user=generalist).update(status=AgentStatus.BREAK)
    assert ivr.pick_agent("repair") == repair_old
    AgentState.objects.filter(user=repair_old).update(status=AgentStatus.WRAP_UP)
    assert ivr.pick_agent("repair") == repair_new
    assert ivr.pick_agent("billing") == billing
    AgentState.objects.filter(user=repair_new).update(status=AgentStatus.ON_CALL)
    assert ivr.pick_agent("repair") is None


@pytest.mark.django_db
def test_position_is_announced_and_a_failed_transfer_tries_the_next_agent(
    make_user: Any,
) -> None:
    waiting, _d = session([], gone_after=0)
    Call.objects.create(
        pbx=ivr.ivr_pbx(),
        call_id="earlier",
        queue="repair",
        rang_at=OPEN - dt.timedelta(seconds=30),
    )
    first = available(make_user("agent", extension="8021"), since=OPEN - dt.timedelta(hours=1))
    second = available(make_user("agent", extension="8022"), since=OPEN)
    s, driver = session(["2"], transfer_ok=False)
    result = s.run()
    assert any("前面还有一位" in t for t in driver.played)
    assert [t for k, t in driver.log if k == "transfer"][:2] == ["8021", "8022"]
    assert result.ending != "transferred"
    del waiting, first, second


@pytest.mark.django_db
def test_long_wait_offers_a_callback_that_creates_a_task(settings: Any) -> None:
    settings.TELEPHONY_EXPECTED_SECONDS_PER_CALLER = 600
    s, driver = session(["2", "1"])
    result = s.run()
    assert result.ending == "callback"
    request = CallbackRequest.objects.get()
    assert request.number == CALLER and request.skill == "repair" and request.status == "open"
    assert any("回电" in t for t in driver.played)
    call = Call.objects.get()
    assert call.outcome == CallOutcome.SELF_SERVICE
    assert Contact.objects.get().outcome == ""


@pytest.mark.django_db
def test_queue_overflows_after_the_maximum_wait(settings: Any) -> None:
    settings.TELEPHONY_QUEUE_MAX_WAIT = 10
    graph = flows.standard_graph()
    graph["nodes"]["q_repair"]["overflow"] = "bye"
    s, driver = session(["2", "9"], graph=graph)
    result = s.run()
    assert driver.waited == 10 and "q_repair:overflow" in s.trace
    assert result.ending == "hangup"
    assert Call.objects.get().outcome == CallOutcome.ABANDONED


@pytest.mark.django_db
def test_a_caller_who_drops_mid_ivr_leaves_a_contact_and_no_live_call(account: Any) -> None:
    s, _driver = session(["1"], gone_after=1)
    result = s.run()
    assert result.ending == "caller_gone"
    call = Call.objects.get()
    assert call.state == "ended" and call.outcome == CallOutcome.ABANDONED
    assert Call.objects.live().count() == 0
    assert Contact.objects.get().outcome == "abandoned"


@pytest.mark.django_db
def test_the_interruption_notice_is_played_first(settings: Any) -> None:
    settings.TELEPHONY_NOTICE_LOOKUP = "qingquan.telephony.tests.test_ivr.fake_notice"
    s, driver = session([None, None, None], gone_after=0)
    s.run()
    assert driver.played[1] == f"停水通知 {CALLER}"
    assert "notice:played" in s.trace


def fake_notice(*, phone: str, account: str) -> str:
    return f"停水通知 {phone}"


@pytest.mark.django_db
def test_without_the_notices_app_the_notice_step_is_silent(settings: Any) -> None:
    from qingquan.telephony import notices_port

    settings.TELEPHONY_NOTICE_LOOKUP = "no.such.module.lookup"
    assert notices_port.active_notice_message(phone=CALLER) == ""
    settings.TELEPHONY_NOTICE_LOOKUP = ""
    assert notices_port.active_notice_message(phone=CALLER) == ""


@pytest.mark.django_db
def test_a_blocked_number_is_rejected_without_the_ivr() -> None:
    services.blocked_number_add(actor=SYSTEM, number=CALLER, reason="骚扰")
    s, driver = session([])
    assert s.run().ending == "rejected"
    assert driver.log == [("hangup", "")]
    assert Call.objects.get().outcome == CallOutcome.REJECTED


@pytest.mark.django_db
def test_a_looping_flow_ends_at_an_agent(make_user: Any) -> None:
    agent = available(make_user("agent", extension="8031"), since=OPEN)
    graph = {
        "start": "a",
        "nodes": {
            "a": {"type": "play", "prompt": "greeting", "next": "a"},
            "q_general": {"type": "queue", "skill": "general", "overflow": "a"},
        },
    }
    s, _driver = session([], graph=graph)
    assert s.run().agent == agent


@pytest.mark.django_db
def test_a_fifth_caller_hears_busy_or_waits_for_an_agent(settings: Any, make_user: Any) -> None:
    pbx = ivr.ivr_pbx()
    for n in range(4):
        Call.objects.create(pbx=pbx, call_id=f"busy{n}", line=str(n + 1), rang_at=OPEN)
    s, driver = session([])
    assert s.run().ending == "busy"
    assert driver.log == [("hangup", "")]
    call = Call.objects.get(call_id=s.call_id)
    assert call.hangup_cause == "busy" and call.outcome == CallOutcome.ABANDONED
    settings.TELEPHONY_LINES_FULL = "wait"
    agent = available(make_user("agent", extension="8041"), since=OPEN)
    s, driver = session([])
    result = s.run()
    assert result.agent == agent and s.trace[:2] == ["lines_full:queue", "q_general"]
