"""Periodic background jobs on top of the Django tasks API.

Apps register a task with `every(seconds)`; each worker calls `tick()` every few seconds,
and a unique row per (task, slot) decides which worker enqueues it. The claim is an
`INSERT … ON CONFLICT DO NOTHING` (a lost race is a row count of 0, not a duplicate-key
error in the database's log), and the task row is written in the same transaction as the
claim, so a crash cannot claim a slot without queueing its run.

Periodic runs go to their own queue (`PERIODIC_QUEUE`), which every worker serves with a
thread of its own: an SLA sweep never waits behind bulk work on the default queue.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from qingquan.core import clock
from qingquan.core.models import PeriodicSlot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any
    seconds: int


REGISTRY: dict[str, PeriodicJob] = {}
PERIODIC_QUEUE = "periodic"


def every(seconds: int) -> Any:
    """Register a django-tasks task (decorate after @task) to run every `seconds`."""

    def decorator(task: Any) -> Any:
        name = f"{task.func.__module__}.{task.func.__name__}"
        REGISTRY[name] = PeriodicJob(name=name, task=task, seconds=seconds)
        return task

    return decorator


def periodic_task(task: Any) -> Any:
    """The task bound to the periodic queue when its backend has one (tests may swap in a
    backend with the default queue only)."""
    if PERIODIC_QUEUE in getattr(task.get_backend(), "queues", ()):
        return task.using(queue_name=PERIODIC_QUEUE)
    return task


def claim_slot(name: str, slot: int, at: dt.datetime) -> bool:
    """Insert the (name, slot) row unless it exists; True if this call inserted it."""
    table = PeriodicSlot._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, slot, claimed_at) VALUES (%s, %s, %s) "  # noqa: S608 (model's own table)
            "ON CONFLICT (name, slot) DO NOTHING",
            [name, slot, at],
        )
        return cursor.rowcount == 1


def tick(*, at: dt.datetime | None = None, skip: dict[str, int] | None = None) -> list[str]:
    """Enqueue every registered job whose current slot nobody has claimed; returns names.

    `skip` (a worker's memory of the slots it already tried) spares a write per job and
    tick when the slot has not changed since.
    """
    at = at or clock.now()
    started = []
    for job in REGISTRY.values():
        slot = int(at.timestamp()) // job.seconds
        if skip is not None and skip.get(job.name) == slot:
            continue
        with transaction.atomic():
            if not claim_slot(job.name, slot, at):
                if skip is not None:
                    skip[job.name] = slot
                continue
            periodic_task(job.task).enqueue()
        if skip is not None:
            skip[job.name] = slot
        started.append(job.name)
    if started:
        # Old claims only matter for the current slot; keep the table small.
        PeriodicSlot.objects.filter(claimed_at__lt=at - dt.timedelta(days=2)).delete()
    return started
