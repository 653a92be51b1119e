"""Staff services: accounts, roles, roster; each change audited."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.staff import selectors, services
from qingquan.staff.models import Shift
from qingquan.staff.roles import DepartmentKind, Role
from qingquan.staff.tests import factories

pytestmark = pytest.mark.django_db


def test_create_records_audit_without_password(administrator):
    user = factories.make_user(Role.DISPATCHER, full_name="李调度")
    event = AuditEvent.objects.filter(action="staff.create", object_id=str(user.pk)).get()
    assert event.after["role"] == "dispatcher"
    assert "password" not in event.after


def test_an_already_hashed_password_is_kept_and_logs_in():
    from django.contrib.auth.hashers import make_password

    shared = make_password("qingquan-shared-96390")
    first, second = (
        services.staff_create(
            actor=SYSTEM,
            username=name,
            full_name="演示",
            role=Role.AGENT,
            password=None,
            password_hash=shared,
        )
        for name in ("demo-a", "demo-b")
    )
    for user in (first, second):
        user.refresh_from_db()
        assert user.password == shared
        assert user.check_password("qingquan-shared-96390")


def test_duplicate_login_name_is_refused(agent):
    with pytest.raises(ValidationError) as error:
        factories.make_user(Role.AGENT, username=agent.username.upper())
    assert "username" in error.value.message_dict


def test_weak_password_is_refused_for_real_accounts():
    with pytest.raises(ValidationError):
        services.staff_create(
            actor=SYSTEM, username="newbie", full_name="新人", role=Role.AGENT, password="123456"
        )


def test_team_must_belong_to_the_department():
    hotline = factories.department("hotline")
    repair = factories.department("repair", DepartmentKind.REPAIR)
    crew = factories.team("crew-1", repair, is_crew=True)
    with pytest.raises(ValidationError):
        factories.make_user(Role.CREW, department=hotline, team=crew)


def test_role_change_is_audited_with_before_and_after(administrator, agent):
    services.staff_update(actor=administrator, user=agent, role=Role.SUPERVISOR)
    event = AuditEvent.objects.get(action="staff.update")
    assert event.before["role"] == "agent" and event.after["role"] == "supervisor"
    assert event.actor == administrator


def test_nobody_is_a_superuser_administrators_hold_capabilities(agent, administrator):
    """Administrators are not Django superusers (#13: no bypass of the capability model);
    creating one or changing a role to administrator never sets the flag."""
    assert not administrator.is_superuser
    updated = services.staff_update(actor=administrator, user=agent, role=Role.ADMINISTRATOR)
    assert not updated.is_superuser
    created = services.staff_create(
        actor=administrator,
        username="admin2",
        full_name="管理员二",
        role=Role.ADMINISTRATOR,
        password=None,
    )
    assert not created.is_superuser


def _shift(code: str, starts: dt.time, ends: dt.time) -> Shift:
    return Shift.objects.create(code=code, name=code, starts=starts, ends=ends)


def test_night_shift_crossing_midnight_is_found_next_morning(agent, supervisor):
    late = _shift("late", dt.time(16), dt.time(0))
    services.shift_assign(actor=supervisor, user=agent, shift=late, date=dt.date(2026, 11, 27))
    with time_machine.travel("2026-11-27 23:30 +0800", tick=False):
        now = selectors.shift_for(user=agent)
        assert now is not None and now.running
    with time_machine.travel("2026-11-28 00:00 +0800", tick=False):
        assert selectors.shift_for(user=agent) is None


def test_next_shift_is_reported_when_off_duty(agent, supervisor):
    early = _shift("early", dt.time(8), dt.time(16))
    services.shift_assign(actor=supervisor, user=agent, shift=early, date=dt.date(2026, 11, 30))
    with time_machine.travel("2026-11-28 12:00 +0800", tick=False):
        upcoming = selectors.shift_for(user=agent)
    assert upcoming is not None and not upcoming.running
    assert upcoming.starts.isoformat() == "2026-11-30T08:00:00+08:00"


def test_assign_is_idempotent_and_unassign_audited(agent, supervisor):
    early = _shift("early", dt.time(8), dt.time(16))
    day = dt.date(2026, 11, 28)
    first = services.shift_assign(actor=supervisor, user=agent, shift=early, date=day)
    again = services.shift_assign(actor=supervisor, user=agent, shift=early, date=day)
    assert first.pk == again.pk
    assert AuditEvent.objects.filter(action="roster.assign").count() == 1
    services.shift_unassign(actor=supervisor, assignment=first)
    assert AuditEvent.objects.filter(action="roster.unassign").count() == 1
    with time_machine.travel("2026-11-28 09:00 +0800", tick=False):
        assert selectors.on_shift() == []
