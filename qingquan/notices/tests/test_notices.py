"""The notice lifecycle: drafts and their form errors, the lead-time rule on the calendar
and working-day clocks, approval, versions with frozen recipients, counts and critical
customers, updates, restoration, the hotline's "已告知停水" and the IVR lookup."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from qingquan.core import clock
from qingquan.core.models import AuditEvent
from qingquan.messaging.models import Message
from qingquan.notices import rules, selectors, services
from qingquan.notices.models import NoticeRecipient, NoticeStatus, NoticeVersion
from qingquan.notices.tests.conftest import when
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


def _errors(exc: ValidationError) -> dict:
    return exc.message_dict


def test_a_notice_without_an_area_or_ending_before_it_starts_is_refused(town, supervisor):
    with pytest.raises(ValidationError) as exc:
        services.notice_create(
            actor=supervisor,
            kind="planned",
            title="t",
            area_source="streets",
            area={},
            starts_at=when(48),
            expected_end_at=when(47),
            reason="r",
        )
    errors = _errors(exc.value)
    assert "area" in errors and "expected_end_at" in errors
    with pytest.raises(ValidationError) as exc:
        services.notice_create(
            actor=supervisor,
            kind="planned",
            title="t",
            area_source="accounts",
            area={"accounts": ["999"]},
            starts_at=when(48),
            expected_end_at=when(50),
            reason="r",
        )
    assert "999" in _errors(exc.value)["area"][0]
    with pytest.raises(ValidationError):
        services.notice_create(
            actor=supervisor,
            kind="planned",
            title="t",
            area_source="plan",
            pipe="NOPE",
            starts_at=when(48),
            expected_end_at=when(50),
            reason="r",
        )


def test_only_drafting_roles_draft_and_only_supervisors_approve(town, make_user, draft):
    agent = make_user(Role.AGENT)
    from qingquan.core.access import AccessDenied

    with pytest.raises(AccessDenied):
        services.notice_create(actor=agent, kind="planned")
    dispatcher = make_user(Role.DISPATCHER)
    services.notice_submit(actor=dispatcher, notice=draft)
    with pytest.raises(AccessDenied):
        services.notice_approve(actor=dispatcher, notice=draft)


def _planned(supervisor, hours: float, **extra):
    return services.notice_create(
        actor=supervisor,
        kind="planned",
        title="管网改造计划停水",
        area_source="accounts",
        area={"accounts": ["3302990002", "3302990003"]},
        starts_at=when(hours),
        expected_end_at=when(hours + 8),
        reason="管网改造",
        **extra,
    )


def test_the_24_hour_rule_on_the_calendar_clock(town, supervisor):
    on_time = _planned(supervisor, 30)
    services.notice_submit(actor=supervisor, notice=on_time)
    v = services.notice_approve(actor=supervisor, notice=on_time)
    assert v.number == 1
    late = _planned(supervisor, 20)
    with pytest.raises(ValidationError) as exc:
        services.notice_submit(actor=supervisor, notice=late)
    assert "late_reason" in _errors(exc.value)
    services.notice_submit(actor=supervisor, notice=late, late_reason="抢修窗口临时确定")
    with pytest.raises(ValidationError) as exc:
        services.notice_approve(actor=supervisor, notice=late)
    assert "accept_late" in _errors(exc.value)
    services.notice_approve(actor=supervisor, notice=late, accept_late=True)
    late.refresh_from_db()
    assert late.late_approved_by == supervisor and late.status == NoticeStatus.PUBLISHED
    event = AuditEvent.objects.filter(action="notices.publish").order_by("pk").last()
    assert event.note == "抢修窗口临时确定"
    # Unplanned notices have no lead rule.
    assert not rules.is_late("unplanned", now=clock.now(), starts_at=when(0))


def test_the_24_hour_rule_on_the_working_day_clock(settings):
    settings.NOTICES_KINDS = {"planned": {"lead_hours": 24, "clock": "working_days"}}
    # Friday 2026-12-04 10:00 → Monday 2026-12-07 09:00: 71 calendar hours, but Saturday
    # and Sunday do not count: 14 h of Friday + 9 h of Monday = 23 working hours.
    friday = dt.datetime(2026, 12, 4, 10, tzinfo=clock.SHANGHAI)
    monday = dt.datetime(2026, 12, 7, 9, tzinfo=clock.SHANGHAI)
    assert rules.is_late("planned", now=friday, starts_at=monday)
    assert not rules.is_late("planned", now=friday, starts_at=monday + dt.timedelta(hours=2))
    settings.NOTICES_KINDS = {"planned": {"lead_hours": 24, "clock": "calendar"}}
    assert not rules.is_late("planned", now=friday, starts_at=monday)


def _publish(notice, supervisor):
    services.notice_submit(actor=supervisor, notice=notice)
    return services.notice_approve(actor=supervisor, notice=notice)


def test_publication_freezes_the_recipients_and_queues_one_sms_per_number(town, supervisor, draft):
    v1 = _publish(draft, supervisor)
    draft.refresh_from_db()
    assert draft.status == NoticeStatus.PUBLISHED and draft.version == 1
    assert (v1.accounts, v1.phones, v1.critical) == (3, 3, 1)
    assert sum(a["accounts"] for a in v1.by_area) == 3 and v1.by_area[0]["district"] == "海曙区"
    rows = NoticeRecipient.objects.filter(version=v1)
    assert sorted(r.account_number for r in rows) == ["3302990001", "3302990002", "3302990003"]
    assert {r.phone for r in rows} == {"+8613900000001", "+8613900000002", "+8613900000003"}
    assert [r.account_number for r in selectors.critical_of(v1)] == ["3302990001"]
    msgs = Message.objects.of("notice_version", v1.pk)
    assert msgs.count() == 3 == v1.messages
    m = msgs.first()
    assert m.urgent and m.template == "notice_published" and "解放南路" in m.params["area"] + m.body
    assert "回T退订" in m.body or "Reply T" in m.body


def test_an_update_is_a_new_version_and_the_old_one_stays_as_it_was(town, supervisor, draft):
    v1 = _publish(draft, supervisor)
    draft.refresh_from_db()
    v2 = services.notice_update(
        actor=supervisor,
        notice=draft,
        note="部分恢复，仅 0402 室仍停水；延长至 20:00",
        area_source="accounts",
        area={"accounts": ["3302990003"]},
        expected_end_at=draft.expected_end_at + dt.timedelta(hours=2),
    )
    assert v2.number == 2 and v2.event == "updated" and v2.accounts == 1
    assert NoticeRecipient.objects.filter(version=v1).count() == 3
    assert [r.account_number for r in NoticeRecipient.objects.filter(version=v2)] == ["3302990003"]
    assert Message.objects.of("notice_version", v2.pk).count() == 1
    # The active notice follows the current version: 0401's accounts are out of it now.
    assert selectors.active_for(account_ids=[town["accounts"][0].pk]) == []
    assert len(selectors.active_for(account_ids=[town["accounts"][2].pk])) == 1
    draft.refresh_from_db()
    v3 = services.notice_restore(actor=supervisor, notice=draft, note="恢复供水")
    assert v3.event == "restored" and draft.versions.count() == 3
    draft.refresh_from_db()
    assert selectors.active_for(account_ids=[town["accounts"][2].pk]) == []
    services.notice_close(actor=supervisor, notice=draft)
    draft.refresh_from_db()
    assert draft.status == NoticeStatus.CLOSED
    assert list(
        AuditEvent.objects.filter(action__startswith="notices.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "notices.create",
        "notices.submit",
        "notices.publish",
        "notices.update",
        "notices.restore",
        "notices.close",
    ]
    with pytest.raises(ValidationError):
        services.notice_update(actor=supervisor, notice=draft, note="x")


def test_streets_area(town, supervisor):
    street = town["place"].street
    notice = services.notice_create(
        actor=supervisor,
        kind="water_quality",
        title="水质异常",
        area_source="streets",
        area={"streets": [street.pk]},
        starts_at=when(0),
        expected_end_at=when(3),
        reason="浊度超标，正在冲洗管网",
    )
    v = _publish(notice, supervisor)
    assert v.accounts == 4  # every test premise is on the factory's first street
    assert street.name in v.area_text


def test_a_call_about_the_notice_is_a_contact_without_a_case(town, supervisor, draft, make_user):
    from qingquan.tickets.models import Contact, Ticket

    _publish(draft, supervisor)
    agent = make_user(Role.AGENT)
    record = services.notice_call_record(actor=agent, notice=draft, phone="+8613900000002")
    services.notice_call_record(actor=agent, notice=draft, phone="+8613900000003")
    draft.refresh_from_db()
    assert draft.calls == 2 and record.version == 1
    assert Contact.objects.count() == 2 and Ticket.objects.count() == 0
    assert draft.number in Contact.objects.first().note


def test_the_ivr_lookup_by_phone_and_account(town, supervisor, draft, client):
    _publish(draft, supervisor)
    client.force_login(supervisor)
    inside = client.get("/api/v1/notices/lookup", {"phone": "139 0000 0002"}).json()
    assert inside["inside"] and inside["notices"][0]["number"] == draft.number
    assert "解放南路" in inside["message"] or inside["message"]
    outside = client.get("/api/v1/notices/lookup", {"account": "3302990009"}).json()
    assert outside == {"inside": False, "notices": [], "message": ""}
    assert client.get("/api/v1/notices/lookup").status_code == 422
    assert client.get("/api/v1/notices/lookup", {"phone": "abc"}).status_code == 422


def test_the_api_lifecycle_and_its_errors(town, supervisor, client):
    client.force_login(supervisor)
    body = {
        "kind": "planned",
        "title": "计划停水",
        "area_source": "accounts",
        "accounts": ["3302990002"],
        "starts_at": when(2).isoformat(),
        "expected_end_at": when(1).isoformat(),
        "reason": "检修",
    }
    refused = client.post("/api/v1/notices/", body, content_type="application/json")
    assert refused.status_code == 422 and "预计恢复时间" in refused.json()["detail"]
    # A year PostgreSQL cannot store with that offset (the fuzzer's): a 422, not a 500.
    far = {**body, "starts_at": "0240-07-07T21:13:21-21:59"}
    out = client.post("/api/v1/notices/", far, content_type="application/json")
    assert out.status_code == 422 and "starts_at" in out.content.decode()
    body["expected_end_at"] = when(6).isoformat()
    made = client.post("/api/v1/notices/", body, content_type="application/json")
    assert made.status_code == 201, made.content
    pk = made.json()["id"]
    late = client.post(f"/api/v1/notices/{pk}/submit", {}, content_type="application/json")
    assert late.status_code == 422 and "24" in late.json()["detail"]
    ok = client.post(
        f"/api/v1/notices/{pk}/submit", {"late_reason": "急修"}, content_type="application/json"
    )
    assert ok.json()["status"] == "submitted"
    published = client.post(
        f"/api/v1/notices/{pk}/approve", {"accept_late": True}, content_type="application/json"
    ).json()
    assert published["status"] == "published" and published["versions"][0]["accounts"] == 1
    assert published["progress"]["total"] == 1
    assert client.get("/api/v1/notices/", {"status": "published"}).json()["count"] == 1


def test_public_pages_feed_and_api_need_no_login(town, supervisor, draft, client):
    _publish(draft, supervisor)
    page = client.get("/public/notices/").content.decode()
    assert draft.title in page and "13900000002" not in page and "王小明" not in page
    found = client.get("/public/notices/", {"account": "3302990002"}).content.decode()
    assert draft.title in found
    missing = client.get("/public/notices/", {"account": "3302990009"}).content.decode()
    assert draft.title not in missing
    assert draft.title in client.get(f"/public/notices/{draft.number}/").content.decode()
    feed = client.get("/public/notices/feed.atom")
    assert feed["Content-Type"].startswith("application/atom+xml")
    assert draft.number in feed.content.decode()
    api = client.get("/api/v1/notices/public", {"status": "active"}).json()
    assert api["count"] == 1 and api["items"][0]["number"] == draft.number
    assert client.get("/api/v1/notices/").status_code in (401, 403)


def test_staff_pages(town, supervisor, draft, client):
    client.force_login(supervisor)
    detail = client.get(f"/notices/{draft.pk}/").content.decode()
    assert 'data-testid="sms-length"' in detail
    client.post(f"/notices/{draft.pk}/submit/")
    client.post(f"/notices/{draft.pk}/approve/")
    draft.refresh_from_db()
    assert draft.status == NoticeStatus.PUBLISHED
    page = client.get(f"/notices/{draft.pk}/").content.decode()
    assert 'data-testid="progress"' in page and 'data-testid="critical"' in page
    assert client.get("/notices/").status_code == 200
    assert client.get(f"/notices/{draft.pk}/progress/").status_code == 200
    new = client.post(
        "/notices/new/",
        {
            "kind": "planned",
            "title": "x",
            "area_source": "streets",
            "starts_at": "2030-01-01T08:00",
            "expected_end_at": "2030-01-01T07:00",
            "reason": "r",
        },
    )
    assert new.status_code == 200
    text = new.content.decode()
    assert "error" in text and NoticeVersion.objects.count() == 1


def test_screen_pop_shows_the_active_notice_first_and_told_records_it(
    town, supervisor, draft, make_user, client
):
    _publish(draft, supervisor)
    agent = make_user(Role.AGENT)
    client.force_login(agent)
    pop = client.get("/console/lookup/", {"q": "3302990002"}).content.decode()
    assert 'data-testid="pop-notice"' in pop and draft.title in pop
    assert pop.index('data-testid="pop-notice"') < pop.index('data-testid="pop-customer"')
    slot = pop[pop.index('data-testid="pop-interruptions"') :]
    assert draft.title in slot.split("</div>")[0]
    told = client.post(
        f"/notices/{draft.pk}/told/", {"phone": "+8613900000002"}, HTTP_HX_REQUEST="true"
    )
    assert told.status_code == 200 and 'data-testid="told"' in told.content.decode()
    draft.refresh_from_db()
    assert draft.calls == 1
    other = client.get("/console/lookup/", {"q": "3302990009"}).content.decode()
    assert 'data-testid="pop-notice"' not in other


def test_quiet_hours_hold_non_urgent_messages(town, supervisor, settings):
    settings.MESSAGING = {**settings.MESSAGING, "QUIET_HOURS": (22, 7)}
    night = dt.datetime(2026, 12, 10, 23, 30, tzinfo=clock.SHANGHAI)
    with time_machine.travel(night, tick=False):
        notice = _planned(supervisor, 40)
        v = _publish(notice, supervisor)
    m = Message.objects.of("notice_version", v.pk).first()
    assert not m.urgent
    assert m.next_attempt_at == dt.datetime(2026, 12, 11, 7, tzinfo=clock.SHANGHAI)


def test_the_demo_publishes_a_burst_notice(town, monkeypatch):
    from qingquan.notices import demo

    monkeypatch.setattr(demo, "MIN_ACCOUNTS", 1)
    notice = demo.seed_notices()
    assert notice is not None and notice.status == NoticeStatus.PUBLISHED
    assert notice.current.accounts >= 1 and Message.objects.count() >= 1
    assert demo.seed_notices() is None  # once


def test_subscriptions_by_api_receive_the_notice(town, supervisor, draft, client, make_user):
    office = make_user(Role.BACK_OFFICE)
    client.force_login(office)
    place = town["place"]
    made = client.post(
        "/api/v1/notices/subscriptions/",
        {"premise": place.pk, "channel": "wechat", "address": "oAbc-123_x"},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    bad = client.post(
        "/api/v1/notices/subscriptions/",
        {"premise": place.pk, "channel": "email", "address": "not an address"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    client.post(
        "/api/v1/notices/subscriptions/",
        {"premise": place.pk, "channel": "email", "address": "wang@example.com"},
        content_type="application/json",
    )
    v = _publish(draft, supervisor)
    channels = sorted(Message.objects.of("notice_version", v.pk).values_list("channel", flat=True))
    assert channels == ["email", "sms", "sms", "sms", "wechat"]
    sub = made.json()["id"]
    assert client.delete(f"/api/v1/notices/subscriptions/{sub}").status_code == 204
    client.force_login(make_user(Role.AGENT))
    refused = client.post(
        "/api/v1/notices/subscriptions/",
        {"premise": place.pk, "channel": "sms", "address": "13900000007"},
        content_type="application/json",
    )
    assert refused.status_code == 403


def test_a_polygon_area(town, supervisor, client):
    from qingquan.notices.tests.conftest import NEAR_J4

    lon, lat = NEAR_J4["longitude"], NEAR_J4["latitude"]
    box = [[lon - 0.0005, lat - 0.0005], [lon + 0.0005, lat - 0.0005], [lon, lat + 0.0005]]
    client.force_login(supervisor)
    made = client.post(
        "/api/v1/notices/",
        {
            "kind": "low_pressure",
            "title": "降压供水",
            "area_source": "polygon",
            "polygon": box,
            "starts_at": when(1).isoformat(),
            "expected_end_at": when(5).isoformat(),
            "reason": "泵站检修",
        },
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    notice = services.Notice.objects.get(pk=made.json()["id"])
    v = _publish(notice, supervisor)
    assert v.accounts == 3  # the three accounts near J4, not the one near J1
    with pytest.raises(ValidationError):
        services.notice_create(
            actor=supervisor,
            kind="low_pressure",
            title="t",
            area_source="polygon",
            area={"polygon": [[1, 2], [3, 4]]},
            starts_at=when(1),
            expected_end_at=when(2),
            reason="r",
        )


def test_told_never_redirects_outside(town, supervisor, draft, make_user, client):
    _publish(draft, supervisor)
    client.force_login(make_user(Role.AGENT))
    answer = client.post(
        f"/notices/{draft.pk}/told/",
        {"phone": "+8613900000002", "next": "https://evil.example/"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/console/"
