"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qingquan.staff.roles import Role

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses to run
# in such a thread unless told it is safe (it is: the loop only drives the browser).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# Tests import the ASGI application without a server: no warm-up requests (decision 0010).
os.environ.setdefault("QINGQUAN_WARM_UP", "0")


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> None:
    """Argon2 is slow by design; tests that are not about hashing use a fast hasher.

    test_auth.py checks that the real settings hash with Argon2."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    # The demo's generated city is volume, not behaviour: a small one keeps tests quick.
    settings.QINGQUAN_DEMO_ACCOUNTS = 200
    # The demo's pipe network: WNTR's small Net3 instead of Net6.
    settings.QINGQUAN_DEMO_NETWORK = "Net3"


# Data migrations that seed reference data, each with a model that is empty without it.
# (model, [(migration module, its seeding function), …] run in order when it is empty)
REFERENCE_MIGRATIONS = [
    ("core.CalendarDay", [("qingquan.core.migrations.0003_seed_calendar", "seed")]),
    ("tickets.CaseKind", [("qingquan.tickets.migrations.0002_seed_kinds", "seed")]),
    ("surveys.CallbackPolicy", [("qingquan.surveys.migrations.0002_default_policies", "seed")]),
    ("knowledge.SynonymGroup", [("qingquan.knowledge.migrations.0003_seed_synonyms", "seed")]),
    ("dispatch.RepairPolicy", [("qingquan.dispatch.migrations.0002_seed_policies", "seed")]),
    (
        "connections.Policy",
        [
            ("qingquan.connections.migrations.0002_seed", "seed"),
            (
                "qingquan.connections.migrations.0003_real_estate_milestones_provincial",
                "seed_milestones",
            ),
        ],
    ),
]


def _drop_a_cut_connection() -> None:
    """The worker's fault tests cut PostgreSQL connections on purpose, and Django keeps
    this thread's connection from one test to the next: a test after them starts on a new
    connection rather than inherit a cut one (one `SELECT 1`)."""
    from django.db import connection

    cut = connection.connection is not None and not connection.is_usable()
    if connection.vendor == "postgresql" and cut:
        connection.close()


@pytest.fixture(autouse=True)
def reference_data(request: Any) -> None:
    """Data that migrations seed (working-day calendar, case kinds, callback policies).

    A transactional test flushes every table when it ends, so a later test would find them
    empty; this runs those data migrations again where their table is empty (one cheap
    query each otherwise). It replaces serialized_rollback, which breaks on content types
    after such a flush."""
    if request.node.get_closest_marker("django_db") is None:
        return
    _drop_a_cut_connection()
    request.getfixturevalue("_django_db_helper")
    import importlib

    from django.apps import apps

    for model_label, seeds in REFERENCE_MIGRATIONS:
        if not apps.get_model(model_label).objects.exists():
            for module_name, function in seeds:
                getattr(importlib.import_module(module_name), function)(apps, None)


@pytest.fixture(autouse=True)
def fresh_case_numbers(request: Any) -> None:
    """Case numbers come from a sequence a day on PostgreSQL (decision 0009), which a
    transactional test's flush leaves behind: each test starts its days' numbering at 1,
    as on SQLite."""
    if request.node.get_closest_marker("django_db") is None:
        return
    _drop_a_cut_connection()
    request.getfixturevalue("_django_db_helper")
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'S' "
            "AND relname LIKE 'tickets\\_number\\_%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP SEQUENCE IF EXISTS "{name}"')


@pytest.fixture(autouse=True)
def fresh_calendar_cache() -> Iterator[None]:
    """Each test reads the calendar table afresh (a rolled-back test's rows must not linger
    in the process-wide cache)."""
    from qingquan.core.calendar import _forget

    _forget()
    yield
    _forget()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Give each test run its own test database, so that runs at the same time (several
    developers on one machine, or SQLite and PostgreSQL passes) never drop each other's."""
    from django.conf import settings

    suffix = f"_{os.getpid()}"
    test = settings.DATABASES["default"].setdefault("TEST", {})
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        name = str(test.get("NAME") or "test.sqlite3")
        if not name.endswith(f"{suffix}.sqlite3"):
            test["NAME"] = name.replace(".sqlite3", f"{suffix}.sqlite3")
    else:
        name = test.get("NAME") or f"test_{settings.DATABASES['default']['NAME']}"
        if not name.endswith(suffix):
            test["NAME"] = f"{name}{suffix}"


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    from qingquan.staff.tests.factories import make_user as factory

    return factory


@pytest.fixture
def agent(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.AGENT)


@pytest.fixture
def supervisor(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.SUPERVISOR)


@pytest.fixture
def administrator(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.ADMINISTRATOR)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (never a downloaded browser).

    One per test: Playwright's sync API keeps an event loop running in the test thread
    while it is open, and later tests that call async_to_sync must not find one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=os.environ.get("QINGQUAN_CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (Chinese UI by default) pointed at the live server."""
    context = browser.new_context(locale="zh-CN", base_url=live_server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def login(page: Any) -> Callable[[str, str], Any]:
    """Log in through the real login form."""
    from qingquan.staff.tests.factories import PASSWORD

    def do(username: str, password: str = PASSWORD) -> Any:
        page.goto("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return do


def pytest_sessionfinish(session: Any) -> None:
    """Leave nothing of this run's test database behind once Django has dropped it: the
    SQLite sidecar files (-wal, -shm), or on PostgreSQL the database itself when a
    connection still open in some thread made Django's drop fail."""
    from django.conf import settings

    if not settings.configured:
        return
    database = settings.DATABASES["default"]
    name = str(database.get("TEST", {}).get("NAME") or "")
    if not name.endswith(f"_{os.getpid()}") and not name.endswith(f"_{os.getpid()}.sqlite3"):
        return
    if database["ENGINE"].endswith("sqlite3"):
        if not Path(name).exists():
            for suffix in ("-wal", "-shm"):
                Path(name + suffix).unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    server: dict[str, Any] = {
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))
