"""Listens to the case timeline: each new entry may become webhook deliveries."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from qingquan.tickets.models import TicketEvent


@receiver(post_save, sender=TicketEvent, dispatch_uid="partners.ticket_event_outbox")
def ticket_event_saved(sender: Any, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
    """Once the entry's transaction commits, write the outbox rows for its events."""
    if not created or kwargs.get("raw"):
        return
    # A case's "create" entry is written before the case can be a partner's (PartnerCase
    # comes next, in services._create_locked, which queues that entry's outbox itself):
    # cases received by staff cost nothing here.
    if instance.action == "create":
        return
    from qingquan.partners.webhooks import events_for

    # Most timeline entries (notes, pauses, reminders…) are no webhook event: no cost.
    if not events_for(instance):
        return
    event_id, ticket_id = instance.pk, instance.ticket_id

    def write() -> None:
        from qingquan.partners.webhooks import outbox_write

        outbox_write(event_id=event_id, ticket_id=ticket_id)

    transaction.on_commit(write)
