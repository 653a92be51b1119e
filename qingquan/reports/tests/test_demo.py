"""The demo seeds commitments and callbacks; its statistics are consistent."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.reports import rollup
from qingquan.reports.demo import seed_reports
from qingquan.reports.models import ServiceCommitment
from qingquan.surveys.models import CallbackTask

pytestmark = pytest.mark.django_db


def test_demo_seed(new_case: Any, people: Any, client: Any) -> None:
    from qingquan.tickets import services

    for _ in range(12):
        case = new_case("consultation")
        services.ticket_resolve(
            actor=people["agent"], ticket=case, version=case.version, resolution="已答复"
        )
    made = seed_reports()
    assert made["commitments"] == ServiceCommitment.objects.count() == 6
    done = CallbackTask.objects.filter(status="done")
    assert done.count() == made["callbacks"] > 0
    assert seed_reports()["commitments"] == 0  # seeding twice adds no commitments
    assert rollup.consistency_check() == []
    page = client.get("/commitments/")
    assert page.status_code == 200 and "回访满意率不低于99%" in page.content.decode()
