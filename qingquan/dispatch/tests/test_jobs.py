"""Jobs from cases and incidents: place, pipe, segment and plan from the network, budgets
from the policy by kind and diameter, the clocks with pauses, the case's timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qingquan.dispatch import selectors, services
from qingquan.dispatch.errors import InvalidInput, OutOfOrder
from qingquan.dispatch.models import JobKind, JobState, RepairPolicy
from qingquan.network.tests.helpers import import_small
from qingquan.tickets.models import TicketEvent
from qingquan.tickets.tests.conftest import sh

pytestmark = pytest.mark.django_db


def test_a_burst_on_a_large_main_gets_one_hour_and_twelve(
    tmp_path, people, located_case, at
) -> None:
    at(sh(2026, 12, 3, 21, 0))
    import_small(tmp_path)  # P1 and P2 are DN300
    case = located_case("repair-burst")
    job = services.job_create(actor=people["dispatcher"], ticket=case)
    assert job.pipe_eid == "P2" and job.diameter_mm == 300
    assert job.kind == JobKind.BURST and job.priority == "urgent"
    assert job.number == f"{case.number}-1"
    assert {v["eid"] for v in job.valves} == {"VA", "VB", "VE"}  # the plan of P2's segment
    assert job.arrive_deadline == sh(2026, 12, 3, 22, 0)
    assert job.restore_deadline == sh(2026, 12, 4, 9, 0)
    event = TicketEvent.objects.get(ticket=case, action="job_create")
    assert event.data["job"] == job.number and event.action_label == "Repair job made"


def test_smaller_mains_and_other_kinds_follow_their_policy(
    tmp_path, people, located_case, at
) -> None:
    at(sh(2026, 12, 3, 10, 0))
    import_small(tmp_path)
    case = located_case("repair-leak", lon=121.5525, lat=29.8701)  # P3, DN150
    job = services.job_create(actor=people["dispatcher"], ticket=case)
    assert job.pipe_eid == "P3" and job.diameter_mm == 150
    assert job.policy_name.startswith("漏水：") and job.arrive_deadline == sh(2026, 12, 3, 14, 0)
    frozen = services.job_create(actor=people["dispatcher"], ticket=located_case("repair-meter"))
    assert frozen.kind == JobKind.FROZEN_METER
    assert frozen.restore_deadline == sh(2026, 12, 3, 22, 0)


def test_an_edited_policy_applies_to_new_jobs_only(people, located_case, at) -> None:
    at(sh(2026, 12, 3, 10, 0))
    first = services.job_create(actor=people["dispatcher"], ticket=located_case("repair-burst"))
    RepairPolicy.objects.filter(kind="burst").update(arrive_seconds=1800)
    second = services.job_create(actor=people["dispatcher"], ticket=located_case("repair-burst"))
    assert first.arrive_seconds == 3600 and second.arrive_seconds == 1800


def test_without_network_the_premise_places_the_job(people, located_case) -> None:
    job = services.job_create(actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9))
    assert (job.longitude, job.latitude) == (121.6, 29.9) and job.pipe_eid == ""


def test_a_case_without_location_needs_a_point(people, new_case) -> None:
    case = new_case("repair-burst")
    with pytest.raises(InvalidInput, match="no location"):
        services.job_create(actor=people["dispatcher"], ticket=case)
    job = services.job_create(actor=people["dispatcher"], ticket=case, lon=121.55, lat=29.87)
    assert job.longitude == 121.55


def test_an_explicit_pipe_places_the_job_on_it(tmp_path, people, new_case) -> None:
    import_small(tmp_path)
    job = services.job_create(
        actor=people["dispatcher"], ticket=new_case("repair-burst"), pipe="P4"
    )
    assert job.pipe_eid == "P4" and job.longitude == pytest.approx(121.5535)
    with pytest.raises(InvalidInput, match="no pipe"):
        services.job_create(
            actor=people["dispatcher"], ticket=new_case("repair-burst"), pipe="NOPE"
        )


def test_a_merged_case_makes_the_incident_s_job(people, located_case) -> None:
    from qingquan.tickets import services as tickets

    incident = located_case("repair-burst")
    call = located_case("repair-burst")
    tickets.ticket_merge(actor=people["agent"], ticket=call, version=call.version, parent=incident)
    job = services.job_create(actor=people["dispatcher"], ticket=call)
    assert job.ticket_id == incident.pk


def test_only_dispatchers_make_jobs(people, located_case) -> None:
    from qingquan.core.access import AccessDenied

    with pytest.raises(AccessDenied):
        services.job_create(actor=people["agent"], ticket=located_case())


def test_the_restoration_clock_pauses_and_its_deadline_moves(
    people, crews, located_case, at
) -> None:
    at(sh(2026, 12, 3, 21, 0))
    job = services.job_create(actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9))
    assert job.restore_deadline == sh(2026, 12, 4, 5, 0)  # DN<300 burst: 8 h
    job = services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["haishu"], version=job.version
    )
    at(sh(2026, 12, 3, 23, 0))
    job = services.job_pause(
        actor=people["crew"], job=job, version=job.version, reason="road_permit", note="占道许可"
    )
    assert job.restore_deadline is None
    row = selectors.job_row(job)
    assert row.restore.state == "paused" and row.arrive.state in ("ok", "warning", "breached")
    with pytest.raises(OutOfOrder, match="already paused"):
        services.job_pause(actor=people["crew"], job=job, version=None, reason="customer")
    at(sh(2026, 12, 4, 1, 30))
    job = services.job_resume(actor=people["crew"], job=job, version=job.version)
    assert job.restore_deadline == sh(2026, 12, 4, 7, 30)  # moved by 2 h 30
    _arrive, restore = job.clocks(now=sh(2026, 12, 4, 2, 0))
    assert restore.elapsed_seconds == dt.timedelta(hours=2, minutes=30).total_seconds()
    assert (
        TicketEvent.objects.filter(
            ticket=job.ticket, action__in=["job_pause", "job_resume"]
        ).count()
        == 2
    )


def test_clock_colours(people, located_case, at) -> None:
    at(sh(2026, 12, 3, 10, 0))
    job = services.job_create(actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9))
    arrive, _restore = selectors.job_clocks(job, now=sh(2026, 12, 3, 10, 30))
    assert arrive.state == "ok" and arrive.colour == "green"
    arrive, _restore = selectors.job_clocks(job, now=sh(2026, 12, 3, 10, 50))
    assert arrive.state == "warning" and arrive.colour == "amber"
    arrive, _restore = selectors.job_clocks(job, now=sh(2026, 12, 3, 11, 1))
    assert arrive.state == "breached" and arrive.colour == "red"


def test_a_closed_case_gets_no_job(people, located_case) -> None:
    from qingquan.tickets import services as tickets

    case = located_case()
    tickets.ticket_resolve(actor=people["agent"], ticket=case, version=None, resolution="已处理")
    with pytest.raises(InvalidInput):
        services.job_create(actor=people["dispatcher"], ticket=case)


def _unused(_: Any) -> None:  # keeps the Any import honest for type checkers
    return None


assert JobState.NEW
