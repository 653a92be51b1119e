"""A premise saved (created, moved) is attached again to its nearest junction."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from qingquan.customers.models import Premise


@receiver(post_save, sender=Premise, dispatch_uid="network_premise_connect")
def premise_saved(sender: Any, instance: Premise, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    from qingquan.network.models import Node
    from qingquan.network.services import premises_connect

    if Node.objects.exists():
        premises_connect(premise_ids=[instance.pk])
