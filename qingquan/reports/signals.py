"""Rollups follow the raw rows inside the same transaction (no edits to tickets needed)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from qingquan.reports import rollup
from qingquan.surveys.models import CallbackTask
from qingquan.tickets.models import Contact, TicketEvent
from qingquan.tickets.signals import cases_breached


@receiver(post_save, sender=TicketEvent, dispatch_uid="reports.rollup_ticket_event")
def on_ticket_event(sender: Any, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
    if not created or instance.leaves_case_unchanged:
        return
    if instance.action == "create" and TicketEvent.ticket.is_cached(instance):
        # A new case: its contribution needs no reads (nothing was counted for it yet).
        rollup.ticket_created(instance.ticket)
    else:
        rollup.refresh_ticket(instance.ticket_id)


@receiver(post_save, sender=CallbackTask, dispatch_uid="reports.rollup_callback")
def on_callback(sender: Any, instance: CallbackTask, **kwargs: Any) -> None:
    if instance.ticket_id is not None and instance.status == CallbackTask.Status.DONE:
        rollup.refresh_ticket(instance.ticket_id)


@receiver(post_save, sender=Contact, dispatch_uid="reports.rollup_contact")
def on_contact(sender: Any, instance: Contact, created: bool, **kwargs: Any) -> None:
    if created:
        rollup.contact_added(instance)


@receiver(cases_breached, dispatch_uid="reports.rollup_breached")
def on_breached(sender: Any, ticket_ids: list[int], **kwargs: Any) -> None:
    # A deadline passed unresolved: the case now counts as late on the deadline's day.
    rollup.refresh_tickets(ticket_ids)
