"""The hydraulic consequence of an isolation plan, on a network whose answer is known.

The hand-made network of helpers.py with its loop made of long thin pipes (P5, P6, P7:
800 m of DN50) and more demand at J3 and J4 (2 L/s each). As it is, every junction has
about 30–40 m. Closing P3's valves (VB, VC) isolates P3 alone (no junction inside, none
cut off), so J3 and J4 are fed round the loop: WNTR's pressure-dependent simulation gives
J3 and J4 about 0.3 m, J6 about 3.4 m and J5 about 12 m. With the 10 m threshold the
low-pressure junctions are J3, J4 and J6; P4's plan (VD) isolates J4 itself and leaves no
junction outside below 10 m.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.network import services
from qingquan.network.models import HydraulicRun, NetworkImport, RunStatus, Valve
from qingquan.network.tasks import hydraulic_simulate
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db

THIN_LOOP: dict[str, Any] = {
    "lengths": {"P5": 800, "P6": 800, "P7": 800},
    "diameters": {"P5": 50, "P6": 50, "P7": 50},
    "demands": {"J3": 2, "J4": 2},
}
NEAR_J6 = {"longitude": 121.5531, "latitude": 29.8711}


@pytest.fixture
def net(tmp_path: Any) -> Any:
    from qingquan.customers.tests.factories import account, premise

    import_small(tmp_path, **THIN_LOOP)
    account(premise=premise(**NEAR_J6, room="0601"))
    return tmp_path


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_closing_the_loop_leaves_the_far_side_with_low_pressure(net):
    run = services.hydraulic_request(actor=SYSTEM, pipe="P3")
    assert (run.status, run.closed_valves, run.threshold_m) == ("pending", ["VB", "VC"], 10.0)
    assert hydraulic_simulate.call(run_id=run.pk) == "3 low-pressure junctions"
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.progress == 100
    assert [row[0] for row in run.low_junctions] == ["J3", "J4", "J6"]
    for eid, before, after in run.low_junctions:
        assert before >= 10 > after, eid
    assert run.low_junctions[0][2] < 1 and 2 < run.low_junctions[2][2] < 5
    assert (run.premises, run.accounts) == (1, 1)  # the premise next to J6
    # The baseline was stored once and is shared by the next plan.
    baseline = HydraulicRun.objects.get(pipe="")
    assert baseline.status == RunStatus.DONE and baseline.pressures["J5"] > 20
    p4 = services.hydraulic_request(actor=SYSTEM, pipe="P4")
    hydraulic_simulate.call(run_id=p4.pk)
    p4.refresh_from_db()
    assert p4.status == RunStatus.DONE and p4.low_junctions == []  # J4 is inside
    assert HydraulicRun.objects.count() == 3


def test_a_run_is_kept_by_its_inputs_and_safe_to_run_twice(net):
    run = services.hydraulic_request(actor=SYSTEM, pipe="P3")
    hydraulic_simulate.call(run_id=run.pk)
    done = HydraulicRun.objects.get(pk=run.pk)
    assert hydraulic_simulate.call(run_id=run.pk) == "nothing to do"
    assert HydraulicRun.objects.get(pk=run.pk).finished_at == done.finished_at
    # The same plan asked again, and no new audit event.
    events = AuditEvent.objects.filter(action="network.hydraulicrun.create").count()
    assert services.hydraulic_request(actor=SYSTEM, pipe="P3").pk == run.pk
    assert AuditEvent.objects.filter(action="network.hydraulicrun.create").count() == events
    # A run cut off half-way (its worker died) is computed again to the same answer.
    HydraulicRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, low_junctions=[])
    hydraulic_simulate.call(run_id=run.pk)
    assert HydraulicRun.objects.get(pk=run.pk).low_junctions == done.low_junctions
    # A valve change is a new network version: a new run.
    services.valve_set_state(actor=SYSTEM, valve=Valve.objects.get(eid="VE"), state="closed")
    assert services.hydraulic_request(actor=SYSTEM, pipe="P3").pk != run.pk


def test_the_request_queues_the_task_on_commit(net, settings, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = services.hydraulic_request(actor=SYSTEM, pipe="P3")
    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and len(run.low_junctions) == 3


@pytest.fixture
def english() -> Any:
    from django.utils import translation

    with translation.override("en"):
        yield


def test_failures_are_stored_and_asked_again(net, english):
    NetworkImport.objects.update(source_text="")
    run = services.hydraulic_request(actor=SYSTEM, pipe="P3")
    assert hydraulic_simulate.call(run_id=run.pk) == "failed"
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "import it again" in run.error
    again = services.hydraulic_request(actor=SYSTEM, pipe="P3")
    assert again.pk == run.pk and again.status == RunStatus.PENDING and again.error == ""
    # The network changed between the request and the run.
    stale = services.hydraulic_request(actor=SYSTEM, pipe="P4")
    services.valve_set_state(actor=SYSTEM, valve=Valve.objects.get(eid="VE"), state="closed")
    hydraulic_simulate.call(run_id=stale.pk)
    stale.refresh_from_db()
    assert stale.status == RunStatus.FAILED and "ask again" in stale.error


def test_the_plan_panel_starts_it_and_polls_until_done(net, make_user):
    dispatcher = _client(make_user(Role.DISPATCHER))
    panel = dispatcher.get("/network/plan/", {"pipe": "P3"}).content.decode()
    assert 'hx-get="/network/plan/hydraulic/?pipe=P3"' in panel
    section = dispatcher.get("/network/plan/hydraulic/", {"pipe": "P3"}).content.decode()
    assert 'data-testid="hydraulic-start"' in section and "every 1s" not in section
    started = dispatcher.post("/network/plan/hydraulic/?pipe=P3").content.decode()
    assert 'data-testid="hydraulic-progress"' in started and 'hx-trigger="every 1s"' in started
    hydraulic_simulate.call(run_id=HydraulicRun.objects.get(pipe="P3").pk)
    done = dispatcher.get("/network/plan/hydraulic/", {"pipe": "P3"}).content.decode()
    assert "every 1s" not in done and 'data-testid="low-junctions"' in done
    assert "J6" in done and 'data-geojson="/api/v1/network/hydraulic/' in done
    assert dispatcher.get("/network/plan/hydraulic/", {"pipe": "NOPE"}).status_code == 404


def test_the_api(net, make_user):
    crew = _client(make_user(Role.CREW))
    started = crew.post(
        "/api/v1/network/hydraulic", {"pipe": "P3"}, content_type="application/json"
    )
    assert started.status_code == 202 and started.json()["status"] == "pending"
    run_id = started.json()["id"]
    hydraulic_simulate.call(run_id=run_id)
    body = crew.get(f"/api/v1/network/hydraulic/{run_id}").json()
    assert body["status"] == "done" and body["valves_closed"] == ["VB", "VC"]
    assert [j["id"] for j in body["low_pressure_junctions"]] == ["J3", "J4", "J6"]
    drawn = crew.get(f"/api/v1/network/hydraulic/{run_id}/geojson").json()
    layers = [f["properties"]["layer"] for f in drawn["features"]]
    assert layers.count("low_pressure") == 3 and layers.count("low_pressure_area") == 1
    assert crew.get("/api/v1/network/hydraulic/999999").status_code == 404
    assert crew.get("/api/v1/network/hydraulic/0").status_code == 422
    baseline = HydraulicRun.objects.get(pipe="").pk
    assert crew.get(f"/api/v1/network/hydraulic/{baseline}").status_code == 404
    agent = _client(make_user(Role.AGENT))
    refused = agent.post("/api/v1/network/hydraulic", {"pipe": "P3"}, "application/json")
    assert refused.status_code == 403


def test_a_pipe_no_valve_isolates_is_refused(tmp_path, make_user):
    from qingquan.network.tests.helpers import inp_text, write

    services.network_import(actor=SYSTEM, path=write(tmp_path, "n.inp", inp_text()), valves="file")
    crew = _client(make_user(Role.CREW))
    refused = crew.post(
        "/api/v1/network/hydraulic",
        {"pipe": "P3"},
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422 and "nothing to simulate" in refused.json()["detail"]
