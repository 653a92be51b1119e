"""The sweep watches every budget: resolution (warning, breach), response, and for
repairs arrival and restoration; each breach is announced once, met budgets never."""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.core.models import Notification
from qingquan.tickets import services, tasks
from qingquan.tickets.models import Ticket

from .conftest import sh

pytestmark = pytest.mark.django_db


def alerts(case: Any, text: str) -> int:
    return (
        Notification.objects.filter(title__contains=case.number)
        .filter(title__contains=text)
        .count()
    )


def test_arrival_and_restoration_breaches_are_announced_once(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("repair-burst")  # 1 h to arrive, 24 h to restore (calendar)
    at(sh(2026, 3, 2, 10, 30))
    counts = tasks.sweep()
    assert counts["arrival"] == 1 and counts["restoration"] == 0
    case = Ticket.objects.get(pk=case.pk)
    assert case.arrival_breached_at == sh(2026, 3, 2, 10) and case.arrival_due is None
    assert alerts(case, "No crew on site") == 2  # the owner and the supervisor
    at(sh(2026, 3, 3, 9, 30))
    counts = tasks.sweep()
    assert counts["restoration"] == 1 and counts["arrival"] == 0
    assert Ticket.objects.get(pk=case.pk).restoration_breached_at == sh(2026, 3, 3, 9)
    assert alerts(case, "Supply not restored") == 2
    assert sum(tasks.sweep().values()) == 0
    tasks.sla_alerts.call(ticket_ids=[case.pk], kind="arrival")  # a retried task
    assert alerts(case, "No crew on site") == 2


def test_met_budgets_are_not_announced(at: Any, new_case: Any, people: Any, org: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("repair-burst")
    case = services.ticket_dispatch(actor=people["agent"], ticket=case, version=1, team=org["crew"])
    at(sh(2026, 3, 2, 9, 40))
    case = services.ticket_arrive(actor=people["crew"], ticket=case, version=case.version)
    assert case.arrival_due is None and case.restoration_due is not None
    at(sh(2026, 3, 2, 12))
    services.ticket_resolve(
        actor=people["crew"], ticket=case, version=case.version, resolution="已修复"
    )
    at(sh(2026, 3, 5, 9))
    assert sum(tasks.sweep().values()) == 0
    assert not Notification.objects.filter(title__contains=case.number, level="alert").exists()


def test_response_budget_is_met_by_dispatch_and_breached_otherwise(
    at: Any, new_case: Any, people: Any, org: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    answered = new_case("complaint")  # 4 working hours to respond: 13:00 the same day
    waiting = new_case("complaint")
    services.ticket_dispatch(
        actor=people["agent"], ticket=answered, version=1, department=org["billing"]
    )
    at(sh(2026, 3, 2, 14))
    assert tasks.sweep()["response"] == 1
    assert Ticket.objects.get(pk=waiting.pk).response_breached_at == sh(2026, 3, 2, 13)
    assert Ticket.objects.get(pk=answered.pk).response_breached_at is None
    assert alerts(waiting, "was not answered in time") == 2
    assert alerts(answered, "was not answered in time") == 0


def test_a_pause_stops_the_timers_and_the_resume_moves_them(
    at: Any, new_case: Any, people: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("repair-burst")
    case = services.ticket_pause(
        actor=people["agent"], ticket=case, version=1, reason="force_majeure"
    )
    at(sh(2026, 3, 2, 12))
    assert tasks.sweep()["arrival"] == 0
    case = services.ticket_resume(actor=people["agent"], ticket=case, version=case.version)
    assert case.arrival_deadline == case.arrival_due == sh(2026, 3, 2, 13)  # 10:00 + 3 h
    at(sh(2026, 3, 2, 13, 1))
    assert tasks.sweep()["arrival"] == 1


def test_a_claimed_chunk_is_not_claimed_again(at: Any, new_case: Any) -> None:
    """Two sweeps at once: the UPDATE that flags a case is what claims it."""
    at(sh(2026, 3, 2, 9))
    first, second = new_case("repair-burst"), new_case("repair-burst")
    at(sh(2026, 3, 2, 11))
    claimed = tasks._claim("arrival", now=sh(2026, 3, 2, 11))
    assert sorted(claimed) == sorted([first.pk, second.pk])
    assert tasks._claim("arrival", now=sh(2026, 3, 2, 11)) == []
    assert alerts(first, "No crew on site") == 2
