"""Periodic work of new connections: the clock's warnings before a breach."""

from __future__ import annotations

from django_tasks import task

from qingquan.core.periodic import every


@every(60)
@task()
def connections_clock_sweep() -> int:
    from qingquan.connections.services import clock_sweep

    return clock_sweep()
