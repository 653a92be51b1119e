"""Running the background worker: alone (`qingquan worker`) or inside `qingquan serve`.

A worker is a process with five loops, each in a thread of its own:

- two task runners (django-tasks-db rows): one for the periodic queue, one for every
  other queue, so the SLA sweep never waits behind bulk work;
- the ticker, which claims each periodic job once per slot (`core.periodic`);
- the outbox dispatcher, which claims due outbox rows in batches and sends them
  (`core.outbox`);
- the heartbeat, which writes the worker's `WorkerHeartbeat` row every
  `HEARTBEAT_SECONDS`, renews the leases of what the worker holds, and gives the claims of
  workers silent for longer than a lease back to the queue.

Every loop survives the database going away: a connection error closes the thread's
connection, waits (backing off from half a second to `MAX_BACKOFF`) and tries again; the
process logs one warning when the database goes and one when it is back. A task cut off
by a connection error is put back in the queue and run again once the database is back.
SIGTERM (or SIGINT) lets the running task and the send in progress finish, gives back
the outbox rows claimed but not sent, deletes the heartbeat row and stops.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils.crypto import get_random_string

from qingquan.core import clock

logger = logging.getLogger(__name__)

TICK_SECONDS = 5
HEARTBEAT_SECONDS = 10
POLL_SECONDS = 1.0
TASK_POLL_SECONDS = 0.5
MAX_BACKOFF = 10.0
MAX_REQUEUES = 5  # a task cut off this often by connection errors is marked failed
FORGET_AFTER = dt.timedelta(days=1)  # silent heartbeat rows are removed after this
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def _import_task_modules() -> None:
    """Import every app's tasks module so periodic jobs are registered."""
    from importlib import import_module

    from django.apps import apps

    for config in apps.get_app_configs():
        if config.name.startswith("qingquan."):
            try:
                import_module(f"{config.name}.tasks")
            except ModuleNotFoundError as error:
                if error.name != f"{config.name}.tasks":
                    raise


def new_worker_id() -> str:
    """A worker id unique across machines and restarts (at most 64 characters)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"


class Outage:
    """The process's view of the database: one warning when it goes, one when it is back
    (however many threads notice)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.since: float | None = None

    def failed(self, error: BaseException) -> None:
        with self.lock:
            if self.since is None:
                self.since = time.monotonic()
                logger.warning("database unavailable (%s); retrying with backoff", error)

    def recovered(self) -> None:
        with self.lock:
            if self.since is not None:
                logger.warning("database back after %.1f s", time.monotonic() - self.since)
                self.since = None

    @property
    def down(self) -> bool:
        return self.since is not None


def _drop_connection() -> None:
    """Close this thread's connection (broken or not) so the next query opens a new one."""
    try:
        connection.close()
    except Exception:  # already gone: nothing to close
        logger.debug("closing a broken connection failed", exc_info=True)


def _close_old_connections() -> None:
    """Django's per-request clean-up, which must not end a loop by raising itself."""
    try:
        close_old_connections()
    except Exception:
        _drop_connection()


def resilient_loop(
    name: str,
    step: Callable[[], bool],
    *,
    stop: threading.Event,
    outage: Outage,
    idle: Callable[[], Any],
) -> None:
    """Run `step` until `stop`; `idle()` waits after a step that found nothing to do.

    Never returns on an error: connection errors back off until the database answers,
    other errors are logged and the loop goes on.
    """
    delay = 0.5
    while not stop.is_set():
        try:
            busy = step()
        except CONNECTION_ERRORS as error:
            outage.failed(error)
            _drop_connection()
            stop.wait(delay)
            delay = min(delay * 2, MAX_BACKOFF)
            continue
        except Exception:
            logger.exception("%s: unexpected error; going on", name)
            _drop_connection()
            busy = False
        else:
            outage.recovered()
            delay = 0.5
        finally:
            _close_old_connections()
        if not busy and not stop.is_set():
            idle()
    _drop_connection()


class TaskRunner:
    """Runs django-tasks-db tasks of some queues, one at a time, claimed in the database."""

    def __init__(self, *, worker_id: str, queues: list[str] | None, exclude: list[str]) -> None:
        self.worker_id = worker_id
        self.queues = queues
        self.exclude = exclude
        self.current: int | Any = None
        self.requeues: dict[Any, int] = {}

    def step(self) -> bool:
        """Claim and run the next ready task; False if none was ready."""
        from django_tasks_db.models import DBTaskResult
        from django_tasks_db.utils import exclusive_transaction

        if self.current is not None:
            self._requeue(self.current)
        tasks = DBTaskResult.objects.ready().filter(backend_name="default")
        if self.queues is not None:
            tasks = tasks.filter(queue_name__in=self.queues)
        if self.exclude:
            tasks = tasks.exclude(queue_name__in=self.exclude)
        if not tasks.exists():  # an idle poll takes no write lock
            return False
        with exclusive_transaction(tasks.db):
            result = tasks.get_locked()
            if result is not None:
                result.claim(self.worker_id)
        if result is None:
            return False
        self.current = result.pk
        self.run(result)
        self.current = None
        self.requeues.pop(result.pk, None)
        return True

    def _requeue(self, pk: Any) -> None:
        """Put back a task a connection error cut off (it is run again, as every task may
        be); after `MAX_REQUEUES` it is marked failed instead."""
        from django_tasks_db.models import DBTaskResult

        count = self.requeues.get(pk, 0) + 1
        running = DBTaskResult.objects.filter(pk=pk, status="RUNNING")
        if count > MAX_REQUEUES:
            result = running.first()
            if result is not None:
                result.set_failed(RuntimeError("cut off by connection errors too often"))
            self.requeues.pop(pk, None)
        else:
            running.update(status="READY")
            self.requeues[pk] = count
        self.current = None

    def run(self, db_result: Any) -> None:
        """Run one claimed task and record its result. A connection error propagates (the
        loop waits for the database and the task is put back); any other error is the
        task's failure."""
        from django_tasks.signals import task_finished, task_started

        task = db_result.task
        result = db_result.task_result
        sender = type(task.get_backend())
        task_started.send(sender=sender, task_result=result)
        try:
            if task.takes_context:
                from django_tasks.base import TaskContext

                value = task.call(TaskContext(task_result=result), *result.args, **result.kwargs)
            else:
                value = task.call(*result.args, **result.kwargs)
        except CONNECTION_ERRORS:
            raise
        except Exception as error:
            db_result.set_failed(error)
            task_finished.send(sender=sender, task_result=db_result.task_result)
            return
        db_result.set_successful(value)
        task_finished.send(sender=sender, task_result=db_result.task_result)


def take_over_dead_claims(*, now: dt.datetime) -> int:
    """Give back the tasks of workers silent for longer than a lease; returns how many.

    (Outbox rows need nothing: their own `lease_until` runs out.)"""
    from django_tasks_db.models import DBTaskResult

    from qingquan.core.models import WorkerHeartbeat
    from qingquan.core.outbox import LEASE

    limit = now - LEASE
    alive_ids = set(
        WorkerHeartbeat.objects.filter(seen_at__gte=limit).values_list("worker_id", flat=True)
    )
    taken = 0
    running = DBTaskResult.objects.filter(status="RUNNING").values_list(
        "pk", "worker_ids", "started_at"
    )
    for pk, worker_ids, started_at in running:
        owner = worker_ids[-1] if worker_ids else ""
        if owner in alive_ids or (started_at is not None and started_at >= limit):
            continue
        taken += DBTaskResult.objects.filter(pk=pk, status="RUNNING", started_at=started_at).update(
            status="READY"
        )
    if taken:
        logger.warning("took over %s task(s) of workers silent for over %s", taken, LEASE)
    return taken


class Worker:
    """One worker process's loops (see the module docstring)."""

    def __init__(self, *, kind: str, worker_id: str | None = None) -> None:
        self.kind = kind
        self.worker_id = worker_id or new_worker_id()
        self.stop = threading.Event()
        self.outage = Outage()
        self.threads: list[threading.Thread] = []
        self.started_at = clock.now()
        self.slots: dict[str, int] = {}
        self.last_forget = 0.0

    # -- the loops' steps ---------------------------------------------------------------

    def heartbeat(self) -> bool:
        """Write this worker's heartbeat, renew its leases, take over dead workers' claims."""
        from qingquan.core import outbox
        from qingquan.core.models import WorkerHeartbeat

        now = clock.now()
        if not WorkerHeartbeat.objects.filter(worker_id=self.worker_id).update(seen_at=now):
            WorkerHeartbeat.objects.create(
                worker_id=self.worker_id,
                hostname=socket.gethostname()[:100],
                pid=os.getpid(),
                kind=self.kind,
                started_at=self.started_at,
                seen_at=now,
            )
        outbox.renew(worker=self.worker_id, now=now)
        take_over_dead_claims(now=now)
        if time.monotonic() - self.last_forget > 600:
            WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()
            self.last_forget = time.monotonic()
        return False

    def tick(self) -> bool:
        from qingquan.core.periodic import tick

        tick(skip=self.slots)
        return False

    def dispatch(self) -> bool:
        from qingquan.core import outbox

        return outbox.dispatch_once(worker=self.worker_id, should_stop=self.stop.is_set) > 0

    # -- running -----------------------------------------------------------------------

    def _thread(self, name: str, step: Callable[[], bool], idle: Callable[[], Any]) -> None:
        thread = threading.Thread(
            target=resilient_loop,
            args=(name, step),
            kwargs={"stop": self.stop, "outage": self.outage, "idle": idle},
            name=f"qingquan-{name}",
            daemon=True,
        )
        thread.start()
        self.threads.append(thread)

    def start(self) -> Worker:
        """Start every loop in its own daemon thread."""
        from qingquan.core import outbox
        from qingquan.core.periodic import PERIODIC_QUEUE

        _import_task_modules()
        periodic = TaskRunner(worker_id=self.worker_id, queues=[PERIODIC_QUEUE], exclude=[])
        bulk = TaskRunner(worker_id=self.worker_id, queues=None, exclude=[PERIODIC_QUEUE])
        self._thread("heartbeat", self.heartbeat, lambda: self.stop.wait(HEARTBEAT_SECONDS))
        self._thread("ticker", self.tick, lambda: self.stop.wait(TICK_SECONDS))
        self._thread("periodic-tasks", periodic.step, lambda: self.stop.wait(TASK_POLL_SECONDS))
        self._thread("tasks", bulk.step, lambda: self.stop.wait(TASK_POLL_SECONDS))
        self._thread("outbox", self.dispatch, lambda: outbox.wait_for_work(POLL_SECONDS))
        return self

    def shutdown(self, *, timeout: float = 60.0) -> None:
        """Stop after the current task and send; give back unsent claims; forget the
        heartbeat row."""
        from qingquan.core import outbox
        from qingquan.core.models import WorkerHeartbeat

        self.stop.set()
        outbox.wake()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        try:
            outbox.release(worker=self.worker_id)
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except CONNECTION_ERRORS as error:
            logger.warning("could not release claims at shutdown (%s); leases will run out", error)
        finally:
            _drop_connection()


def start_in_background() -> Worker:
    """Start the worker's loops as daemon threads (for `qingquan serve`)."""
    return Worker(kind="serve").start()


def run_forever() -> None:
    """Run a worker in this process until SIGTERM or SIGINT (`qingquan worker`)."""
    worker = Worker(kind="worker")

    def on_signal(signum: int, frame: Any) -> None:
        logger.warning("%s: finishing the current task, then stopping", signal.strsignal(signum))
        worker.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker.start()
    print(f"Worker {worker.worker_id} started / 后台任务进程已启动", flush=True)
    while not worker.stop.wait(1):
        pass
    worker.shutdown()
    print("Worker stopped / 后台任务进程已停止", flush=True)
