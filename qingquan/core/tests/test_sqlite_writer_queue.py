"""On SQLite the process's write transactions queue on one lock, which every way out of a
transaction (commit, rollback, a lost connection) gives back; a transaction that waits on a
thread of the process that needs to write is found at once, not after the timeout."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction

from qingquan.core.db.sqlite3.base import DEADLOCK_CHECK_SECONDS, WriterDeadlock, _writer_lock
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


# A transaction that waits on another thread of the process which needs to write
# (decision 0006, "Waiting on a writing thread inside a transaction").


@pytest.fixture
def timeout() -> Iterator[float]:
    """A short queue timeout (settings: 20 s), long enough for the slowest honest wait
    below: a deadlock found at once takes a fraction of it."""
    options = connection.settings_dict["OPTIONS"]
    before = options["timeout"]
    options["timeout"] = 4.0
    yield 4.0
    options["timeout"] = before


def write_day(date: str, *, atomic: bool = True) -> None:
    """Write one day from a thread of its own (its own connection)."""
    try:
        if atomic:
            with transaction.atomic():
                CalendarDay.objects.create(date=date, is_working_day=True, source="manual")
        else:  # one statement outside a transaction
            CalendarDay.objects.create(date=date, is_working_day=True, source="manual")
    finally:
        connection.close()


def test_a_transaction_waiting_on_a_pool_thread_that_writes_fails_at_once(timeout: float) -> None:
    started = time.monotonic()
    with (
        pytest.raises(WriterDeadlock, match="waits for this thread") as raised,
        transaction.atomic(),
    ):
        day()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(write_day, "2031-03-01").result(timeout=timeout)
    assert time.monotonic() - started < timeout / 2
    assert "test_sqlite_writer_queue.py" in str(raised.value)  # where the holder waits
    assert free()
    assert not CalendarDay.objects.filter(date__startswith="2031-0").exists()


def test_a_transaction_joining_a_thread_that_writes_outside_a_transaction_fails_at_once(
    timeout: float,
) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            write_day("2031-03-02", atomic=False)
        except BaseException as error:  # asserted below
            errors.append(error)

    started = time.monotonic()
    with transaction.atomic():
        day()
        thread = threading.Thread(target=run, name="writer")
        thread.start()
        thread.join(timeout)
        assert not thread.is_alive()
    assert time.monotonic() - started < timeout / 2
    assert len(errors) == 1 and isinstance(errors[0], WriterDeadlock)
    assert "'writer'" in str(errors[0])
    # The holder's own transaction went on and committed; the thread wrote nothing.
    assert CalendarDay.objects.filter(date="2031-01-01").exists()
    assert not CalendarDay.objects.filter(date="2031-03-02").exists()
    assert free()


def test_a_writer_waits_its_turn_while_the_holder_waits_on_another_thread(
    timeout: float,
) -> None:
    """Not a deadlock: the holder waits for a thread that does not write, a third thread
    waits for the holder. Nobody fails; the third thread writes after the commit."""
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            write_day("2031-03-03")
        except BaseException as error:  # asserted below
            errors.append(error)

    with transaction.atomic():
        day()
        waiting = threading.Thread(target=writer)
        waiting.start()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(time.sleep, 3 * DEADLOCK_CHECK_SECONDS).result()
        assert waiting.is_alive()  # still queued behind this transaction
    waiting.join(timeout)
    assert errors == []
    assert CalendarDay.objects.filter(date__in=["2031-01-01", "2031-03-03"]).count() == 2


def test_the_timeout_error_names_the_thread_holding_the_queue() -> None:
    held, done = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                day()
                held.set()
                done.wait(10)  # waits on something the queue cannot see
        finally:
            connection.close()

    thread = threading.Thread(target=holder, name="slow-holder")
    thread.start()
    options = connection.settings_dict["OPTIONS"]
    before = options["timeout"]
    options["timeout"] = 0.3
    try:
        assert held.wait(10)
        with pytest.raises(OperationalError, match="database is locked") as raised:
            write_day("2031-03-04")
    finally:
        options["timeout"] = before
        done.set()
        thread.join(10)
    assert not isinstance(raised.value, WriterDeadlock)
    assert "held by thread 'slow-holder'" in str(raised.value)
    assert "in holder" in str(raised.value)  # the line it waits at
