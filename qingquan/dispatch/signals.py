"""An incident's call count on the board grows as agents merge calls into it: a merge
into a case with an open repair job pushes a board change (`live.board_changed`)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from qingquan.tickets.models import TicketEvent


@receiver(post_save, sender=TicketEvent, dispatch_uid="dispatch_incident_calls")
def incident_calls(sender: Any, instance: TicketEvent, created: bool, **kwargs: Any) -> None:
    """The incident's own "merged_in" event (written by `tickets.ticket_merge`)."""
    if not created or instance.action != "merged_in":
        return
    from qingquan.dispatch import live
    from qingquan.dispatch.models import Job

    numbers = list(
        Job.objects.open().filter(ticket_id=instance.ticket_id).values_list("number", flat=True)
    )
    for number in numbers:
        live.board_changed(change="calls", job=number)
