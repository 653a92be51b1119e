"""The messages' outbox sender: `send_claimed(pks, worker=…, now=…)` (core.outbox).

For a group of rows claimed by `worker`:

1. rows for an address that unsubscribed are suppressed; non-urgent rows that came due
   inside the quiet hours wait until they end;
2. rows marked `in_doubt` (a worker died after handing them over and before recording
   the answer) are looked up at the gateway by their message id: found ones are recorded
   as sent and not sent again;
3. the others are marked `in_doubt` with their attempt counted, **committed before the
   first byte leaves**; then sent at the provider's rate (`rules.throttle`), a few
   requests in flight;
4. the answers are recorded in one transaction, each only where the row is still the
   worker's claim. Failures wait `rules.backoff(attempts)`; permanent ones and the last
   attempt fail.

A worker killed between 3 and 4 leaves its rows in doubt: whoever takes them over after
the lease asks the gateway first, so each recipient gets the message once.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from django.db import transaction
from django.db.models import Case, F, Value, When

from qingquan.core import clock
from qingquan.messaging import rules
from qingquan.messaging.gateways import Result, gateway
from qingquan.messaging.models import Message, MessageStatus, OptOut

logger = logging.getLogger(__name__)

_FREE = {"claimed_by": "", "claimed_at": None, "lease_until": None}


def _mine(pks: list[int], worker: str) -> object:
    return Message.objects.filter(pk__in=pks, status=MessageStatus.SENDING, claimed_by=worker)


def send_claimed(pks: list[int], *, worker: str, now: dt.datetime | None = None) -> int:
    """Send a group of messages claimed by `worker`; returns how many were sent."""
    now = now or clock.now()
    rows = list(_mine(pks, worker).order_by("next_attempt_at", "id"))  # type: ignore[attr-defined]
    if not rows:
        return 0
    opted = set(
        OptOut.objects.filter(address__in={m.to for m in rows}).values_list("channel", "address")
    )
    suppressed = [m.pk for m in rows if (m.channel, m.to) in opted]
    quiet_end = rules.quiet_until(now)
    deferred = [m.pk for m in rows if quiet_end and not m.urgent and m.pk not in suppressed]
    skip = set(suppressed) | set(deferred)
    with transaction.atomic():
        if suppressed:
            _mine(suppressed, worker).update(  # type: ignore[attr-defined]
                status=MessageStatus.SUPPRESSED, in_doubt=False, **_FREE
            )
        if deferred:
            _mine(deferred, worker).update(  # type: ignore[attr-defined]
                status=MessageStatus.PENDING, next_attempt_at=quiet_end, **_FREE
            )
    todo = [m for m in rows if m.pk not in skip]
    outcomes: list[tuple[Message, Result]] = []
    fresh: list[Message] = []
    for m in todo:
        if m.in_doubt:
            found = gateway(m.channel).lookup(m)
            if found is not None and (found.ok or found.unknown):
                outcomes.append((m, found))
                continue
        fresh.append(m)
    if fresh:
        with transaction.atomic():
            _mine([m.pk for m in fresh], worker).update(  # type: ignore[attr-defined]
                in_doubt=True, attempts=F("attempts") + 1
            )
        for m in fresh:
            m.attempts += 1
        outcomes.extend(_send_paced(fresh))
    return _record(outcomes, worker=worker, now=clock.now())


def _send_one(message: Message) -> Result:
    rules.throttle(message.channel)
    try:
        return gateway(message.channel).send(message)
    except Exception as exc:
        logger.exception("messaging: sending %s failed", message.message_id)
        return Result(ok=False, error=f"{type(exc).__name__}: {exc}"[:300])


def _send_paced(messages: list[Message]) -> list[tuple[Message, Result]]:
    """Each message sent at the provider's rate, with up to `rules.send_concurrency()`
    requests in flight: one at a time, a provider's round trip longer than the pacing
    interval (5 ms at 200/s) would cap the rate below the one configured."""
    width = min(rules.send_concurrency(), len(messages))
    if width <= 1:
        return [(m, _send_one(m)) for m in messages]
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="msg-send") as pool:
        return list(zip(messages, pool.map(_send_one, messages), strict=True))


def _case(values: dict[int, object], field: str) -> Case:
    """`field` set per row (by id) in one UPDATE; rows not named keep their value."""
    return Case(*(When(pk=pk, then=Value(v)) for pk, v in values.items()), default=F(field))


def _record(outcomes: list[tuple[Message, Result]], *, worker: str, now: dt.datetime) -> int:
    """The answers of a group in two UPDATEs (the sent rows, then the others), each only
    where the row is still the worker's claim: one statement per group rather than one
    per message keeps the sending at the provider's rate."""
    limit = rules.max_attempts()
    sent_refs: dict[int, object] = {}
    status: dict[int, object] = {}
    doubt: dict[int, object] = {}
    due: dict[int, object] = {}
    errors: dict[int, object] = {}
    for m, result in outcomes:
        if result.ok:
            sent_refs[m.pk] = result.ref[:64]
            continue
        errors[m.pk] = result.error[:300]
        if result.unknown:
            # Maybe sent: stays in doubt, looked up before any new attempt.
            status[m.pk], doubt[m.pk] = MessageStatus.PENDING, True
            due[m.pk] = now + rules.backoff(max(m.attempts, 1))
        elif not result.retry or m.attempts >= limit:
            status[m.pk], doubt[m.pk] = MessageStatus.FAILED, False
        else:
            status[m.pk], doubt[m.pk] = MessageStatus.PENDING, False
            due[m.pk] = now + rules.backoff(m.attempts)
    sent = 0
    with transaction.atomic():
        if sent_refs:
            sent = _mine(list(sent_refs), worker).update(  # type: ignore[attr-defined]
                status=MessageStatus.SENT,
                in_doubt=False,
                provider_ref=_case(sent_refs, "provider_ref"),
                sent_at=now,
                last_error="",
                **_FREE,
            )
        if status:
            _mine(list(status), worker).update(  # type: ignore[attr-defined]
                status=_case(status, "status"),
                in_doubt=_case(doubt, "in_doubt"),
                next_attempt_at=_case(due, "next_attempt_at") if due else F("next_attempt_at"),
                last_error=_case(errors, "last_error"),
                **_FREE,
            )
    return sent
