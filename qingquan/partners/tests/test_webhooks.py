"""Webhooks against a real HTTP receiver on localhost: signing, retries, no duplicates."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest

from qingquan.core import clock, outbox
from qingquan.core.actors import SYSTEM
from qingquan.partners import services, webhooks
from qingquan.partners.models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEvent
from qingquan.tickets import services as ticket_services
from qingquan.tickets.models import CaseKind

ALL_EVENTS = list(WebhookEvent.values)


def subscribe(client: Any, url: str, events: list[str] | None = None) -> Any:
    return services.subscription_save(
        actor=SYSTEM, client=client, url=url, events=events or ALL_EVENTS, secret="s3cret"
    )


def new_case(client: Any, external_id: str = "ZLB-9") -> Any:
    partner_case, _created = services.partner_case_create(
        client=client,
        kind=CaseKind.objects.get(code="repair-leak"),
        subject="漏水",
        external_id=external_id,
    )
    return partner_case.ticket


@pytest.mark.django_db
def test_case_events_are_delivered_signed(partner, receiver, org):
    client, _key = partner
    subscribe(client, receiver.url)
    ticket = new_case(client)
    ticket = ticket_services.ticket_dispatch(
        actor=SYSTEM, ticket=ticket, version=None, department=org["repair"]
    )
    ticket = ticket_services.ticket_resolve(
        actor=SYSTEM, ticket=ticket, version=None, resolution="修好"
    )
    ticket_services.ticket_callback_record(
        actor=SYSTEM, ticket=ticket, version=None, outcome="satisfied"
    )
    assert webhooks.deliver_due() == Delivery.objects.count()
    events = [r["json"]["event"] for r in receiver.received]
    assert events == [
        "case.created",
        "case.status_changed",  # dispatched
        "case.status_changed",  # resolved
        "case.resolved",
        "case.status_changed",  # closed by the callback
        "case.callback_done",
    ]
    for request in receiver.received:
        headers = request["headers"]
        assert webhooks.verify(
            "s3cret",
            headers["x-qingquan-timestamp"],
            request["body"],
            headers["x-qingquan-signature"],
        )
        assert not webhooks.verify(
            "wrong",
            headers["x-qingquan-timestamp"],
            request["body"],
            headers["x-qingquan-signature"],
        )
        assert headers["x-qingquan-delivery"] == request["json"]["id"]
        assert request["json"]["case"]["external_id"] == "ZLB-9"
        assert request["json"]["case"]["updated_at"].endswith("+08:00")
    assert receiver.received[-1]["json"]["case"]["status"] == "closed"
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


@pytest.mark.django_db
def test_only_subscribed_events_of_own_cases(partner, make_client, receiver):
    client, _key = partner
    other, _ = make_client("wechat", channel="wechat")
    subscribe(client, receiver.url, [WebhookEvent.RESOLVED])
    new_case(client)  # created: not subscribed
    new_case(other, "W1")  # another client's case
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
def test_failed_delivery_is_retried_with_backoff(partner, receiver, at=None):
    client, _key = partner
    subscribe(client, receiver.url, [WebhookEvent.CREATED])
    receiver.fail_next = 2
    new_case(client)
    delivery = Delivery.objects.get()
    assert webhooks.deliver_due() == 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 503
    first_wait = delivery.next_attempt_at - clock.now()
    assert dt.timedelta(seconds=25) < first_wait <= dt.timedelta(seconds=30)
    # Not due yet: nothing is sent.
    assert webhooks.deliver_due() == 0 and len(receiver.received) == 1
    later = clock.now() + dt.timedelta(seconds=31)
    assert webhooks.deliver_due(now=later) == 0
    delivery.refresh_from_db()
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - later > dt.timedelta(seconds=55)  # doubled
    assert webhooks.deliver_due(now=later + dt.timedelta(minutes=2)) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 3
    # The same delivery id every time: the receiver can drop duplicates.
    assert len({r["headers"]["x-qingquan-delivery"] for r in receiver.received}) == 1


@pytest.mark.django_db
def test_gives_up_after_max_attempts(partner, receiver):
    client, _key = partner
    subscribe(client, receiver.url, [WebhookEvent.CREATED])
    receiver.fail_next = 100
    new_case(client)
    moment = clock.now()
    for _ in range(webhooks.MAX_ATTEMPTS):
        webhooks.deliver_due(now=moment)
        moment += dt.timedelta(hours=7)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == webhooks.MAX_ATTEMPTS
    webhooks.delivery_retry(actor=SYSTEM, delivery=delivery)
    receiver.fail_next = 0
    assert webhooks.deliver_due() == 1


@pytest.mark.django_db
def test_unreachable_receiver_is_a_failed_attempt(partner):
    client, _key = partner
    subscribe(client, "http://127.0.0.1:9/nothing-listens-here", [WebhookEvent.CREATED])
    new_case(client)
    assert webhooks.deliver_due() == 0
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_error


@pytest.mark.django_db
def test_outbox_write_is_idempotent(partner, receiver):
    client, _key = partner
    subscribe(client, receiver.url)
    ticket = new_case(client)
    event = ticket.events.get(action="create")
    assert webhooks.outbox_write(event_id=event.pk) == []
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_commit_wakes_the_dispatcher_which_sends_the_batch(partner, receiver):
    client, _key = partner
    subscribe(client, receiver.url, [WebhookEvent.CREATED])
    outbox.wait_for_work(0)  # clear a wake-up left by an earlier test
    new_case(client, "K1")
    new_case(client, "K2")
    assert outbox.wait_for_work(0)  # the commit woke this process's dispatcher
    # One dispatcher run sends the whole batch (no task per case).
    assert outbox.dispatch_once(worker="w1") == 2
    assert len(receiver.accepted()) == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


@pytest.mark.django_db
def test_a_claimed_delivery_is_taken_over_when_its_lease_runs_out(partner, receiver):
    client, _key = partner
    subscribe(client, receiver.url, [WebhookEvent.CREATED])
    new_case(client)
    delivery = Delivery.objects.get()
    now = clock.now()
    assert outbox.claim(Delivery, worker="a", now=now) == [delivery.pk]
    assert outbox.claim(Delivery, worker="b", now=now) == []
    assert webhooks.deliver_due(worker="b") == 0 and receiver.received == []
    # Worker a's heartbeat renews its lease: still not b's to take.
    assert outbox.renew(worker="a", now=now + dt.timedelta(seconds=20)) == 1
    assert webhooks.deliver_due(worker="b", now=now + outbox.LEASE + dt.timedelta(seconds=1)) == 0
    # Worker a died: its lease runs out and b takes the row over.
    later = now + dt.timedelta(seconds=20) + outbox.LEASE + dt.timedelta(seconds=1)
    assert webhooks.deliver_due(worker="b", now=later) == 1
    # A late answer from a changes nothing: the row is no longer its claim.
    assert webhooks.send_claimed([delivery.pk], worker="a") == 0
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_deliver_twice(partner, receiver):
    """Two workers run the delivery loop at the same time over many rows."""
    from django.db import connection

    client, _key = partner
    subscribe(client, receiver.url, [WebhookEvent.CREATED])
    for i in range(12):
        new_case(client, f"C{i}")
    assert Delivery.objects.count() == 12
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        from django.db import connection as conn

        try:
            barrier.wait()
            webhooks.deliver_due(worker=name)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    ids = [r["headers"]["x-qingquan-delivery"] for r in receiver.received]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == 12
    assert DeliveryAttempt.objects.count() == 12
    connection.close()


@pytest.mark.django_db
def test_cases_not_from_partners_send_nothing(partner, receiver, inbox):
    subscribe(partner[0], receiver.url)
    ticket_services.ticket_create(
        actor=inbox, kind=CaseKind.objects.get(code="bill"), channel="phone", subject="电话来单"
    )
    assert Delivery.objects.count() == 0
    assert webhooks.outbox_write(event_id=0) == []


@pytest.mark.django_db
def test_deliveries_share_one_http_client(partner, receiver, monkeypatch):
    """A client per POST built a TLS context per delivery (~60 ms of CPU each), which
    kept a worker below the rate partners bring cases in (fault bench, #23)."""
    import httpx

    built: list[int] = []
    original = httpx.Client.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(webhooks, "_http", None)
    monkeypatch.setattr(httpx.Client, "__init__", counting_init)
    client, _key = partner
    subscribe(client, receiver.url, [WebhookEvent.CREATED])
    for n in range(12):
        new_case(client, f"H{n}")
    assert outbox.dispatch_once(worker="w1") == 12
    assert len(receiver.accepted()) == 12
    assert len(built) == 1
