"""Periodic payments work: yesterday's reconciliation of every provider, once a day."""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.core.periodic import every
from qingquan.payments.models import Provider, Reconciliation
from qingquan.payments.services import PaymentError

logger = logging.getLogger(__name__)


@every(3600)
@task()
def reconcile_yesterday() -> int:
    """Reconcile yesterday for each provider not yet reconciled (hourly, so a statement
    published late in the morning is still picked up); returns the differences found."""
    from qingquan.payments.reconcile import reconcile

    day = clock.today() - dt.timedelta(days=1)
    found = 0
    for name in Provider.values:
        if Reconciliation.objects.filter(provider=name, day=day).exists():
            continue
        try:
            run = reconcile(actor=system("payments"), provider_name=name, day=day)
        except (PaymentError, RuntimeError) as exc:
            logger.warning("reconciliation of %s %s not done: %s", name, day, exc)
            continue
        found += run.differences.count()
    if found:
        logger.warning("reconciliation of %s: %s differences", day, found)
    return found
