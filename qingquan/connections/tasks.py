"""Periodic work of new connections: the clock's warnings before a breach, and the
nightly reconciliation of the monthly report's rollups."""

from __future__ import annotations

import logging

from django_tasks import task

from qingquan.core.periodic import every

logger = logging.getLogger(__name__)


@every(60)
@task()
def connections_clock_sweep() -> int:
    from qingquan.connections.services import clock_sweep

    return clock_sweep()


@every(86400)
@task()
def connections_reconcile_rollups() -> int:
    """Rewrite the monthly report's rollups where they drifted from the raw rows (logged
    loudly: a drift means a change bypassed the water-on service)."""
    from qingquan.connections import rollup

    fixed = rollup.reconcile()
    if fixed:
        logger.warning("connections rollups drifted from the raw rows: %s rows fixed", fixed)
    return fixed
