"""Outbound webhooks: case events → outbox rows → signed HTTP deliveries.

Every new `TicketEvent` (the case timeline) of a case a subscribed partner brought in is
turned into `Delivery` rows **in the transaction that writes the entry** (`signals.py`,
and `services.intake._create_locked` for the "create" entry): unique per subscription, timeline
entry and event, so a replay writes nothing. The rows are the partners' outbox in
`qingquan.core.outbox`: the dispatcher of any worker claims due rows with a lease, POSTs
each with an HMAC-SHA256 signature over "<timestamp>.<body>" and the stable
`X-Qingquan-Delivery` id, and retries with exponential backoff until `MAX_ATTEMPTS`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from django.db import IntegrityError, transaction
from django.db.models import Q

from qingquan.core import clock, outbox
from qingquan.partners.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    PartnerCase,
    Subscription,
    WebhookEvent,
)
from qingquan.tickets.models import OPEN_STATES, Ticket, TicketEvent

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30  # 30 s, 1 min, 2 min, 4 min … (doubling) between attempts
TIMEOUT_SECONDS = 10
BATCH = 100
SENDERS = 8  # deliveries of different cases in flight at once


def events_for(entry: TicketEvent) -> list[str]:
    """The webhook events one timeline entry stands for."""
    events: list[str] = []
    if entry.action == "create":
        events.append(WebhookEvent.CREATED)
    elif entry.to_state and entry.from_state and entry.to_state != entry.from_state:
        events.append(WebhookEvent.STATUS_CHANGED)
    if entry.action == "resolve":
        events.append(WebhookEvent.RESOLVED)
    if entry.action == "callback":
        events.append(WebhookEvent.CALLBACK_DONE)
    return events


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the Asia/Shanghai offset (+08:00), or None."""
    return value.astimezone(clock.SHANGHAI).isoformat(timespec="seconds") if value else None


def case_summary(ticket: Ticket, partner_case: PartnerCase) -> dict[str, Any]:
    """What a partner learns about its case in a webhook (no staff-internal detail)."""
    return {
        "number": ticket.number,
        "external_id": partner_case.external_id or None,
        "kind": ticket.kind.code,
        "state": ticket.state,
        "status": "open" if ticket.state in OPEN_STATES else "closed",
        "department": ticket.department.name if ticket.department_id else None,  # type: ignore[union-attr]
        "resolution": ticket.resolution or None,
        "callback_outcome": ticket.callback_outcome or None,
        "expected_at": iso(ticket.resolution_deadline),
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "version": ticket.version,
    }


def outbox_write(*, event_id: int, ticket_id: int | None = None) -> list[Delivery]:
    """Write one outbox row per subscribed event for timeline entry `event_id`.

    Runs inside the transaction that wrote the entry (a rollback takes the rows with it);
    safe to run twice. Cases that no subscribed partner brought in cost one indexed query.
    """
    if (
        ticket_id is not None
        and not PartnerCase.objects.filter(
            ticket_id=ticket_id, client__subscriptions__is_active=True
        ).exists()
    ):
        return []
    entry = (
        TicketEvent.objects.select_related("ticket", "ticket__kind", "ticket__department")
        .filter(pk=event_id)
        .first()
    )
    if entry is None:
        return []
    events = events_for(entry)
    if not events:
        return []
    partner_case = PartnerCase.objects.filter(ticket_id=entry.ticket_id).first()
    if partner_case is None:
        return []
    subscriptions = list(
        Subscription.objects.filter(client_id=partner_case.client_id, is_active=True)
    )
    now = clock.now()
    written: list[Delivery] = []
    for subscription in subscriptions:
        for event in events:
            if event not in subscription.events:
                continue
            if Delivery.objects.filter(
                subscription=subscription, source_event_id=entry.pk, event=event
            ).exists():
                continue  # already in the outbox (a replay)
            delivery_id = uuid.uuid4()
            payload = {
                "id": str(delivery_id),
                "event": event,
                "occurred_at": iso(entry.at),
                "action": entry.action,
                "from_state": entry.from_state or None,
                "to_state": entry.to_state or None,
                "note": entry.note if entry.visibility == TicketEvent.Visibility.CUSTOMER else "",
                "case": case_summary(entry.ticket, partner_case),
            }
            try:
                with transaction.atomic():
                    written.append(
                        Delivery.objects.create(
                            subscription=subscription,
                            delivery_id=delivery_id,
                            event=event,
                            source_event_id=entry.pk,
                            ticket=entry.ticket,
                            payload=payload,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
            except IntegrityError:
                continue  # already in the outbox
    if written:
        outbox.wake_on_commit()
    return written


def event_queue(
    *, client_id: int, event: str, source_event_id: int, body: dict[str, Any]
) -> list[Delivery]:
    """One outbox row per active subscription of client `client_id` to `event`, for an
    event that is no case's (a connection's step, R-CH-2): `source_event_id` is the other
    app's own timeline entry, `body` the payload without its id and event.

    Runs inside the transaction of the change it reports; safe to run twice (at most one
    row per subscription, entry and event). Sent, signed and retried like case events.
    """
    subscriptions = [
        s
        for s in Subscription.objects.filter(client_id=client_id, is_active=True)
        if event in s.events
    ]
    now = clock.now()
    written: list[Delivery] = []
    for subscription in subscriptions:
        if Delivery.objects.filter(
            subscription=subscription, source_event_id=source_event_id, event=event
        ).exists():
            continue  # already in the outbox (a replay)
        delivery_id = uuid.uuid4()
        try:
            with transaction.atomic():
                written.append(
                    Delivery.objects.create(
                        subscription=subscription,
                        delivery_id=delivery_id,
                        event=event,
                        source_event_id=source_event_id,
                        ticket=None,
                        payload={"id": str(delivery_id), "event": event, **body},
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        except IntegrityError:
            continue  # already in the outbox
    if written:
        outbox.wake_on_commit()
    return written


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300
) -> bool:
    """What a receiver does (and the tests): check the signature and the timestamp's age."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(time.time() - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next attempt after `attempts` failures (doubling, capped at 6 h)."""
    return dt.timedelta(seconds=min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600))


@dataclass(frozen=True)
class Outcome:
    """What one HTTP attempt of a delivery came to."""

    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return not self.error


_http: httpx.Client | None = None
_http_lock = threading.Lock()


def http_client() -> httpx.Client:
    """One HTTP client per process, shared by the sending threads (httpx's client is
    thread-safe). A client per POST built a fresh TLS context every time: about 60 ms of
    CPU a delivery, which capped a worker below the rate partners bring cases in; the
    shared one keeps connections to each partner open as well."""
    global _http
    if _http is None:
        with _http_lock:
            if _http is None:
                _http = httpx.Client(
                    timeout=TIMEOUT_SECONDS,
                    limits=httpx.Limits(
                        max_connections=4 * SENDERS, max_keepalive_connections=SENDERS
                    ),
                )
    return _http


def post(delivery: Delivery) -> Outcome:
    """POST one delivery, signed (no database access: may run in any thread)."""
    subscription = delivery.subscription
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Qingquan-Webhooks/1",
        "X-Qingquan-Delivery": str(delivery.delivery_id),
        "X-Qingquan-Event": delivery.event,
        "X-Qingquan-Attempt": str(delivery.attempts + 1),
        "X-Qingquan-Timestamp": str(stamp),
        "X-Qingquan-Signature": sign(subscription.secret, stamp, body),
    }
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    try:
        response = http_client().post(subscription.url, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    return Outcome(status_code, error, int((time.monotonic() - started) * 1000))


def record(delivery: Delivery, outcome: Outcome, *, worker: str, now: dt.datetime) -> bool:
    """Record an attempt and the row's next state (delivered, retry later, failed), only
    while the row is still `worker`'s claim: a worker whose lease ran out (and whose row
    another worker took over) changes nothing. True if delivered and recorded."""
    attempts = delivery.attempts + 1
    if outcome.ok:
        changes: dict[str, Any] = {"status": DeliveryStatus.DELIVERED, "delivered_at": now}
    elif attempts >= MAX_ATTEMPTS:
        changes = {"status": DeliveryStatus.FAILED}
    else:
        changes = {"status": DeliveryStatus.PENDING, "next_attempt_at": now + backoff(attempts)}
    recorded = Delivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_by=worker
    ).update(
        attempts=attempts,
        last_status_code=outcome.status_code,
        last_error=outcome.error,
        claimed_at=None,
        claimed_by="",
        lease_until=None,
        **changes,
    )
    if recorded:
        DeliveryAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    else:
        logger.warning("webhook delivery %s: claim lost before recording", delivery.delivery_id)
    if not outcome.ok:
        logger.info("webhook delivery %s failed: %s", delivery.delivery_id, outcome.error)
    return outcome.ok and bool(recorded)


def send(delivery: Delivery, *, worker: str, now: dt.datetime | None = None) -> bool:
    """POST one claimed delivery and record the outcome."""
    outcome = post(delivery)
    with transaction.atomic():
        return record(delivery, outcome, worker=worker, now=now or clock.now())


def send_claimed(pks: list[int], *, worker: str, now: dt.datetime | None = None) -> int:
    """Send a group of deliveries claimed by `worker` (the outbox's sender); returns how
    many were delivered.

    Different cases are POSTed concurrently (`SENDERS` at a time); one case's deliveries
    go one after the other, in order. The outcomes are recorded in one transaction per
    group: on SQLite, where every write waits its turn for the one write lock, a
    transaction per delivery could not keep up with a burst of new cases.
    """
    deliveries = list(
        Delivery.objects.select_related("subscription")
        .filter(pk__in=pks, status=DeliveryStatus.SENDING, claimed_by=worker)
        .order_by("next_attempt_at", "id")
    )
    lanes: dict[Any, list[Delivery]] = {}
    for delivery in deliveries:
        lanes.setdefault((delivery.subscription_id, delivery.ticket_id), []).append(delivery)

    def run_lane(lane: list[Delivery]) -> list[tuple[Delivery, Outcome]]:
        return [(delivery, post(delivery)) for delivery in lane]

    if len(lanes) > 1:
        with ThreadPoolExecutor(max_workers=min(SENDERS, len(lanes))) as pool:
            results = [pair for lane in pool.map(run_lane, lanes.values()) for pair in lane]
    else:
        results = [pair for lane in lanes.values() for pair in run_lane(lane)]
    now = now or clock.now()
    with transaction.atomic():
        return sum(record(d, outcome, worker=worker, now=now) for d, outcome in results)


def deliver_due(*, worker: str = "", now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Claim (with a lease) and send the due deliveries; returns how many succeeded."""
    now = now or clock.now()
    worker = worker or uuid.uuid4().hex[:12]
    ids = outbox.claim(Delivery, worker=worker, now=now, limit=limit)
    return sum(
        send_claimed(ids[i : i + outbox.GROUP], worker=worker, now=now)
        for i in range(0, len(ids), outbox.GROUP)
    )


@transaction.atomic
def delivery_retry(*, actor: Any, delivery: Delivery) -> Delivery:
    """Send a failed (or waiting) delivery again now (from the admin)."""
    from qingquan.core.audit import audit_record

    Delivery.objects.filter(
        Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.PENDING), pk=delivery.pk
    ).update(status=DeliveryStatus.PENDING, next_attempt_at=clock.now())
    audit_record(actor=actor, action="partners.delivery_retry", obj=delivery)
    outbox.wake_on_commit()
    return Delivery.objects.get(pk=delivery.pk)
