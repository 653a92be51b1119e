"""Intake without conflicts used as control flow, and the batched rate limit (issue #12,
decision 0009)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from qingquan.core import clock
from qingquan.core.actors import SYSTEM
from qingquan.partners import services
from qingquan.partners.errors import RateLimited
from qingquan.partners.models import ApiKey, RateWindow

pytestmark = pytest.mark.django_db

BASE = "/api/partner/v1"
CASE = {"kind": "repair-leak", "subject": "小区门口漏水", "external_id": "ext-1"}


class ErrorSpy:
    """Every statement the database refused on this connection, whether or not the code
    caught the error afterwards (a duplicate key shows up in PostgreSQL's log either way)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        try:
            return execute(sql, params, many, context)
        except Exception as error:
            self.errors.append(f"{type(error).__name__}: {error} [{sql[:80]}]")
            raise


def test_repeats_and_retries_raise_no_database_error(partner, api, receiver):
    from qingquan.core import periodic
    from qingquan.core.notifications import notify
    from qingquan.partners.webhooks import outbox_write

    client, _key = partner
    services.subscription_save(
        actor=SYSTEM, client=client, url=receiver.url, events=["case.created"]
    )
    spy = ErrorSpy()
    with connection.execute_wrapper(spy):
        headers = {"HTTP_IDEMPOTENCY_KEY": "again"}
        body = json.dumps(CASE)
        first = api.post(f"{BASE}/cases", body, content_type="application/json", **headers)
        assert first.status_code == 201, first.content
        replay = api.post(f"{BASE}/cases", body, content_type="application/json", **headers)
        assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
        # The same external id under another Idempotency-Key: the same case (200).
        other = api.post(
            f"{BASE}/cases", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="b"
        )
        assert other.status_code == 200
        from qingquan.tickets.models import TicketEvent

        entry = TicketEvent.objects.get(action="create")
        assert outbox_write(event_id=entry.pk, ticket_id=entry.ticket_id) == []  # replayed
        owner = client.intake_owner
        assert notify(recipient=owner, title="x", dedupe_key="same") is not None
        assert notify(recipient=owner, title="x", dedupe_key="same") is None
        now = clock.now()
        assert periodic.claim_slot("test.job", 1, now) is True
        assert periodic.claim_slot("test.job", 1, now) is False
        key = ApiKey.objects.get(client=client)
        services.rate_limit_hit(key=key, now=now + dt.timedelta(minutes=5))
        services.rate_limit_hit(key=key, now=now + dt.timedelta(minutes=5))
    assert spy.errors == []


def test_a_high_limit_is_counted_in_batches_and_still_enforced(make_client):
    _client, plaintext = make_client("busy", rate_limit_per_minute=1000)
    key = services.authenticate(plaintext)
    assert key is not None
    now = clock.now().replace(second=0, microsecond=0)
    for _ in range(1000):
        services.rate_limit_hit(key=key, now=now)
    # The database row was written in batches (1 % of the limit), not once a request.
    assert 990 <= RateWindow.objects.get(key=key).count <= 1000
    with pytest.raises(RateLimited):
        for _ in range(11):  # at most 1 % over, per process
            services.rate_limit_hit(key=key, now=now)
    assert RateWindow.objects.get(key=key).count > 1000


def test_a_low_limit_is_exact(make_client):
    _client, plaintext = make_client("small", rate_limit_per_minute=150)
    key = services.authenticate(plaintext)
    assert key is not None
    now = clock.now().replace(second=0, microsecond=0)
    for _ in range(150):
        services.rate_limit_hit(key=key, now=now)
    with pytest.raises(RateLimited):
        services.rate_limit_hit(key=key, now=now)
    assert RateWindow.objects.get(key=key).count == 151


def test_a_cached_key_is_refused_once_revoked(partner):
    _client, plaintext = partner
    api = Client(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.get(f"{BASE}/cases").status_code == 200
    ApiKey.objects.update(revoked_at=clock.now())  # as another process would: no signal
    services.forget_keys()  # … and this process's cache has expired
    assert api.get(f"{BASE}/cases").status_code == 401
