"""Workers that stay up: a cut database connection, idle or in the middle of a task, is
survived; the task is run to its end once; the heartbeat and SIGTERM (docs/operations.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django_tasks import task

from qingquan.core import periodic
from qingquan.core.models import AuditEvent, WorkerHeartbeat

STARTED = threading.Event()
RELEASE = threading.Event()
BACKEND_PIDS: list[int] = []

# These tests cut database connections; bin/test runs them in a process of their own so
# that no other test inherits a connection of that process cut under it.
pytestmark = pytest.mark.connection_cuts

postgres_only = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="pg_terminate_backend cuts a connection on PostgreSQL only; SQLite has none to cut",
)


@task()
def cut_in_the_middle(marker: str) -> None:
    """Records its connection, waits for the test to cut it, then writes its one row."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        BACKEND_PIDS.append(cursor.fetchone()[0])
    STARTED.set()
    RELEASE.wait(30)
    with transaction.atomic():
        AuditEvent.objects.create(at="2026-12-01T00:00:00+08:00", action=marker)


@task()
def write_marker(marker: str) -> None:
    AuditEvent.objects.create(at="2026-12-01T00:00:00+08:00", action=marker)


def _wait_for(condition: Any, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def _terminate_other_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.fixture
def worker(monkeypatch: Any) -> Any:
    from qingquan.core.worker import Worker

    monkeypatch.setattr(periodic, "REGISTRY", {})  # no periodic jobs: only the test's tasks
    running = Worker(kind="test").start()
    try:
        yield running
    finally:
        running.shutdown(timeout=60)
        # A loop still running would go on using this test database's connections during
        # the tests after this one.
        alive = [t.name for t in running.threads if t.is_alive()]
        if connection.vendor == "postgresql":
            # These tests cut connections of this process's pool; the tests after them
            # start from a fresh pool rather than meet a connection cut in another thread.
            connection.close()
            close_pool = getattr(connection, "close_pool", None)  # the PostgreSQL backend's
            if close_pool is not None:
                close_pool()
        assert alive == [], "the worker did not stop"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_connection_cut_mid_task_the_task_is_finished_once(worker: Any, caplog: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    STARTED.clear()
    RELEASE.clear()
    BACKEND_PIDS.clear()
    result = cut_in_the_middle.enqueue(marker="test.cut-mid-task")
    assert STARTED.wait(60), "the worker never started the task"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [BACKEND_PIDS[0]])
    RELEASE.set()
    assert _wait_for(lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"), (
        DBTaskResult.objects.get(pk=result.id).status
    )
    assert AuditEvent.objects.filter(action="test.cut-mid-task").count() == 1
    assert len(BACKEND_PIDS) == 2  # run again on a new connection, after the cut
    assert "database unavailable" in caplog.text and "database back" in caplog.text
    assert caplog.text.count("database unavailable") == 1  # one warning per outage
    assert all(thread.is_alive() for thread in worker.threads)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_connections_cut_while_idle_the_worker_goes_on(worker: Any) -> None:
    assert _wait_for(lambda: WorkerHeartbeat.objects.filter(worker_id=worker.worker_id).exists())
    time.sleep(1)  # every loop idle, its pooled connection open
    assert _terminate_other_backends() >= 1
    result = write_marker.enqueue(marker="test.cut-idle")
    assert _wait_for(lambda: AuditEvent.objects.filter(action="test.cut-idle").exists())
    assert AuditEvent.objects.filter(action="test.cut-idle").count() == 1
    assert result.id
    assert all(thread.is_alive() for thread in worker.threads)


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_running_task_then_stops(tmp_path: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    from qingquan.partners.tests.test_outbox import _database_url

    env = {**os.environ, "DATABASE_URL": _database_url(), "QINGQUAN_DATA_DIR": str(tmp_path)}
    log_path = tmp_path / "worker.log"
    with log_path.open("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "qingquan.cli", "worker"], env=env, stdout=log, stderr=log
        )
        try:
            # Up (its heartbeat written) before the task is queued, so that the signal
            # comes while the task runs, however slowly this machine starts a process.
            assert _wait_for(lambda: WorkerHeartbeat.objects.count() == 1, 90), log_path.read_text()
            result = slow_marker.enqueue(marker="test.sigterm")
            assert _wait_for(
                lambda: DBTaskResult.objects.get(pk=result.id).status == "RUNNING", 90
            ), log_path.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
    assert AuditEvent.objects.filter(action="test.sigterm").count() == 1
    assert not WorkerHeartbeat.objects.exists()  # a clean stop is not a silent worker
    assert "Worker stopped" in log_path.read_text()


@task()
def slow_marker(marker: str) -> None:
    """Takes a few seconds: long enough to be running when SIGTERM arrives."""
    time.sleep(3)
    AuditEvent.objects.create(at="2026-12-01T00:00:00+08:00", action=marker)
