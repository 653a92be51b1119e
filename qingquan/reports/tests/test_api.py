"""The statistics and callbacks API: same figures as the pages, 4xx on bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qingquan.surveys.models import CallbackTask

from . import scenario

pytestmark = pytest.mark.django_db


def test_kpi_api_matches_the_crafted_figures(
    client: Any, at: Any, new_case: Any, people: Any
) -> None:
    scenario.build(at, new_case, people)
    client.force_login(people["supervisor"])
    response = client.get("/api/v1/reports/kpis?period=month&date=2026-03-01&by=channel")
    assert response.status_code == 200
    data = response.json()
    overall = data["overall"]
    assert {k: overall[k] for k in scenario.MARCH} == scenario.MARCH
    assert overall["satisfaction"] == pytest.approx(2 / 3)
    assert {r["key"] for r in data["rows"]} == {"phone", "wechat"}
    assert client.get("/api/v1/reports/kpis?period=decade").status_code == 400
    assert client.get("/api/v1/reports/kpis?by=colour").status_code == 400
    client.force_login(people["agent"])
    assert client.get("/api/v1/reports/kpis").status_code == 403


def test_callbacks_api(client: Any, at: Any, new_case: Any, people: Any) -> None:
    from qingquan.tickets import services

    from .conftest import sh

    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    services.ticket_resolve(
        actor=people["agent"], ticket=case, version=case.version, resolution="好"
    )
    client.force_login(people["agent"])
    mine = client.get("/api/v1/callbacks/").json()
    assert [c["case"] for c in mine] == [case.number]
    task = CallbackTask.objects.get(ticket=case)
    url = f"/api/v1/callbacks/{task.pk}/attempts"

    def post(body: dict[str, Any]) -> Any:
        return client.post(url, data=json.dumps(body), content_type="application/json")

    assert post({"outcome": "great", "version": task.version}).status_code == 400
    assert post({"outcome": "satisfied", "version": 99}).status_code == 409
    ok = post({"outcome": "unreachable", "version": task.version})
    assert ok.status_code == 200 and ok.json()["attempts"] == 1
    client.force_login(people["agent2"])
    assert post({"outcome": "satisfied", "version": 2}).status_code == 404


def test_periodic_jobs_are_registered_and_run(at: Any, new_case: Any, people: Any) -> None:
    from qingquan.core.periodic import REGISTRY
    from qingquan.reports import tasks as report_tasks
    from qingquan.reports.models import KpiDaily
    from qingquan.surveys import tasks as survey_tasks

    from .conftest import sh

    names = set(REGISTRY)
    assert "qingquan.reports.tasks.reconcile_rollups" in names
    assert "qingquan.reports.tasks.send_reports" in names
    assert "qingquan.surveys.tasks.schedule_callbacks" in names
    at(sh(2026, 3, 2, 9))
    case = new_case("consultation")
    from qingquan.reports import rollup

    rollup.fold()  # PostgreSQL: counts pending as deltas join their rows (decision 0009)
    KpiDaily.objects.all().delete()  # a drift the nightly job must repair
    assert report_tasks.reconcile_rollups.call() > 0
    assert report_tasks.reconcile_rollups.call() == 0
    from qingquan.tickets import services

    services.ticket_resolve(
        actor=people["agent"], ticket=case, version=case.version, resolution="好"
    )
    at(sh(2026, 3, 10, 9))  # the callback is overdue now
    result = survey_tasks.schedule_callbacks.call()
    assert result["reminded"] == 1
    assert survey_tasks.schedule_callbacks.call()["reminded"] == 0  # once per task
