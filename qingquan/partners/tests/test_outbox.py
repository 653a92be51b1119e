"""The transactional outbox as the partners use it: rows in the change's transaction, a
commit that no after-commit failure can turn into an error, a clock that bulk sending
cannot starve (docs/architecture.md, "Background work")."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django_tasks import task

from qingquan.core import clock, outbox, periodic
from qingquan.core.actors import SYSTEM
from qingquan.partners import services
from qingquan.partners.models import Delivery, DeliveryStatus, PartnerCase, WebhookEvent
from qingquan.tickets import services as ticket_services
from qingquan.tickets.models import CaseKind, SlaState, Ticket


def subscribe(client: Any, url: str) -> Any:
    return services.subscription_save(
        actor=SYSTEM, client=client, url=url, events=list(WebhookEvent.values), secret="s"
    )


class Rollback(Exception):
    pass


@pytest.mark.django_db
def test_the_outbox_row_is_written_in_the_changes_transaction(partner, receiver):
    client, _key = partner
    subscribe(client, receiver.url)
    kind = CaseKind.objects.get(code="repair-leak")
    with pytest.raises(Rollback), transaction.atomic():
        partner_case, _ = services.partner_case_create(
            client=client, kind=kind, subject="漏水", external_id="R-1"
        )
        # Before any commit, the row is there beside the case …
        assert Delivery.objects.filter(ticket=partner_case.ticket).count() == 1
        raise Rollback
    # … and a rollback takes both away: no webhook for a case that does not exist.
    assert not PartnerCase.objects.exists()
    assert not Delivery.objects.exists()
    # A later status change writes its rows in its own transaction too.
    partner_case, _ = services.partner_case_create(client=client, kind=kind, subject="漏水")
    with pytest.raises(Rollback), transaction.atomic():
        ticket_services.ticket_resolve(
            actor=SYSTEM, ticket=partner_case.ticket, version=None, resolution="修好"
        )
        assert Delivery.objects.filter(event=WebhookEvent.RESOLVED).count() == 1
        raise Rollback
    assert list(Delivery.objects.values_list("event", flat=True)) == [WebhookEvent.CREATED]


@pytest.mark.django_db(transaction=True)
def test_a_failing_after_commit_step_still_answers_201(partner, receiver, monkeypatch, caplog):
    client, key = partner
    subscribe(client, receiver.url)

    def broken_wake() -> None:
        raise ConnectionError("the after-commit step failed")

    monkeypatch.setattr(outbox, "wake", broken_wake)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    with caplog.at_level(logging.ERROR):
        response = api.post(
            "/api/partner/v1/cases",
            json.dumps({"kind": "repair-leak", "subject": "漏水", "external_id": "A-1"}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="once",
        )
    assert response.status_code == 201, response.content
    assert "the after-commit step failed" in caplog.text  # logged, not answered
    # The webhook is in the outbox all the same: the dispatcher's poll sends it.
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 1
    assert outbox.dispatch_once(worker="sweep") == 1
    assert len(receiver.accepted()) == 1


@pytest.mark.django_db(transaction=True)
def test_the_sla_sweep_runs_while_1000_deliveries_are_due(partner, receiver, inbox, monkeypatch):
    from qingquan.core.worker import Worker
    from qingquan.tickets.tasks import sla_sweep

    client, _key = partner
    subscription = subscribe(client, receiver.url)
    receiver.delay = 0.05  # a slow partner: 1,000 sends take about a minute
    now = clock.now()
    Delivery.objects.bulk_create(
        Delivery(
            subscription=subscription,
            event=WebhookEvent.CREATED,
            source_event_id=i,
            payload={"n": i},
            next_attempt_at=now,
            created_at=now,
        )
        for i in range(1000)
    )
    planted = ticket_services.ticket_create(
        actor=inbox, kind=CaseKind.objects.get(code="bill"), channel="phone", subject="到期"
    )
    Ticket.objects.filter(pk=planted.pk).update(
        resolution_deadline=now - dt.timedelta(minutes=1), sla_state=SlaState.OK
    )
    # Only the sweep among the periodic jobs, so the test measures it alone.
    monkeypatch.setattr(periodic, "REGISTRY", {"sla": periodic.PeriodicJob("sla", sla_sweep, 60)})
    worker = Worker(kind="test").start()
    try:
        deadline = time.monotonic() + 30
        state = SlaState.OK
        while time.monotonic() < deadline:
            state = Ticket.objects.values_list("sla_state", flat=True).get(pk=planted.pk)
            if state == SlaState.BREACHED:
                break
            time.sleep(0.2)
        still_due = Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).count()
        deadline = time.monotonic() + 30
        while not receiver.arrived and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.shutdown(timeout=30)
    assert state == SlaState.BREACHED
    # The sweep did not wait for the sends: most were still to go when it flagged the case.
    assert still_due > 500
    assert receiver.arrived  # and the dispatcher was sending all along


@task()
def hold() -> None:
    """A long task, for a worker to be killed in the middle of."""
    time.sleep(120)


def _database_url() -> str:
    from django.db import connection

    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
    return (
        f"postgres://{conf['USER']}{password}@{conf['HOST'] or '127.0.0.1'}:"
        f"{conf['PORT'] or 5432}/{conf['NAME']}"
    )


@pytest.mark.django_db(transaction=True)
def test_a_killed_workers_claims_are_taken_over_after_its_lease(partner, receiver, tmp_path):
    from django_tasks_db.models import DBTaskResult

    from qingquan.core.models import WorkerHeartbeat
    from qingquan.core.worker import take_over_dead_claims

    client, _key = partner
    subscribe(client, receiver.url)
    receiver.delay = 60  # the first send hangs: the worker is killed in the middle of it
    services.partner_case_create(
        client=client, kind=CaseKind.objects.get(code="repair-leak"), subject="漏水"
    )
    held = hold.enqueue()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "QINGQUAN_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "qingquan.settings",
    }
    log = (tmp_path / "worker.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "qingquan.cli", "worker"], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            running = DBTaskResult.objects.filter(pk=held.id, status="RUNNING").exists()
            if receiver.arrived and running:
                break
            assert process.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        else:
            pytest.fail("the worker never got going: " + (tmp_path / "worker.log").read_text())
    finally:
        process.kill()  # SIGKILL: no clean-up of any kind
        process.wait(10)
        log.close()
    dead = WorkerHeartbeat.objects.get()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENDING and delivery.claimed_by == dead.worker_id
    receiver.delay = 0
    # Within the lease the claims stand (the worker might only be slow) …
    assert outbox.dispatch_once(worker="second") == 0
    assert take_over_dead_claims(now=clock.now()) == 0
    # … after it, another worker takes them over.
    with time_machine.travel(clock.now() + outbox.LEASE + dt.timedelta(seconds=15)):
        assert outbox.dispatch_once(worker="second") == 1
        assert take_over_dead_claims(now=clock.now()) >= 1
    assert DBTaskResult.objects.get(pk=held.id).status == "READY"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    # The one repeat a death mid-send allows, under the same delivery id.
    ids = {r["headers"]["x-qingquan-delivery"] for r in receiver.received}
    assert ids == {str(delivery.delivery_id)} and receiver.arrived == 2


@pytest.mark.django_db(transaction=True)  # the retry happens outside any transaction
def test_a_lost_connection_is_retried_by_the_server(api, monkeypatch):
    from django.db import OperationalError

    from qingquan.partners import api as partner_api

    monkeypatch.setattr(partner_api, "RECONNECT_DELAYS", (0.01, 0.01))
    create = services.partner_case_receive
    calls: list[int] = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return create(**kwargs)

    monkeypatch.setattr(services, "partner_case_receive", flaky)
    response = api.post(
        "/api/partner/v1/cases",
        json.dumps({"kind": "repair-leak", "subject": "漏水"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="restart",
    )
    assert response.status_code == 201, response.content
    assert len(calls) == 2 and PartnerCase.objects.count() == 1


@pytest.mark.django_db
def test_a_database_outage_mid_request_answers_503_to_retry(api, monkeypatch):
    from django.db import OperationalError

    from qingquan.partners import api as partner_api

    monkeypatch.setattr(partner_api, "RECONNECT_DELAYS", (0.01,))

    def gone(**kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "partner_case_receive", gone)
    response = api.post(
        "/api/partner/v1/cases",
        json.dumps({"kind": "repair-leak", "subject": "漏水"}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="outage",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "unavailable"
