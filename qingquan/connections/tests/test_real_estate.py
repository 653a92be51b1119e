"""Real-estate supporting projects (R-CON-6): the documented ready date starts the clock,
construction entry within 10 working days across National Day (customer-side pauses as
for every policy), then the milestones to handover; the staff page, the API, the online
hall."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from qingquan.connections import services
from qingquan.connections.models import (
    Application,
    AppState,
    ClockPause,
    Entry,
    RealEstateProject,
)
from qingquan.core.models import Notification

from .conftest import document, sh

pytestmark = pytest.mark.django_db

H = 3600


def project(**overrides: Any) -> services.ProjectInput:
    fields: dict[str, Any] = {"name": "甬江悦府", "households": 480}
    fields.update(overrides)
    return services.ProjectInput(**fields)


def estate(apply: Any, **overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "use": "real_estate",
        "pipe_mm": 200,
        "m3_per_day": "400",
        "project": project(),
    }
    fields.update(overrides)
    return apply(**fields)


def test_construction_entry_within_10_working_days_across_national_day_then_handover(
    at: Any, apply: Any, people: Any
) -> None:
    at(sh(2026, 9, 24, 10))  # Thursday before Mid-Autumn (25–27 Sep) and National Day
    app = estate(apply)
    assert app.policy.code == "real_estate"
    assert app.steps.filter(phase="clock").count() == 3
    assert app.steps.filter(phase="milestone").count() == 6
    # No ready date yet: the clock waits for the developer.
    assert app.deadline is None
    with pytest.raises(services.Refused, match="ready date"):
        services.pause_end(actor=people["manager"], application=app)
    with pytest.raises(services.Refused, match="paused"):
        services.step_complete(
            actor=people["manager"], application=app, engineer=people["engineer"]
        )

    at(sh(2026, 9, 29, 15))
    services.ready_record(
        actor=people["manager"],
        application=app,
        ready_on=dt.date(2026, 9, 28),
        evidence="场地移交单 No. 2026-118，现场照片",
    )
    app.refresh_from_db()
    assert ClockPause.objects.get(application=app).ended_at == sh(2026, 9, 28)
    # From Monday 28 Sep: 28–30 Sep, 8–10 Oct (Saturday 10th worked), 12–15 Oct.
    assert app.deadline == sh(2026, 10, 16)
    with pytest.raises(services.Refused, match="already"):
        services.ready_record(
            actor=people["manager"], application=app, ready_on="2026-09-28", evidence="again"
        )

    at(sh(2026, 9, 29, 16))
    app = services.step_complete(
        actor=people["manager"], application=app, engineer=people["engineer"]
    )
    assert app.steps.get(order=2).due_at == sh(2026, 10, 10, 16)  # 4 working days
    at(sh(2026, 10, 9, 10))
    app = services.step_complete(actor=people["engineer"], application=app, note="图纸会审通过")
    # A typhoon stops the works for a day: force majeure, on the customer's side.
    at(sh(2026, 10, 12, 9))
    services.pause_start(
        actor=people["engineer"],
        application=app,
        reason="force_majeure",
        evidence="台风红色预警，全市停工",
    )
    at(sh(2026, 10, 13, 9))
    services.pause_end(actor=people["engineer"], application=app)
    app.refresh_from_db()
    assert app.deadline == sh(2026, 10, 17)

    at(sh(2026, 10, 15, 17))
    app = services.step_complete(actor=people["engineer"], application=app, note="施工队进场")
    app.refresh_from_db()
    # Construction entry: the clock stops (on time); the milestones follow.
    assert app.state == AppState.OPEN and app.clock_done_at == sh(2026, 10, 15, 17)
    assert app.on_time and app.deadline is None and app.warn_at is None
    assert app.utility_seconds == 209 * H  # 72 + 72 + 9 + 15 + 24 + 17
    assert app.customer_seconds == 38 * H  # 14 h before the ready date, the typhoon's 24 h
    assert Entry.objects.filter(application=app, kind="entry").exists()
    milestone = app.steps.get(order=app.step)
    assert milestone.code == "pipework" and milestone.owner == people["engineer"]
    assert milestone.due_at is not None
    # The clock is done, the milestone's own due time is not: its owner, the manager and
    # the supervisors are warned near it and told when it passed, each once.
    at(milestone.due_at - dt.timedelta(minutes=1))
    assert services.clock_sweep() >= 2 and services.clock_sweep() == 0
    warned = Notification.objects.filter(dedupe_key=f"conn-milestone-warn-{milestone.pk}")
    assert {n.recipient for n in warned} >= {people["engineer"], people["manager"]}
    assert all(milestone.name in n.title for n in warned)
    at(sh(2026, 12, 1, 9))
    assert services.clock_sweep() >= 2 and services.clock_sweep() == 0
    late = Notification.objects.filter(dedupe_key=f"conn-milestone-late-{milestone.pk}")
    assert {n.level for n in late} == {Notification.Level.ALERT}
    assert people["engineer"] in {n.recipient for n in late}

    with pytest.raises(services.Refused, match="milestone"):
        services.step_complete(actor=people["engineer"], application=app)
    walk = [
        ("engineer", "管网敷设完成"),
        ("engineer", "试压合格"),
        ("engineer", "水质检测报告 SZ-0091 合格"),
        ("engineer", "480 只水表已安装"),
        ("manager", "竣工验收通过"),
    ]
    for who, note in walk:
        app = services.step_complete(actor=people[who], application=app, note=note)
    with pytest.raises(services.NotOwner):
        services.step_complete(actor=people["engineer"], application=app, note="移交")
    app = services.step_complete(actor=people["manager"], application=app, note="移交接管")
    app.refresh_from_db()
    assert app.state == AppState.WATER_ON and app.water_on_at == sh(2026, 12, 1, 9)
    # The clock's figures stay those of construction entry.
    assert app.utility_seconds == 209 * H and app.on_time
    last = Entry.objects.filter(application=app).last()
    assert last is not None and "Handed over" in last.text


def test_ready_date_given_with_the_application_starts_the_clock_at_once(
    at: Any, apply: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))  # Monday
    app = estate(apply, project=project(ready_on="2026-02-27", ready_evidence="竣工验收单"))
    assert not ClockPause.objects.filter(application=app).exists()
    assert app.deadline == sh(2026, 3, 16, 9)  # 10 working days from the application
    ready = RealEstateProject.objects.get(application=app)
    assert ready.ready_on == dt.date(2026, 2, 27) and ready.ready_recorded_at is not None


def test_a_ready_date_before_the_application_counts_from_the_application(
    at: Any, apply: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    app = estate(apply)
    at(sh(2026, 3, 3, 9))
    services.ready_record(
        actor=people["manager"], application=app, ready_on="2026-02-20", evidence="验收单"
    )
    app.refresh_from_db()
    assert ClockPause.objects.get(application=app).ended_at == sh(2026, 3, 2, 9)
    assert app.deadline == sh(2026, 3, 16, 9)


def test_bad_projects_and_ready_dates_are_refused(at: Any, apply: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    with pytest.raises(services.Refused, match="project"):
        estate(apply, project=None)
    with pytest.raises(services.Refused, match="future"):
        estate(apply, project=project(ready_on="2026-03-09", ready_evidence="x"))
    with pytest.raises(services.Refused, match="evidence"):
        estate(apply, project=project(ready_on="2026-03-01"))
    assert not Application.objects.exists()
    app = estate(apply)
    with pytest.raises(services.Refused, match="evidence"):
        services.ready_record(
            actor=people["manager"], application=app, ready_on="2026-03-02", evidence=" "
        )
    with pytest.raises(services.Refused, match="YYYY-MM-DD"):
        services.ready_record(
            actor=people["manager"], application=app, ready_on="next week", evidence="x"
        )
    with pytest.raises(services.NotOwner):
        services.ready_record(
            actor=people["manager2"], application=app, ready_on="2026-03-02", evidence="x"
        )
    with pytest.raises(services.Refused, match="PDF"):
        services.ready_record(
            actor=people["manager"],
            application=app,
            ready_on="2026-03-02",
            evidence="x",
            documents=[document("a.pdf", b"not a pdf")],
        )
    assert RealEstateProject.objects.get(application=app).ready_on is None
    other = apply()
    with pytest.raises(services.Refused, match="no real-estate"):
        services.ready_record(
            actor=people["manager"], application=other, ready_on="2026-03-02", evidence="x"
        )


def test_staff_page_records_the_ready_date_and_milestones(at: Any, apply: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    app = estate(apply)
    client = Client()
    client.force_login(people["manager"])
    page = client.get(f"/connections/{app.number}/").content.decode()
    assert 'data-testid="ready-form"' in page and "甬江悦府" in page
    r = client.post(
        f"/connections/{app.number}/act/ready/",
        {
            "version": app.version,
            "ready_on": "2026-03-02",
            "evidence": "场地移交单",
            "document": document("ready.pdf"),
        },
    )
    assert r.status_code == 302
    project_row = RealEstateProject.objects.get(application=app)
    assert project_row.ready_on == dt.date(2026, 3, 2) and project_row.ready_document
    assert client.get(f"/connections/{app.number}/document/?which=ready").status_code == 200
    # Another manager cannot see the application, let alone its readiness document.
    other = Client()
    other.force_login(people["manager2"])
    assert other.get(f"/connections/{app.number}/document/?which=ready").status_code == 404
    # The API: accept, design, entry; the first milestone without a note is refused.
    app.refresh_from_db()
    services.step_complete(actor=people["manager"], application=app, engineer=people["engineer"])
    engineer = Client()
    engineer.force_login(people["engineer"])
    for note in ("图纸会审通过", "施工队进场"):
        app.refresh_from_db()
        r = engineer.post(
            f"/api/v1/connections/{app.number}/step",
            {"version": app.version, "note": note},
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
    body = r.json()
    assert body["step_phase"] == "milestone" and body["clock_stopped_at"] is not None
    assert body["project"]["ready_on"] == "2026-03-02"
    app.refresh_from_db()
    r = engineer.post(
        f"/connections/{app.number}/act/step/", {"version": app.version, "note": ""}, follow=True
    )
    text = r.content.decode()
    assert "Record what was done" in text or "请填写该节点完成的情况" in text
    assert Application.objects.get(pk=app.pk).step == app.step


def test_ready_date_through_the_api(at: Any, apply: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    app = estate(apply)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(people["manager"])
    url = f"/api/v1/connections/{app.number}/ready"
    r = client.post(
        url,
        {"version": app.version, "ready_on": "2026-03-09", "evidence": "x"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "future" in r.json()["detail"]
    r = client.post(
        url,
        {"version": app.version + 5, "ready_on": "2026-03-02", "evidence": "x"},
        content_type="application/json",
    )
    assert r.status_code == 409
    r = client.post(
        url,
        {"version": app.version, "ready_on": "2026-03-02", "evidence": "竣工验收单"},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["deadline"].startswith("2026-03-16")


def test_the_applicant_sees_the_project_and_its_milestones(
    at: Any, apply: Any, people: Any
) -> None:
    from qingquan.portal.models import Resident
    from qingquan.portal.tests.conftest import portal_login

    at(sh(2026, 3, 2, 9))
    client = portal_login(Client())
    resident = Resident.objects.get()
    app = estate(apply, project=project(ready_on="2026-03-02", ready_evidence="验收单"))
    Application.objects.filter(pk=app.pk).update(resident=resident)
    page = client.get(f"/portal/connections/{app.number}/").content.decode()
    assert "甬江悦府" in page and 'data-testid="milestones"' in page
    assert "2026-03-02" in page


def test_the_demo_has_a_project_at_its_milestones_and_one_waiting(people: Any) -> None:
    from qingquan.connections.demo import PROJECTS, seed_connections

    assert seed_connections() == 6 + len(PROJECTS)
    entered = Application.objects.get(project__name="甬江悦府")
    assert entered.clock_done_at is not None and entered.on_time
    reached = entered.steps.filter(phase="milestone", done_at__isnull=False)
    assert list(reached.values_list("code", flat=True)) == ["pipework", "pressure_test"]
    assert entered.steps.get(order=entered.step).code == "water_quality"
    waiting = Application.objects.get(project__name="三江花园二期")
    assert waiting.deadline is None and waiting.project.ready_on is None
