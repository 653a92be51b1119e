"""Two dispatchers assigning one job at once: one wins, the other gets a conflict with the
job as it is now (on SQLite and PostgreSQL: the version is raised by one UPDATE that only
one of them can win, `core.db.claims.claim_by_update`)."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.dispatch import services
from qingquan.dispatch.errors import Conflict
from qingquan.dispatch.models import Assignment, Job
from qingquan.tickets.tests.test_concurrency import run_in_threads

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


def test_two_dispatchers_assign_at_once(
    people: Any, crews: Any, located_case: Any, make_user: Any
) -> None:
    from qingquan.staff.roles import Role

    other = make_user(Role.DISPATCHER)
    for _round in range(3):
        job = services.job_create(
            actor=people["dispatcher"], ticket=located_case(lon=121.6, lat=29.9)
        )
        attempts = [
            (people["dispatcher"], crews["haishu"]),
            (other, crews["jiangbei"]),
        ]
        results = run_in_threads(
            2,
            lambda i, job=job, attempts=attempts: services.job_assign(
                actor=attempts[i][0], job=job, crew=attempts[i][1], version=job.version
            ),
        )
        winners = [r for r in results if isinstance(r, Job)]
        conflicts = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(conflicts) == 1, results
        assert Assignment.objects.filter(job=job, ended_at=None).count() == 1
        won = Assignment.objects.get(job=job).crew
        assert won.team.code in conflicts[0].message  # the current state: who has it
        assert conflicts[0].job.version == winners[0].version
