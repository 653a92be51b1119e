"""The poller of Weibo and the Alipay life account: each configured platform's feeds
read after their cursor (`PollCursor`), each message recorded once per platform message
id (`inbound.inbound_receive`: a contact for an agent), the cursor moved on in the same
transaction. Run every minute by the worker (`messaging.tasks.poll_social`) or by hand
(`qingquan manage messaging_poll`).

Two pollers at once take nothing twice: the messages are unique per (channel, platform
id), and the cursor row is locked while it moves; a cursor another poller moved meanwhile
is left where it is."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

from qingquan.core import clock
from qingquan.messaging.inbound import InboxError, inbound_receive
from qingquan.messaging.models import PollCursor
from qingquan.messaging.social import PAGE, FetchError, SocialAdapter, adapter, configured_channels

logger = logging.getLogger(__name__)
MAX_PAGES = 20


@dataclass(frozen=True)
class Polled:
    feed: str
    taken: int
    error: str = ""


def _page(source: SocialAdapter, name: str, feed: str) -> tuple[int, int, str]:
    """One page of a feed: (messages read, messages new, error)."""
    row, _created = PollCursor.objects.get_or_create(feed=name)
    before = row.cursor
    try:
        page = source.fetch(feed, before)
    except FetchError as exc:
        PollCursor.objects.filter(pk=row.pk).update(
            polled_at=clock.now(), last_error=str(exc)[:300]
        )
        return 0, 0, str(exc)
    new = 0
    with transaction.atomic():
        locked = PollCursor.objects.select_for_update().get(pk=row.pk)
        for message in page.messages:
            try:
                _inbound, created = inbound_receive(message=message)
            except InboxError as exc:  # no sender: nothing to answer, nothing to retry
                logger.warning("%s: message %s skipped: %s", name, message.provider_id, exc)
                continue
            new += int(created)
        if locked.cursor == before:
            locked.cursor = page.cursor[:80]
        locked.polled_at = clock.now()
        locked.taken += new
        locked.last_error = ""
        locked.save(update_fields=["cursor", "polled_at", "taken", "last_error"])
    return len(page.messages), new, ""


def poll_feed(*, channel: str, feed: str, source: SocialAdapter | None = None) -> Polled:
    """Take what is new in one feed (page after page); returns how many were new."""
    source = source or adapter(channel)
    name = f"{channel}.{feed}"
    taken = 0
    for _n in range(MAX_PAGES):
        read, new, error = _page(source, name, feed)
        taken += new
        if error:
            return Polled(name, taken, error)
        if read < PAGE:
            break
    return Polled(name, taken)


def poll_all() -> list[Polled]:
    """Poll every feed of every configured platform (none configured: nothing)."""
    done = []
    for channel in configured_channels():
        source = adapter(channel)
        for feed in source.feeds:
            done.append(poll_feed(channel=channel, feed=feed, source=source))
    return done
