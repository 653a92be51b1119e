"""The demo cases are created through the services and cover every state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qingquan.core.clock import SHANGHAI
from qingquan.tickets.demo import RECENT_DAYS, seed_tickets
from qingquan.tickets.models import Ticket

from .conftest import sh


@pytest.mark.django_db
def test_seed_tickets_makes_consistent_cases(at: Any) -> None:
    from qingquan.areas.services import areas_seed_ningbo
    from qingquan.staff.demo import seed_staff

    now = at(sh(2026, 3, 20, 15))
    areas_seed_ningbo()
    seed_staff(today=now.date())
    made = seed_tickets(count=80)
    cases = Ticket.objects.all()
    assert cases.count() == made > 80  # 80 recent ones and a year of history
    first = now.astimezone(SHANGHAI).date() - dt.timedelta(days=RECENT_DAYS - 1)
    recent = cases.filter(created_at__gte=dt.datetime.combine(first, dt.time(), tzinfo=SHANGHAI))
    assert recent.count() == 80
    states = set(cases.values_list("state", flat=True))
    assert {"resolved", "closed", "in_progress"} <= states
    for case in cases:
        assert case.created_at <= now
        assert case.events.filter(action="create").count() == 1
        assert list(case.events.values_list("at", flat=True)) == sorted(
            case.events.values_list("at", flat=True)
        )
        if case.state in ("resolved", "closed"):
            assert case.on_time is not None and case.resolved_at <= now
    assert cases.filter(on_time=True).count() > cases.filter(on_time=False).count()
