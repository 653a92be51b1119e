"""The demo seeds commitments and callbacks; its statistics are consistent."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.reports import rollup
from qingquan.reports.demo import seed_reports
from qingquan.reports.models import ServiceCommitment
from qingquan.surveys.models import CallbackTask

pytestmark = pytest.mark.django_db


def test_demo_seed(new_case: Any, people: Any, client: Any, at: Any) -> None:
    from qingquan.tickets import services

    from .conftest import sh

    at(sh(2026, 3, 2, 9))
    for _ in range(12):
        case = new_case("consultation")
        services.ticket_resolve(
            actor=people["agent"], ticket=case, version=case.version, resolution="已答复"
        )
    at(sh(2026, 3, 5, 9))  # the callbacks, a few hours after each resolution, are behind us
    made = seed_reports()
    assert made["commitments"] == ServiceCommitment.objects.count() == 6
    done = CallbackTask.objects.filter(status="done")
    assert done.count() == made["callbacks"] > 0
    assert seed_reports()["commitments"] == 0  # seeding twice adds no commitments
    assert rollup.consistency_check() == []
    page = client.get("/commitments/")
    assert page.status_code == 200 and "回访满意率不低于99%" in page.content.decode()


def test_the_demo_looks_like_a_well_run_hotline(at: Any) -> None:
    """A year of history whose figures look like the seed's hotline (#14 item 6)."""
    import datetime as dt

    from qingquan.areas.services import areas_seed_ningbo
    from qingquan.reports import selectors
    from qingquan.reports.periods import period
    from qingquan.staff.demo import seed_staff
    from qingquan.tickets.demo import seed_tickets
    from qingquan.tickets.demo_history import LATE_KINDS
    from qingquan.tickets.models import Ticket

    from .conftest import sh

    now = at(sh(2026, 12, 3, 15))
    areas_seed_ningbo()
    seed_staff(today=now.date())
    seed_tickets(count=60)
    seed_reports()
    assert rollup.consistency_check() == []
    months = [period("month", dt.date(2025, 12, 1))]
    while months[-1].end < dt.date(2026, 12, 1):
        months.append(period("month", months[-1].end))
    for month in months:  # every past month: figures to show, like the seed's hotline
        row = selectors.totals(period=month)
        assert row.created > 100, month
        assert row.closure_rate is not None and row.closure_rate > 0.99, month
        assert row.on_time_rate is not None and 0.95 < row.on_time_rate <= 1, month
        assert row.satisfaction is not None and row.satisfaction > 0.97, month
        assert row.rated > 0.9 * row.created, month  # callbacks done
    year = selectors.totals(period=period("custom", dt.date(2025, 12, 1), dt.date(2026, 12, 1)))
    assert year.on_time_rate is not None and 0.97 < year.on_time_rate < 0.995
    assert year.satisfaction is not None and 0.985 < year.satisfaction < 0.998
    from django.db.models import Q

    kinds = ["consultation", "praise"]
    on_the_call = Ticket.objects.filter(Q(kind__code__in=kinds) | Q(kind__parent__code__in=kinds))
    assert not on_the_call.exclude(department=None).exists()  # answered, not dispatched
    # (a case reopens after a dissatisfied callback: that is the policy, not the demo)
    first_round = on_the_call.filter(reopen_count=0)
    assert not first_round.filter(state__in=["received", "dispatched", "in_progress"]).exists()
    overdue = Ticket.objects.open().filter(sla_state="breached")
    assert overdue.count() <= 5
    for case in overdue.select_related("kind", "kind__parent"):
        assert case.kind.code in LATE_KINDS or case.kind.top.code in LATE_KINDS
