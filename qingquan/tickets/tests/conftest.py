"""Fixtures for the case tests: organisation, immediate background tasks, helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from qingquan.core.sla import SHANGHAI
from qingquan.staff.roles import DepartmentKind, Role
from qingquan.staff.tests.factories import department, team


@pytest.fixture(autouse=True)
def immediate_tasks(settings: Any) -> None:
    """Run enqueued tasks at once (on commit), so tests see their notifications."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def english() -> Any:
    """Messages in English (the source language), whatever the default language is."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def commit_hooks(request: Any, monkeypatch: Any) -> None:
    """Run on-commit hooks when a service's transaction ends, as in production.

    Tests run inside a transaction that never commits, so hooks registered by a service
    would otherwise never run; here they run when the service's atomic block exits
    successfully back to the test's own level (hooks of rolled-back blocks are dropped
    by Django before that).
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None or marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("db")
    from django.db import transaction

    base = len(transaction.get_connection().savepoint_ids)
    original_exit = transaction.Atomic.__exit__

    def exit_and_run(self: Any, exc_type: Any, exc: Any, tb: Any) -> Any:
        result = original_exit(self, exc_type, exc, tb)
        conn = transaction.get_connection(self.using)
        if exc_type is None and conn.in_atomic_block and len(conn.savepoint_ids) == base:
            while conn.run_on_commit:
                _ids, func, _robust = conn.run_on_commit.pop(0)
                func()
        return result

    monkeypatch.setattr(transaction.Atomic, "__exit__", exit_and_run)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware Asia/Shanghai instant."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def at() -> Any:
    """Travel to an instant (time stands still until the next call)."""
    travellers: list[Any] = []

    def go(moment: dt.datetime) -> dt.datetime:
        if travellers:
            travellers.pop().stop()
        traveller = time_machine.travel(moment, tick=False)
        traveller.start()
        travellers.append(traveller)
        return moment

    yield go
    for traveller in travellers:
        traveller.stop()


@pytest.fixture
def reference_data(db: Any) -> None:
    """Re-create the migration-seeded kinds and calendar if a transactional test's flush
    removed them (the seeds are idempotent)."""
    from qingquan.core.calendar import calendar_seed
    from qingquan.tickets.kinds_seed import seed
    from qingquan.tickets.models import CaseKind, SlaPolicy

    seed(SlaPolicy, CaseKind)
    calendar_seed(years=range(2025, 2028))


@pytest.fixture
def org(db: Any) -> dict[str, Any]:
    """Departments and teams like the demo's."""
    hotline = department("hotline", DepartmentKind.HOTLINE)
    repair = department("repair", DepartmentKind.REPAIR)
    billing = department("billing", DepartmentKind.BILLING)
    connections = department("connections", DepartmentKind.CONNECTIONS)
    metering = department("metering", DepartmentKind.METERING)
    return {
        "hotline": hotline,
        "repair": repair,
        "billing": billing,
        "connections": connections,
        "metering": metering,
        "crew": team("crew-haishu", repair, is_crew=True),
        "crew2": team("crew-jiangbei", repair, is_crew=True),
        "agents": team("hotline-1", hotline),
    }


@pytest.fixture
def people(org: dict[str, Any], make_user: Callable[..., Any]) -> dict[str, Any]:
    return {
        "agent": make_user(Role.AGENT, department=org["hotline"], team=org["agents"]),
        "agent2": make_user(Role.AGENT, department=org["hotline"], team=org["agents"]),
        "supervisor": make_user(Role.SUPERVISOR, department=org["hotline"]),
        "dispatcher": make_user(Role.DISPATCHER, department=org["repair"]),
        "crew": make_user(Role.CREW, department=org["repair"], team=org["crew"]),
        "billing": make_user(Role.BACK_OFFICE, department=org["billing"]),
        "connections": make_user(Role.BACK_OFFICE, department=org["connections"]),
        "admin": make_user(Role.ADMINISTRATOR),
    }


@pytest.fixture
def kind() -> Callable[[str], Any]:
    from qingquan.tickets.models import CaseKind

    def get(code: str) -> Any:
        return CaseKind.objects.select_related("parent", "policy").get(code=code)

    return get


@pytest.fixture
def new_case(people: dict[str, Any], kind: Callable[[str], Any]) -> Callable[..., Any]:
    """Open a case through the service, as an agent on the phone by default."""
    from qingquan.tickets import services

    def make(code: str = "consultation", actor: Any = None, **kwargs: Any) -> Any:
        params: dict[str, Any] = {
            "channel": "phone",
            "subject": f"{code} case",
            "caller_phone": "13800000000",
        }
        params.update(kwargs)
        return services.ticket_create(actor=actor or people["agent"], kind=kind(code), **params)

    return make


def resolution_counts(counts: dict[str, int]) -> dict[str, int]:
    """The resolution clock's part of a sweep's counts (warnings and breaches)."""
    return {"warning": counts["warning"], "breached": counts["breached"]}
