"""Reads of inbound messages for agents (the messages inbox of the console)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from qingquan.customers import phones
from qingquan.messaging.models import Handling, Inbound, PollCursor
from qingquan.staff.access import can, check


@dataclass
class InboxRow:
    item: Inbound
    sender: str  # masked for agents without full-number rights


def _shown(item: Inbound, full: bool) -> str:
    sender = item.sender
    if item.channel != "sms":  # a Weibo or Alipay user: their public name, and the id
        return f"{item.sender_name} ({sender})" if item.sender_name else sender
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
    return [InboxRow(item, _shown(item, full)) for item in qs[:limit]]


FEED_LABELS = {
    "weibo.mentions": _("Weibo: mentions of our account"),
    "weibo.messages": _("Weibo: private messages"),
    "alipay.messages": _("Alipay life account: messages"),
}


@dataclass
class FeedRow:
    feed: str
    label: str
    cursor: PollCursor


def poll_status(*, user: Any) -> list[FeedRow]:
    """Where the poller stands on each feed of the configured platforms (Weibo, Alipay
    life account): nothing when none is configured."""
    from qingquan.messaging.social import adapter, configured_channels

    check(user, "console.use")
    feeds = [f"{c}.{f}" for c in configured_channels() for f in adapter(c).feeds]
    found = {p.feed: p for p in PollCursor.objects.filter(feed__in=feeds)}
    return [
        FeedRow(name, str(FEED_LABELS.get(name, name)), found.get(name) or PollCursor(feed=name))
        for name in feeds
    ]
