"""Background work of the open APIs: webhook deliveries from the outbox.

`deliver_webhooks` runs every 30 s and is also enqueued when new outbox rows are
written; any number of workers may run it at once (each row is claimed atomically).
"""

from __future__ import annotations

from django_tasks import task

from qingquan.core.periodic import every


@every(30)
@task()
def deliver_webhooks() -> int:
    """Send the due webhook deliveries; returns how many were delivered."""
    from qingquan.partners.webhooks import deliver_due

    return deliver_due()


@every(3600)
@task()
def purge_partner_records() -> dict[str, int]:
    """Forget idempotency keys and delivered webhooks past their retention period."""
    from qingquan.partners.services import purge_old_records

    return purge_old_records()
