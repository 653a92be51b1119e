"""Resolution → callback task, without touching the tickets app: a case's "resolve"
timeline entry creates the task in the resolving transaction (committed together or not
at all: no window after the commit in which a crash or a database restart loses it)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from qingquan.tickets.models import TicketEvent, TicketState


def _create(ticket_id: int) -> None:
    from qingquan.surveys.services import callback_task_for_resolution

    callback_task_for_resolution(ticket_id=ticket_id)


@receiver(post_save, sender=TicketEvent, dispatch_uid="surveys.callback_on_resolve")
def on_ticket_event(sender: Any, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
    if created and instance.to_state == TicketState.RESOLVED and instance.action == "resolve":
        _create(instance.ticket_id)
