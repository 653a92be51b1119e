"""Periodic statistics work: the nightly rollup reconciliation and the e-mailed reports."""

from __future__ import annotations

import logging

from django_tasks import task

from qingquan.core.periodic import every
from qingquan.reports import mail, rollup

logger = logging.getLogger(__name__)


@every(86400)
@task()
def reconcile_rollups() -> int:
    """Rewrite the rollups from the raw rows if they drifted (logged loudly: a drift
    means a change bypassed the services)."""
    fixed = rollup.reconcile()
    if fixed:
        logger.warning("rollups drifted from the raw rows: %s differences fixed", fixed)
    return fixed


@every(10)
@task()
def fold_rollups() -> int:
    """Add the counts changes left pending (PostgreSQL, decision 0009) to their rollup
    rows; the statistics pages also fold before they read."""
    return rollup.fold()


@every(3600)
@task()
def send_reports() -> int:
    """Send the daily and monthly reports that are due (idempotent per period)."""
    return mail.send_reports()
