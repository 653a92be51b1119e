"""Dispatch's periodic work: the board's clock alerts (`live.clock_alerts`)."""

from __future__ import annotations

from django_tasks import task

from qingquan.core.periodic import every


@every(30)
@task()
def board_clock_alerts() -> int:
    """Every 30 s: push each repair clock that turned amber or red to the open boards."""
    from qingquan.dispatch.live import clock_alerts

    return clock_alerts()
