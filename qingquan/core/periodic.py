"""Periodic background jobs on top of the Django tasks API.

Apps register a task with `every(seconds)`; each worker calls `tick()` a few times a
minute, and a unique row per (task, slot) decides which worker enqueues it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from qingquan.core import clock
from qingquan.core.models import PeriodicSlot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: Any
    seconds: int


REGISTRY: dict[str, PeriodicJob] = {}


def every(seconds: int) -> Any:
    """Register a django-tasks task (decorate after @task) to run every `seconds`."""

    def decorator(task: Any) -> Any:
        name = f"{task.func.__module__}.{task.func.__name__}"
        REGISTRY[name] = PeriodicJob(name=name, task=task, seconds=seconds)
        return task

    return decorator


def tick(*, at: dt.datetime | None = None) -> list[str]:
    """Enqueue every registered job whose current slot nobody has claimed; returns names."""
    at = at or clock.now()
    started = []
    for job in REGISTRY.values():
        slot = int(at.timestamp()) // job.seconds
        try:
            with transaction.atomic():
                PeriodicSlot.objects.create(name=job.name, slot=slot, claimed_at=at)
                transaction.on_commit(job.task.enqueue)
        except IntegrityError:
            continue
        started.append(job.name)
    if started:
        # Old claims only matter for the current slot; keep the table small.
        PeriodicSlot.objects.filter(claimed_at__lt=at - dt.timedelta(days=2)).delete()
    return started
