"""The board's live pushes over the staff websocket (`core.consumers`, `/ws/events/`):
every change of a job (made, assigned, a crew's step, paused…), of a crew's status and of
an incident's call count, and each clock that turns amber or red, reach the open boards of
everyone who may see the board (`dispatch.view`) once the transaction commits. The board
re-reads its list and map on a push; its HTMX polling stays as the fallback.

Events: `{"kind": "dispatch", "change": …, "job": number, "clock": …, "state": …}`; the
board's page holds the words (both languages), the event only the facts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.db import transaction

from qingquan.core import clock
from qingquan.core.notifications import push_to_user
from qingquan.staff.selectors import holders

ALERT_MEMORY = 3 * 24 * 3600  # seconds a (job, clock, state) alert is remembered


def watchers() -> list[int]:
    """Ids of the active staff who may see the board (`staff.selectors.holders`: a new
    dispatcher's board gets pushes within its cache time, and polls meanwhile)."""
    return holders("dispatch.view")


def _send(events: list[dict[str, Any]]) -> None:
    if not events:
        return
    for user_id in watchers():
        for event in events:
            push_to_user(user_id=user_id, event=event)


def board_changed(*, change: str, job: str = "", **facts: Any) -> None:
    """Push `change` (e.g. "job.assign", "step.arrive", "crew.status", "calls") to the
    boards once the current transaction commits (at once outside one)."""
    event = {"kind": "dispatch", "change": change, "job": job, **facts}
    transaction.on_commit(lambda: _send([event]), robust=True)


def clock_alerts(*, now: dt.datetime | None = None) -> int:
    """Each open job's clock that is now amber (past its warning share) or red (breached)
    and was not pushed in that state yet: one alert push each (remembered in the cache for
    `ALERT_MEMORY`, so each state is pushed once). Returns how many were pushed."""
    from qingquan.dispatch.models import Job, JobPause
    from qingquan.dispatch.selectors import job_clocks

    now = now or clock.now()
    jobs = list(Job.objects.open().prefetch_related("pauses"))
    events = []
    for job in jobs:
        pauses: list[JobPause] = list(job.pauses.all())
        for view in job_clocks(job, now=now, pauses=pauses):
            if view.state not in ("warning", "breached"):
                continue
            key = f"dispatch:alert:{job.pk}:{job.created_at.timestamp()}:{view.name}:{view.state}"
            if cache.add(key, 1, timeout=ALERT_MEMORY):
                events.append(
                    {
                        "kind": "dispatch",
                        "change": "alert",
                        "job": job.number,
                        "clock": view.name,
                        "state": view.state,
                        "level": "error" if view.state == "breached" else "warning",
                    }
                )
    _send(events)
    return len(events)
