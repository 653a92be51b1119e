"""Periodic telephony work: deleting call recordings past their retention period."""

from __future__ import annotations

import logging

from django_tasks import task

from qingquan.core.periodic import every
from qingquan.telephony import recordings

logger = logging.getLogger(__name__)


@every(3600)
@task()
def expire_recordings() -> int:
    """Delete the recordings whose retention period (by case kind) is over (audited)."""
    deleted = recordings.recordings_expire()
    if deleted:
        logger.info("%s call recordings past their retention period deleted", deleted)
    return deleted
