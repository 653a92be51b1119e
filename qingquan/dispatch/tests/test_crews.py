"""Crews: the suggestion's ranking on fixed data, assigning, several crews, reassigning."""

from __future__ import annotations

import datetime as dt

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.dispatch import selectors, services
from qingquan.dispatch.errors import Conflict, InvalidInput
from qingquan.dispatch.models import Assignment, Crew, CrewMessage, CrewStatus
from qingquan.staff import services as staff_services
from qingquan.staff.models import Shift
from qingquan.tickets.models import TicketState
from qingquan.tickets.tests.conftest import sh

pytestmark = pytest.mark.django_db


def _on_shift(user, day: dt.date, code: str = "crew-day") -> None:
    starts, ends = (dt.time(8), dt.time(20)) if code == "crew-day" else (dt.time(20), dt.time(8))
    shift, _ = Shift.objects.get_or_create(
        code=code, defaults={"name": code, "starts": starts, "ends": ends}
    )
    staff_services.shift_assign(actor=SYSTEM, user=user, shift=shift, date=day)


def test_ranking_on_fixed_data(people, crews, located_case, at) -> None:
    at(sh(2026, 12, 3, 10, 0))
    _on_shift(crews["member"], dt.date(2026, 12, 3))
    _on_shift(crews["member2"], dt.date(2026, 12, 3))
    job = services.job_create(
        actor=people["dispatcher"], ticket=located_case("repair-burst", lon=121.5515, lat=29.8701)
    )
    ranked = selectors.suggest(user=people["dispatcher"], job=job)
    assert [s.crew.team.code for s in ranked] == ["crew-haishu", "crew-jiangbei"]
    best = ranked[0]
    assert best.on_shift and best.load == 0 and best.missing == []
    assert best.distance_km == pytest.approx(1.02, abs=0.05)
    # 1.02 km × 1.4 at 30 km/h ≈ 3 min, stated as an estimate from the depot
    assert best.travel_minutes == 3
    assert any("road factor 1.4" in r and "from the depot" in r for r in best.reasons)
    # the nearer crew gets busy: the other one, equally skilled for this job, goes first
    other = services.job_create(
        actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9)
    )
    services.job_assign(
        actor=people["dispatcher"], job=other, crew=crews["haishu"], version=other.version
    )
    ranked = selectors.suggest(user=people["dispatcher"], job=job)
    assert [s.crew.team.code for s in ranked] == ["crew-jiangbei", "crew-haishu"]
    assert "1 open job(s)" in ranked[1].reasons


def test_shift_skills_and_duty_come_before_distance(
    people, crews, located_case, at, tmp_path
) -> None:
    from qingquan.network.tests.helpers import import_small

    import_small(tmp_path)
    at(sh(2026, 12, 3, 21, 0))  # night: the night skill counts
    _on_shift(crews["member2"], dt.date(2026, 12, 3), "crew-night")
    job = services.job_create(actor=people["dispatcher"], ticket=located_case("repair-burst"))
    ranked = selectors.suggest(user=people["dispatcher"], job=job)
    # 江北 is on shift (far away, lacking large mains and valves); 海曙 is not on shift
    assert [s.crew.team.code for s in ranked] == ["crew-jiangbei", "crew-haishu"]
    assert "not on shift now" in ranked[1].reasons
    assert set(ranked[0].missing) == {"large_mains", "valves"}
    assert set(ranked[1].missing) == {"night"}
    Crew.objects.filter(pk=crews["jiangbei"].pk).update(status=CrewStatus.OFF_DUTY)
    ranked = selectors.suggest(user=people["dispatcher"], job=job)
    assert ranked[-1].crew.team.code == "crew-jiangbei" and not ranked[-1].eligible
    assert ranked[-1].reasons[0] == "off duty"


def test_assign_in_one_click_tells_the_crew_and_dispatches_the_case(
    people, crews, located_case
) -> None:
    job = services.job_create(actor=people["dispatcher"], ticket=located_case())
    job = services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["haishu"], version=job.version
    )
    assert job.state == "assigned" and job.version == 2
    assert (
        CrewMessage.objects.filter(job=job, recipient=crews["member"], status="pending").count()
        == 1
    )
    case = job.ticket
    case.refresh_from_db()
    assert case.state == TicketState.DISPATCHED and case.team_id == crews["haishu"].team_id
    with pytest.raises(Conflict, match="already has a crew"):
        services.job_assign(
            actor=people["dispatcher"], job=job, crew=crews["jiangbei"], version=job.version
        )
    job = services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["jiangbei"], version=job.version, add=True
    )
    assert Assignment.objects.filter(job=job, ended_at=None).count() == 2


def test_reassign_needs_a_reason_and_moves_the_case(people, crews, located_case) -> None:
    job = services.job_create(actor=people["dispatcher"], ticket=located_case())
    job = services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["haishu"], version=job.version
    )
    with pytest.raises(InvalidInput, match="why"):
        services.job_reassign(
            actor=people["dispatcher"],
            job=job,
            version=job.version,
            old=crews["haishu"],
            new=crews["jiangbei"],
            reason="",
        )
    job = services.job_reassign(
        actor=people["dispatcher"],
        job=job,
        version=job.version,
        old=crews["haishu"],
        new=crews["jiangbei"],
        reason="车辆故障",
    )
    ended = Assignment.objects.get(job=job, crew=crews["haishu"])
    assert ended.end_reason == "车辆故障" and ended.ended_at is not None
    case = job.ticket
    case.refresh_from_db()
    assert case.team_id == crews["jiangbei"].team_id


def test_a_stale_version_is_a_conflict_with_the_current_state(people, crews, located_case) -> None:
    job = services.job_create(actor=people["dispatcher"], ticket=located_case())
    services.job_assign(actor=people["dispatcher"], job=job, crew=crews["haishu"], version=1)
    with pytest.raises(Conflict) as refused:
        services.job_assign(actor=people["supervisor"], job=job, crew=crews["jiangbei"], version=1)
    assert "crew-haishu" in refused.value.message and "version 2" in refused.value.message
    assert refused.value.job.version == 2


def test_the_outbox_sends_crew_messages(people, crews, located_case) -> None:
    from qingquan.core import clock, outbox

    job = services.job_create(actor=people["dispatcher"], ticket=located_case())
    services.job_assign(actor=people["dispatcher"], job=job, crew=crews["haishu"], version=1)
    assert "dispatch.crew_messages" in outbox.REGISTRY
    ids = outbox.claim(CrewMessage, worker="w1", now=clock.now())
    assert services.crew_messages_send(ids, worker="w1", now=clock.now()) == 1
    assert CrewMessage.objects.get().status == "delivered"
