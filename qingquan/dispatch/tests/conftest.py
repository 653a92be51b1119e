"""Fixtures for the dispatch tests: the case tests' organisation, people and helpers, plus
crews with depots and a small network."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from qingquan.staff.roles import Role
from qingquan.tickets.tests.conftest import (  # noqa: F401  (fixtures shared with the case tests)
    at,
    commit_hooks,
    english,
    immediate_tasks,
    kind,
    new_case,
    org,
    people,
)


@pytest.fixture
def crews(
    org: dict[str, Any],  # noqa: F811 (the imported fixture, requested)
    people: dict[str, Any],  # noqa: F811
    make_user: Callable[..., Any],
) -> dict[str, Any]:
    """Two crews: 海曙 (large mains, valves; depot near the test premises) and 江北 (meters,
    night; depot about 5 km north), each with a member."""
    from qingquan.dispatch.models import Crew

    haishu = Crew.objects.create(
        team=org["crew"],
        skills=["large_mains", "valves"],
        vehicle="浙B·A1234",
        depot_longitude=121.551,
        depot_latitude=29.861,
    )
    jiangbei = Crew.objects.create(
        team=org["crew2"],
        skills=["meters", "night"],
        vehicle="浙B·B5678",
        depot_longitude=121.55,
        depot_latitude=29.905,
    )
    member2 = make_user(Role.CREW, department=org["repair"], team=org["crew2"])
    return {"haishu": haishu, "jiangbei": jiangbei, "member": people["crew"], "member2": member2}


@pytest.fixture
def located_case(new_case: Callable[..., Any]) -> Callable[..., Any]:  # noqa: F811
    """A repair case at a premise with coordinates (the small network's area)."""
    from qingquan.customers.tests.factories import premise

    def make(
        code: str = "repair-burst", lon: float = 121.5515, lat: float = 29.8701, **kwargs: Any
    ) -> Any:
        place = premise(longitude=lon, latitude=lat)
        return new_case(code, premise=place, address=place.address, **kwargs)

    return make


def _kpi_step(member: Any, job: Any, step: str) -> Any:
    from qingquan.dispatch import services

    return services.step_record(
        actor=member, job=job, kind=step, client_id=f"k-{job.pk}-{step}"
    ).job


@pytest.fixture
def month(
    people: dict[str, Any],  # noqa: F811
    crews: dict[str, Any],
    located_case: Callable[..., Any],
    at: Callable[..., Any],  # noqa: F811
) -> dict[str, Any]:
    """December 2026: job A (海曙 crew) arrives and restores on time, 40 premises cut off
    for 5 h; job B (江北 crew) arrives late and is not restored by its deadline; job C is
    cancelled (left out). Two referrals to one partner, one to another."""
    from qingquan.dispatch import services
    from qingquan.dispatch.models import Job, ReferralPartner
    from qingquan.staff.models import Shift, ShiftAssignment
    from qingquan.tickets.tests.conftest import sh

    night = Shift.objects.create(
        code="night", name="夜班", starts=dt.time(20, 0), ends=dt.time(8, 0)
    )
    ShiftAssignment.objects.create(user=crews["member"], shift=night, date=dt.date(2026, 12, 3))
    dispatcher = people["dispatcher"]
    at(sh(2026, 12, 3, 21, 0))
    a = services.job_create(actor=dispatcher, ticket=located_case("repair-burst"))
    b = services.job_create(actor=dispatcher, ticket=located_case("repair-leak"))
    c = services.job_create(actor=dispatcher, ticket=located_case("repair-leak"))
    Job.objects.filter(pk=a.pk).update(affected_premises=40)
    a = services.job_assign(actor=dispatcher, job=a, crew=crews["haishu"], version=a.version)
    b = services.job_assign(actor=dispatcher, job=b, crew=crews["jiangbei"], version=b.version)
    services.job_cancel(actor=dispatcher, job=c, version=c.version, reason="重复报修")
    for step in ("accept", "en_route", "arrive"):
        a = _kpi_step(crews["member"], a, step)
    at(sh(2026, 12, 4, 1, 30))  # past the leak's 4 h arrival budget
    for step in ("accept", "en_route", "arrive"):
        b = _kpi_step(crews["member2"], b, step)
    at(sh(2026, 12, 4, 2, 0))
    a = _kpi_step(crews["member"], a, "repaired")
    a = _kpi_step(crews["member"], a, "restored")
    fixers = ReferralPartner.objects.create(name="甬城测漏", service="测漏")
    plumbers = ReferralPartner.objects.create(name="好管家水电", service="水电维修")
    for partner, case in ((fixers, a.ticket), (fixers, b.ticket), (plumbers, b.ticket)):
        services.referral_make(actor=people["agent"], ticket=case, partner=partner)
    at(sh(2026, 12, 20, 12, 0))  # long after B's restoration deadline
    return {"a": a, "b": b, "fixers": fixers}
