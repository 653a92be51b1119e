"""The demo: Ningbo's areas, a 24-hour roster of 26 agents, one working login per role."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from qingquan.areas.models import Community, District, Street
from qingquan.core import demo
from qingquan.staff import selectors
from qingquan.staff.demo import DEMO_PASSWORD
from qingquan.staff.models import User
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    with time_machine.travel("2026-11-28 10:00 +0800", tick=False):
        logins = demo.demo_seed()
    return logins


def test_the_demo(seeded):
    """One seeding (it takes seconds), every promise about it checked."""
    _ningbo_districts_streets_and_communities()
    _one_login_per_role_and_each_works(seeded)
    _twenty_six_agents_cover_twenty_four_hours()
    _seeding_twice_changes_nothing()


def _ningbo_districts_streets_and_communities():
    names = set(District.objects.values_list("name", flat=True))
    assert {"海曙区", "江北区", "鄞州区", "镇海区", "北仑区", "奉化区"} <= names
    assert Street.objects.filter(district__name="海曙区", name="鼓楼街道").exists()
    assert Community.objects.count() >= 3 * Street.objects.count()


def _one_login_per_role_and_each_works(seeded):
    assert {login.role for login in seeded} == set(Role)
    for login in seeded:
        client = Client()
        response = client.post("/login/", {"username": login.username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, login.username
        assert login.full_name in client.get("/").content.decode()


def _twenty_six_agents_cover_twenty_four_hours():
    assert User.objects.filter(role=Role.AGENT).count() == 26
    for hour in range(24):
        at = dt.datetime(2026, 11, 28, hour, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        running = selectors.on_shift(at=at)
        agents = [s for s in running if s.assignment.user.role == Role.AGENT]
        supervisors = [s for s in running if s.assignment.user.role == Role.SUPERVISOR]
        assert 4 <= len(agents) <= 16, (hour, len(agents))  # 16 seats
        assert supervisors, hour


def _seeding_twice_changes_nothing():
    count = User.objects.count()
    assert demo.demo_seed() == []
    assert User.objects.count() == count


def test_demo_is_refused_in_production(settings):
    settings.QINGQUAN_ENV = "production"
    with pytest.raises(demo.DemoRefused):
        demo.demo_seed()
