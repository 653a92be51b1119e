"""Writes of outbound messages: queueing (in the caller's transaction), opt-outs and
delivery receipts."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from qingquan.core import clock, outbox
from qingquan.core.audit import audit_record
from qingquan.core.db import bulkload, fastinsert
from qingquan.messaging import rules
from qingquan.messaging.models import Channel, Message, MessageStatus, OptOut, Receipt


@dataclass
class Outgoing:
    """One message to write: the channel, the address and what to say."""

    channel: str
    to: str
    template: str
    body: str
    params: dict[str, Any] = field(default_factory=dict)


def messages_queue(
    *, source: str, source_id: int, messages: Iterable[Outgoing], urgent: bool
) -> int:
    """Write the outbox rows of `messages` in the caller's transaction (no signals, one
    bulk insert); returns how many were written. Addresses that unsubscribed get no row;
    a source that already has rows gets none (the unique constraint is the backstop).
    Non-urgent messages written in quiet hours wait until they end."""
    if Message.objects.of(source, source_id).exists():
        return 0
    rows = list(messages)
    if not rows:
        return 0
    opted = _opted_out({m.to for m in rows})
    now = clock.now()
    due = rules.first_send_at(now, urgent=urgent)
    as_db = _uuid_for_db()
    # A notice's messages share one body and one parameter dict: measured and encoded once.
    segments_of: dict[str, int] = {}
    params_of: dict[int, str] = {}
    seen: set[tuple[str, str]] = set()
    values: list[tuple[Any, ...]] = []
    for m in rows:
        key = (m.channel, m.to)
        if key in seen or key in opted or not m.to:
            continue
        seen.add(key)
        segments = 1
        if m.channel == Channel.SMS:
            segments = segments_of.get(m.body) or segments_of.setdefault(
                m.body, rules.sms_length(m.body)[1]
            )
        params = params_of.get(id(m.params))
        if params is None:
            params = params_of[id(m.params)] = json.dumps(m.params, ensure_ascii=False)
        values.append(
            (
                as_db(uuid.uuid4()),
                m.channel,
                m.to,
                m.template,
                params,
                m.body,
                segments,
                urgent,
                source,
                source_id,
                MessageStatus.PENDING,
                due,
                now,
            )
        )
    columns = [
        "id",
        "message_id",
        "channel",
        "to",
        "template",
        "params",
        "body",
        "segments",
        "urgent",
        "source",
        "source_id",
        "status",
        "next_attempt_at",
        "created_at",
    ]
    ids = bulkload.take_ids(Message, len(values))
    bulkload.insert_rows(
        Message,
        columns,
        [(pk, *v) for pk, v in zip(ids, values, strict=True)],
    )
    if values:
        outbox.wake_on_commit()
    return len(values)


def _opted_out(addresses: set[str]) -> set[tuple[str, str]]:
    """The (channel, address) pairs among `addresses` that unsubscribed. The opt-out list
    is read whole while it is shorter than the addresses (a notice to 100,000 numbers:
    one scan, not a query with 100,000 parameters), else asked in chunks."""
    if not addresses:
        return set()
    pairs = OptOut.objects.values_list("channel", "address")
    if OptOut.objects.count() <= len(addresses):
        return {(c, a) for c, a in pairs if a in addresses}
    found: set[tuple[str, str]] = set()
    wanted = sorted(addresses)
    for start in range(0, len(wanted), 5000):
        found.update(pairs.filter(address__in=wanted[start : start + 5000]))
    return found


def _uuid_for_db() -> Any:
    """How a UUID goes to the bulk writer on this database (a UUID, or its hex text),
    decided once instead of by the field for every row."""
    probe = uuid.uuid4()
    prepared = Message._meta.get_field("message_id").get_db_prep_value(probe, connection)
    if isinstance(prepared, str) and prepared == probe.hex:
        return lambda u: u.hex
    if isinstance(prepared, uuid.UUID):
        return lambda u: u
    field = Message._meta.get_field("message_id")
    return lambda u: field.get_db_prep_value(u, connection)


@transaction.atomic
def optout_set(*, actor: Any, channel: str, address: str, how: str = "") -> OptOut | None:
    """Record that `address` wants no more messages on `channel` (退订); messages already
    queued to it are not sent. Returns the record (None if it was there already)."""
    if channel not in Channel.values:
        raise ValueError(channel)
    address = address.strip()
    record = fastinsert.create(
        OptOut(channel=channel, address=address, at=clock.now(), source=how[:40]),
        skip_conflict=True,  # already opted out: nothing to do, no error logged
    )
    if record is None:
        return None
    Message.objects.filter(channel=channel, to=address, status=MessageStatus.PENDING).update(
        status=MessageStatus.SUPPRESSED
    )
    audit_record(actor=actor, action="messaging.optout", obj=record, after={"how": how})
    return record


@transaction.atomic
def optout_clear(*, actor: Any, channel: str, address: str) -> int:
    """Subscribe an address again; returns how many opt-outs were removed."""
    rows = list(OptOut.objects.filter(channel=channel, address=address.strip()))
    for row in rows:
        audit_record(actor=actor, action="messaging.optin", obj=row)
        row.delete()
    return len(rows)


@dataclass(frozen=True)
class ReceiptIn:
    """A delivery report: the message (by id or the gateway's reference) and the result."""

    message_id: str = ""
    provider_ref: str = ""
    delivered: bool = True
    error: str = ""
    at: dt.datetime | None = None


def receipts_record(receipts: Iterable[ReceiptIn]) -> int:
    """Record delivery reports (one transaction); returns how many matched a message.
    A report for an unknown message is ignored; a repeat changes nothing."""
    matched = 0
    now = clock.now()
    with transaction.atomic():
        for r in receipts:
            if r.message_id:
                try:
                    qs = Message.objects.filter(message_id=uuid.UUID(r.message_id))
                except ValueError:
                    continue
            elif r.provider_ref:
                qs = Message.objects.filter(provider_ref=r.provider_ref)
            else:
                continue
            matched += qs.update(
                receipt=Receipt.DELIVERED if r.delivered else Receipt.UNDELIVERED,
                receipt_at=r.at or now,
                receipt_error=r.error[:120],
            )
    return matched
