"""Reads of inbound messages for agents (the messages inbox of the console)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from qingquan.customers import phones
from qingquan.messaging.models import Handling, Inbound
from qingquan.staff.access import can, check


@dataclass
class InboxRow:
    item: Inbound
    sender: str  # masked for agents without full-number rights


def _shown(sender: str, full: bool) -> str:
    if full:
        return sender
    found = phones.try_normalise(sender)
    return phones.mask(found[1]) if found else sender[:3] + "…"


def inbox_items(*, user: Any) -> QuerySet[Inbound]:
    """Messages waiting for an agent (console users only)."""
    check(user, "console.use")
    return Inbound.objects.filter(handled_as=Handling.CONTACT).select_related(
        "contact", "callback__ticket", "answered_by"
    )


def inbox(*, user: Any, answered: bool = False, limit: int = 100) -> list[InboxRow]:
    """Waiting messages (oldest first) or the latest answered ones."""
    qs = inbox_items(user=user).filter(answered_at__isnull=not answered)
    qs = qs.order_by("-answered_at") if answered else qs.order_by("received_at", "pk")
    full = can(user, "customers.view_phone_full")
    return [InboxRow(item, _shown(item.sender, full)) for item in qs[:limit]]
