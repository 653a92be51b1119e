"""#17 item 6: an agent looking a caller up sees, on the screen pop and the console's
look-up, one line per open repair job on the caller's cases or around the caller's
premises: state, crew, "crew arrived at HH:MM" and the expected restoration; in a
bounded number of queries whatever the number of jobs.

The hand-made network (network/tests/helpers.py): a job on P2 (segment {P2 J2}) cuts
off {P3}, {P4 J4} and the loop {P5 P6 P7 J5 J6 J3}; {P1 R1 J1} keeps its water."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from qingquan.dispatch import selectors, services
from qingquan.network.tests.helpers import import_small
from qingquan.tickets.tests.conftest import sh

pytestmark = pytest.mark.django_db

NEAR_J1 = {"longitude": 121.5509, "latitude": 29.87005}
NEAR_J2 = {"longitude": 121.5519, "latitude": 29.87005}
NEAR_J5 = {"longitude": 121.5521, "latitude": 29.8711}


@pytest.fixture
def burst(tmp_path, people, crews, new_case, at) -> dict[str, Any]:
    from qingquan.customers.tests import factories as cf

    at(sh(2026, 12, 3, 21, 0))
    import_small(tmp_path)
    j2, j5, j1 = cf.premise(**NEAR_J2), cf.premise(**NEAR_J5), cf.premise(**NEAR_J1)
    cut_off = cf.customer(name="李四", phones=("13900001111",))
    cf.account(cut_off, premise=j5, number="3302880005")
    fed = cf.customer(name="张三", phones=("13900002222",))
    cf.account(fed, premise=j1, number="3302880001")
    incident = new_case("repair-burst", premise=j2, address=j2.address, subject="路面冒水")
    job = services.job_create(actor=people["dispatcher"], ticket=incident)
    job = services.job_assign(
        actor=people["dispatcher"], job=job, crew=crews["haishu"], version=job.version
    )
    member = crews["member"]
    for n, kind in enumerate(["accept", "en_route"]):
        job = services.step_record(actor=member, job=job, kind=kind, client_id=f"pop-{n}").job
    at(sh(2026, 12, 3, 21, 40))
    job = services.step_record(actor=member, job=job, kind="arrive", client_id="pop-9").job
    return {"job": job, "incident": incident, "fed": fed, "j1": j1, "j2": j2}


def _lookup(user: Any, q: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"  # pages ignore Accept-Language
    client.force_login(user)
    response = client.get("/console/lookup/", {"q": q})
    assert response.status_code == 200
    return response.content.decode()


def test_a_caller_cut_off_by_the_job_sees_the_crew_arrival_and_the_restoration(
    people, burst
) -> None:
    page = _lookup(people["agent"], "3302880005")
    assert 'data-testid="pop-repair"' in page and burst["job"].number in page
    assert "crew arrived at 21:40" in page
    # The burst policy on the small network's DN300 P2: restore within 12 h of 21:00.
    assert "water expected back by 12-04 09:00" in page
    assert "海曙" in page or str(burst["job"].assignments.get().crew) in page
    # A caller on the segment that keeps its water sees no repair line.
    assert 'data-testid="pop-repair"' not in _lookup(people["agent"], "3302880001")


def test_a_caller_whose_case_was_merged_into_the_incident_sees_the_job(
    people, burst, new_case
) -> None:
    from qingquan.tickets import services as tickets

    call = new_case(
        "repair-burst",
        actor=people["agent2"],
        customer=burst["fed"],
        premise=burst["j1"],
        subject="没水了",
    )
    tickets.ticket_merge(
        actor=people["agent2"], ticket=call, version=call.version, parent=burst["incident"]
    )
    page = _lookup(people["agent"], "3302880001")
    assert 'data-testid="pop-repair"' in page and burst["job"].number in page


def test_the_restored_or_cancelled_job_leaves_the_pop_and_others_see_nothing(
    people, burst, crews, at
) -> None:
    assert selectors.repairs_for_pop(user=people["billing"], account_ids=[], case_ids={1}) == []
    job = burst["job"]
    member = crews["member"]
    for n, (kind, valve) in enumerate([("valve", "VA"), ("valve", "VB"), ("valve", "VE")]):
        job = services.step_record(
            actor=member, job=job, kind=kind, valve=valve, client_id=f"v-{n}"
        ).job
    job = services.step_record(actor=member, job=job, kind="repaired", client_id="r").job
    services.step_record(actor=member, job=job, kind="restored", client_id="s")
    assert 'data-testid="pop-repair"' not in _lookup(people["agent"], "3302880005")


def test_the_pop_reads_a_bounded_number_of_queries_whatever_the_jobs(
    people, burst, new_case
) -> None:
    from qingquan.customers.models import Account

    account = Account.objects.get(number="3302880005")

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            lines = selectors.repairs_for_pop(
                user=people["agent"], account_ids=[account.pk], case_ids=set()
            )
        return len(lines), len(queries)

    one, queries_one = count()
    for n in range(4):
        case = new_case("repair-burst", premise=burst["j2"], subject=f"又一处 {n}")
        services.job_create(actor=people["dispatcher"], ticket=case)
    five, queries_five = count()
    assert (one, five) == (1, 5)
    assert queries_five == queries_one <= 6
