"""Listens to the case timeline: each new entry may become webhook deliveries, written in
the entry's own transaction (the outbox, `qingquan.core.outbox`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from qingquan.tickets.models import TicketEvent


@receiver(post_save, sender=TicketEvent, dispatch_uid="partners.ticket_event_outbox")
def ticket_event_saved(sender: Any, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
    """Write the outbox rows for the entry's events now, in the entry's transaction: a
    rollback drops them with the change, a commit keeps both (no window in between)."""
    if not created or kwargs.get("raw"):
        return
    # A case's "create" entry is written before the case can be a partner's (PartnerCase
    # comes next, in services.intake._create_locked, which queues that entry's outbox itself):
    # cases received by staff cost nothing here.
    if instance.action == "create":
        return
    from qingquan.partners.webhooks import events_for

    # Most timeline entries (notes, pauses, reminders…) are no webhook event: no cost.
    if not events_for(instance):
        return
    from qingquan.partners.webhooks import outbox_write

    outbox_write(event_id=instance.pk, ticket_id=instance.ticket_id)


def _forget_keys(sender: Any, **kwargs: Any) -> None:
    """A key, client or user changed: this process's cached keys are read again
    (services.authenticate; other processes within AUTH_CACHE_SECONDS)."""
    from qingquan.partners.services import forget_keys

    forget_keys()


def connect_key_cache() -> None:
    from django.conf import settings
    from django.db.models.signals import post_delete

    from qingquan.partners.models import ApiKey, PartnerClient

    for model in (ApiKey, PartnerClient, settings.AUTH_USER_MODEL):
        for signal in (post_save, post_delete):
            signal.connect(_forget_keys, sender=model, dispatch_uid=f"partners.keys.{model}")
