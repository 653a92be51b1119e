"""Warnings and breaches reach owner and on-duty supervisors through the sweep."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.core.models import Notification
from qingquan.staff import services as staff_services
from qingquan.staff.models import Shift
from qingquan.tickets import services, tasks
from qingquan.tickets.models import SlaState, Ticket

from .conftest import resolution_counts, sh

pytestmark = pytest.mark.django_db


@pytest.fixture
def rostered(people: Any, make_user: Any) -> dict[str, Any]:
    """One supervisor on the early shift of 2 March 2026, another off duty."""
    from qingquan.staff.roles import Role

    early = Shift.objects.create(code="early", name="早班", starts=dt.time(8), ends=dt.time(16))
    staff_services.shift_assign(
        actor=SYSTEM, user=people["supervisor"], shift=early, date=dt.date(2026, 3, 2)
    )
    return {"on_duty": people["supervisor"], "off_duty": make_user(Role.SUPERVISOR)}


def test_sweep_warns_then_breaches_once(at: Any, new_case: Any, people: Any, rostered: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("repair-low-pressure")  # 24 h calendar, warning at 80 % = 19:12 h
    assert case.warn_at == sh(2026, 3, 3, 4, 12)
    assert resolution_counts(tasks.sweep()) == {"warning": 0, "breached": 0}

    at(sh(2026, 3, 2, 15))  # the early-shift supervisor is on duty
    # Nothing due yet; now move the clock past the warning threshold of a short case.
    burst = new_case("repair-burst")
    at(sh(2026, 3, 3, 10, 30))  # burst: 24 h from 15:00 -> warning at 10:12 next day
    assert resolution_counts(tasks.sweep()) == {"warning": 1, "breached": 1}
    assert Ticket.objects.get(pk=burst.pk).sla_state == SlaState.WARNING
    first = Ticket.objects.get(pk=case.pk)
    assert first.sla_state == SlaState.BREACHED and first.breached_at == sh(2026, 3, 3, 9)

    # (Both repairs also missed their arrival, and the first its restoration: other alerts.)
    overdue = f"Case {case.number} is overdue"
    owner_notes = Notification.objects.filter(recipient=people["agent"])
    assert owner_notes.filter(level="alert", title__startswith=overdue).count() == 1
    assert owner_notes.filter(level="warning", title__contains=burst.number).count() == 1
    # Supervisors on shift now: nobody rostered on 3 March, so every supervisor is told.
    for supervisor in (rostered["on_duty"], rostered["off_duty"]):
        assert (
            Notification.objects.filter(recipient=supervisor, title__startswith=overdue).count()
            == 1
        )

    # Running again (or a retried task) sends nothing new.
    count = Notification.objects.count()
    assert resolution_counts(tasks.sweep()) == {"warning": 0, "breached": 0}
    tasks.sla_alerts.call(ticket_ids=[case.pk, burst.pk], kind="breached")
    tasks.sla_alerts.call(ticket_ids=[burst.pk], kind="warning")
    assert Notification.objects.count() == count


def test_only_on_duty_supervisors_when_someone_is_rostered(
    at: Any, new_case: Any, people: Any, rostered: Any
) -> None:
    at(sh(2026, 3, 2, 8))
    case = new_case("repair-burst", subject="爆管")
    case = Ticket.objects.get(pk=case.pk)
    at(sh(2026, 3, 2, 15))  # 7 h of 24: no warning yet
    assert tasks.sweep()["warning"] == 0
    # Force a warning inside the early shift by asking for the alert directly.
    Ticket.objects.filter(pk=case.pk).update(sla_state=SlaState.WARNING)
    assert tasks.sla_alerts.call(ticket_ids=[case.pk], kind="warning") == 2
    warnings = Notification.objects.filter(level="warning")
    assert warnings.filter(recipient=rostered["on_duty"]).count() == 1
    assert not warnings.filter(recipient=rostered["off_duty"]).exists()


def test_paused_and_resolved_cases_are_not_swept(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    paused = new_case("repair-burst")
    services.ticket_pause(actor=people["agent"], ticket=paused, version=1, reason="force_majeure")
    done = new_case("repair-burst")
    services.ticket_resolve(actor=people["agent"], ticket=done, version=1, resolution="误报")
    at(sh(2026, 3, 10, 9))
    assert resolution_counts(tasks.sweep()) == {"warning": 0, "breached": 0}
    assert Ticket.objects.get(pk=paused.pk).sla_state == SlaState.PAUSED


def test_pause_after_the_deadline_keeps_the_breach(at: Any, new_case: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    case = new_case("repair-burst")
    at(sh(2026, 3, 3, 12))
    case = services.ticket_pause(actor=people["agent"], ticket=case, version=1, reason="customer")
    assert case.sla_state == SlaState.BREACHED
    assert case.resolution_deadline == sh(2026, 3, 3, 9)
    assert case.breached_at == sh(2026, 3, 3, 9)


def test_the_sweep_is_registered_every_minute() -> None:
    from qingquan.core.periodic import REGISTRY

    job = REGISTRY["qingquan.tickets.tasks.sla_sweep"]
    assert job.seconds == 60
