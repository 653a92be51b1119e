"""Concurrent retries: two (or more) identical creations at the same instant make ONE case.

Runs with real transactions (transaction=True) and one database connection per thread,
on SQLite (writers queue on the IMMEDIATE write lock) and PostgreSQL (the second insert
of the idempotency key waits on the unique index until the first commits).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from qingquan.partners.models import IdempotencyRecord, PartnerCase
from qingquan.tickets.models import Ticket

BASE = "/api/partner/v1"
CASE = {"kind": "repair-burst", "subject": "主干管爆管", "external_id": ""}


def race(count: int, send: Any) -> list[Any]:
    """Run `send()` in `count` threads released together; return the responses."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        from django.db import connection as conn

        try:
            barrier.wait()
            results[i] = send()
        except BaseException as exc:  # reported by the assertions
            results[i] = exc
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_create_one_case(partner):
    key = partner[1]

    def send() -> Any:
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
            f"{BASE}/cases",
            json.dumps(CASE),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY="same-retry",
        )

    responses = race(4, send)
    for response in responses:
        assert not isinstance(response, BaseException), response
        assert response.status_code == 201, response.content
    assert len({r.json()["number"] for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 3
    assert Ticket.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    connection.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_with_one_external_id_create_one_case(partner):
    key = partner[1]
    body = {**CASE, "external_id": "ZLB-2026-77"}

    def send(i: int) -> Any:
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
            f"{BASE}/cases",
            json.dumps(body),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"different-{i}",
        )

    counter = iter(range(100))
    lock = threading.Lock()

    def next_send() -> Any:
        with lock:
            i = next(counter)
        return send(i)

    responses = race(3, next_send)
    for response in responses:
        assert not isinstance(response, BaseException), response
        assert response.status_code in (200, 201), response.content
    assert sorted(r.status_code for r in responses) == [200, 200, 201]
    assert len({r.json()["number"] for r in responses}) == 1
    assert PartnerCase.objects.filter(external_id="ZLB-2026-77").count() == 1
    assert Ticket.objects.count() == 1
    connection.close()
