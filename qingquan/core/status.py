"""The state of background work, for the admin status page and the supervisors' wallboard:
workers and their heartbeats, task queues, outbox backlogs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from qingquan.core import clock
from qingquan.core.models import WorkerHeartbeat

SILENT_AFTER = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class WorkerRow:
    heartbeat: WorkerHeartbeat
    silent_seconds: int

    @property
    def silent(self) -> bool:
        return self.silent_seconds > SILENT_AFTER.total_seconds()


def silent_workers(*, now: dt.datetime | None = None) -> list[WorkerHeartbeat]:
    """Workers not heard from for over a minute (dead, hung, or cut off the database)."""
    now = now or clock.now()
    return list(WorkerHeartbeat.objects.silent(now=now, seconds=int(SILENT_AFTER.total_seconds())))


def background_status(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """Workers, ready/running tasks per queue, and each outbox's backlog."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from qingquan.core import outbox

    now = now or clock.now()
    workers = [
        WorkerRow(heartbeat=h, silent_seconds=int((now - h.seen_at).total_seconds()))
        for h in WorkerHeartbeat.objects.order_by("kind", "hostname", "pid")
    ]
    queues = list(
        DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
        .values("queue_name", "status")
        .annotate(n=Count("pk"))
        .order_by("queue_name", "status")
    )
    return {"now": now, "workers": workers, "queues": queues, "outboxes": outbox.backlog(now=now)}
