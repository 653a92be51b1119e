"""Idempotent creation (`Idempotency-Key`) and the retention of its records and of
delivered webhooks."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.partners.errors import (
    IdempotencyConflict,
    PartnerError,
)
from qingquan.partners.models import (
    IdempotencyRecord,
    PartnerClient,
    hash_key,
)

# ---------------------------------------------------------------------------
# Idempotent creation
# ---------------------------------------------------------------------------


def request_hash(payload: Any) -> str:
    """A stable hash of a request body (keys sorted), to spot a reused idempotency key."""
    return hash_key(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str))


_in_idempotent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "partners_in_idempotent", default=False
)


def idempotent(
    *,
    client: PartnerClient,
    key: str,
    payload: Any,
    create: Callable[[], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """Run `create` once per (client, idempotency key); returns (status, body, replayed).

    The key's row is inserted first, in the same transaction as the creation, so a
    concurrent retry waits on the unique index (PostgreSQL) or the write lock (SQLite)
    and then finds the stored answer. The same key with a different body answers 422.
    A creation that fails stores nothing: a retry runs it again.
    """
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise PartnerError(
            _("Send an Idempotency-Key header (1 to 200 characters) with every create."),
            code="idempotency_key_missing",
        )
    digest = request_hash(payload)
    table = IdempotencyRecord._meta.db_table
    with transaction.atomic():
        # Insert-or-find in one statement: a concurrent request with the same key waits on
        # the unique index until the first commits (then finds nothing inserted here) or
        # rolls back (then this one inserts). No duplicate-key error is raised or logged.
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (client_id, {connection.ops.quote_name('key')}, "  # noqa: S608 (the model's own table)
                "request_hash, status_code, response, created_at) "
                "VALUES (%s, %s, %s, 0, %s, %s) "
                f"ON CONFLICT (client_id, {connection.ops.quote_name('key')}) DO NOTHING "
                "RETURNING id",
                [client.pk, key, digest, "{}", clock.now()],
            )
            inserted = cursor.fetchone()
        if inserted is not None:
            # Inside this transaction an error rolls all of it back anyway: the creation
            # needs no savepoint of its own (two statements fewer).
            token = _in_idempotent.set(True)
            try:
                status, body = create()
            finally:
                _in_idempotent.reset(token)
            _store_answer(inserted[0], status, body)
            return status, body, False
    stored = IdempotencyRecord.objects.filter(client=client, key=key).first()
    if stored is None:  # the first request's creation failed and was rolled back meanwhile
        return idempotent(client=client, key=key, payload=payload, create=create)
    if stored.request_hash != digest:
        raise IdempotencyConflict(_("This Idempotency-Key was used with a different request body."))
    return stored.status_code, stored.response, True


def _store_answer(record_id: int, status: int, body: Any) -> None:
    """The key's answer, by one precompiled UPDATE (building a queryset's UPDATE cost more
    than running it: issue #12)."""
    response = IdempotencyRecord._meta.get_field("response")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {IdempotencyRecord._meta.db_table} SET status_code = %s, response = %s "  # noqa: S608 (the model's own table)
            "WHERE id = %s",
            [status, response.get_db_prep_save(body, connection), record_id],
        )


IDEMPOTENCY_RETENTION = dt.timedelta(days=30)
DELIVERY_RETENTION = dt.timedelta(days=90)


def purge_old_records(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete idempotency records older than 30 days and delivered webhooks (with their
    attempt log) older than 90 days; failed deliveries stay for the administrators."""
    from qingquan.partners.models import Delivery, DeliveryStatus

    now = now or clock.now()
    keys, _ = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_RETENTION).delete()
    old = Delivery.objects.filter(
        status=DeliveryStatus.DELIVERED, delivered_at__lt=now - DELIVERY_RETENTION
    )
    deliveries, _ = old.delete()
    return {"idempotency_records": keys, "deliveries": deliveries}
