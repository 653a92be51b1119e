"""A premise saved (created, moved) is attached again to its junction; a new repair case
is placed on the network from its premise or address."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from qingquan.customers.models import Premise
from qingquan.tickets.models import TicketEvent


@receiver(post_save, sender=Premise, dispatch_uid="network_premise_connect")
def premise_saved(sender: Any, instance: Premise, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    from qingquan.network.models import Node
    from qingquan.network.services import premises_connect

    if Node.objects.exists():
        premises_connect(premise_ids=[instance.pk])


@receiver(post_save, sender=TicketEvent, dispatch_uid="network_case_locate")
def ticket_event_saved(
    sender: Any, instance: TicketEvent, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    """A case's "create" entry: a repair case is located at its premise (or a premise with
    its address) and matched to its pipe, in the creating transaction. A pin dropped on
    intake moves it afterwards (`services.case_locate` with the pin)."""
    if raw or not created or instance.action != "create":
        return
    from qingquan.network.models import Node
    from qingquan.network.services.cases import case_locate, is_repair

    if is_repair(instance.ticket) and Node.objects.exists():
        case_locate(actor=None, ticket=instance.ticket)
