"""Background work of the open APIs: retention of idempotency keys and deliveries.

Webhook deliveries are no task: every worker's outbox dispatcher sends them
(`qingquan.core.outbox`), in batches, without queueing anything per case.
"""

from __future__ import annotations

from django_tasks import task

from qingquan.core.periodic import every


@every(3600)
@task()
def purge_partner_records() -> dict[str, int]:
    """Forget idempotency keys and delivered webhooks past their retention period."""
    from qingquan.partners.services import purge_old_records

    return purge_old_records()
