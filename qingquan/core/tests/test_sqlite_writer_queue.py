"""On SQLite the process's write transactions queue on one lock, which every way out of a
transaction (commit, rollback, a lost connection) gives back."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction

from qingquan.core.db.sqlite3.base import _writer_lock
from qingquan.core.models import CalendarDay

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's writer queue"),
]


def lock() -> threading.Lock:
    return _writer_lock(str(connection.settings_dict["NAME"]))


def free() -> bool:
    """Whether another thread could start a write transaction now."""
    result: list[bool] = []

    def probe() -> None:
        taken = lock().acquire(blocking=False)
        if taken:
            lock().release()
        result.append(taken)

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return result[0]


def day(**extra: Any) -> CalendarDay:
    return CalendarDay.objects.create(
        date="2031-01-01", is_working_day=False, source="manual", **extra
    )


def test_a_transaction_holds_the_queue_until_it_commits() -> None:
    assert free()
    with transaction.atomic():
        day()
        assert not free()
        with transaction.atomic():  # a savepoint does not queue again
            assert not free()
    assert free()
    assert CalendarDay.objects.filter(date="2031-01-01").exists()


def test_a_failed_transaction_gives_the_queue_back_and_writes_nothing() -> None:
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        day()
        1 / 0  # noqa: B018
    assert free()
    assert not CalendarDay.objects.filter(date="2031-01-01").exists()


def test_a_connection_closed_inside_a_transaction_gives_the_queue_back() -> None:
    with transaction.atomic():
        day()
        assert not free()
        connection.close()
    assert free()
    assert not CalendarDay.objects.filter(date="2031-01-01").exists()


def test_a_writer_that_waits_too_long_gets_a_clear_error() -> None:
    timeout = connection.settings_dict["OPTIONS"]["timeout"]
    connection.settings_dict["OPTIONS"]["timeout"] = 0.05
    lock().acquire()  # another thread's long transaction
    try:
        with pytest.raises(OperationalError, match="database is locked"), transaction.atomic():
            day()
    finally:
        lock().release()
        connection.settings_dict["OPTIONS"]["timeout"] = timeout
    assert free()
    assert not CalendarDay.objects.filter(date="2031-01-01").exists()


def test_threads_writing_at_once_all_commit() -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def write(index: int) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                CalendarDay.objects.create(
                    date=f"2031-02-{index + 1:02d}", is_working_day=True, source="manual"
                )
        except BaseException as error:  # collected and asserted below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert CalendarDay.objects.filter(date__startswith="2031-02").count() == 8
    assert free()


def test_closed_connections_are_kept_for_the_next_request() -> None:
    connection.ensure_connection()
    first = connection.connection
    connection.close()  # the end of a request
    connection.ensure_connection()
    assert connection.connection is first  # no new connection, no schema read again
    assert CalendarDay.objects.count() >= 0  # and it works


def test_a_connection_closed_inside_a_transaction_is_not_kept() -> None:
    with transaction.atomic():
        day()
        abandoned = connection.connection
        connection.close()
    connection.ensure_connection()
    assert connection.connection is not abandoned
    assert not CalendarDay.objects.filter(date="2031-01-01").exists()
