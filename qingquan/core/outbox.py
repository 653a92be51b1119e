"""The transactional outbox: side effects that leave the process, sent by a dispatcher.

A service that changes state and must tell the outside world (a partner webhook; later an
SMS, a WeChat message, an IVR call) writes one outbox row **in the same transaction** as
the change. If the change rolls back, so does the row; once the change is committed, the
row is there even if the process dies the next instant. Nothing is sent inside the
transaction, and nothing that runs after the commit can fail the request: the only
after-commit step is `wake()`, a hint to the dispatcher of this process (registered with
`robust=True`, so even a failing hint is only logged).

An outbox is a model registered here with `register(...)`. Its rows carry:

- ``status``: pending → sending → delivered (or back to pending with a later
  ``next_attempt_at`` after a failure, or failed after the last attempt);
- ``next_attempt_at``: when the row is due;
- ``claimed_by`` / ``claimed_at`` / ``lease_until``: the worker sending it and until when
  its claim holds. The worker's heartbeat (`core.worker`) renews the lease of everything
  it holds every `worker.HEARTBEAT_SECONDS`; a row whose lease ran out (its worker died,
  or lost the database for longer than the lease) is due again for any worker.

The dispatcher (`dispatch_once`, run in a loop by every worker, see `core.worker`) claims a
batch of due rows in one statement (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so
concurrent workers take disjoint batches; on SQLite the transaction holds the one write
lock) and hands them to the outbox's `send` in groups of `GROUP`, which sends them and
records each outcome only if the row is still its claim. A row is therefore sent twice
only if a worker dies (or is cut off for longer than the lease) between sending a group
and recording it (at most `GROUP` repeats): receivers deduplicate by the row's stable id
(docs/api.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, models, transaction
from django.db.models import Q

from qingquan.core import clock

logger = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=30)
BATCH = 100  # rows claimed at once
GROUP = 20  # rows handed to `send` at once (sent, then recorded in one transaction)

PENDING, SENDING = "pending", "sending"


@dataclass(frozen=True)
class Outbox:
    """One registered outbox: its model and how one claimed row is sent."""

    name: str
    model: type[models.Model]
    # send(pks, worker=..., now=...) -> int: sends a group of claimed rows, records each
    # outcome (only where the row is still the worker's claim); returns how many succeeded
    send: Callable[..., int]
    group: int = GROUP


REGISTRY: dict[str, Outbox] = {}
_wakeup = threading.Event()


def register(
    name: str, *, model: type[models.Model], send: Callable[..., int], group: int = GROUP
) -> None:
    """Make `model` an outbox sent by `send(pks, worker=…, now=…)`, `group` rows at a time
    (call from an app's ready())."""
    REGISTRY[name] = Outbox(name=name, model=model, send=send, group=group)


def wake() -> None:
    """Tell this process's dispatcher that rows are due (a hint; it also polls)."""
    _wakeup.set()


def wake_on_commit() -> None:
    """Wake the dispatcher once the current transaction commits; never raises there."""
    transaction.on_commit(wake, robust=True)


def wait_for_work(timeout: float) -> bool:
    """Sleep until woken or `timeout`; True if woken."""
    woken = _wakeup.wait(timeout)
    _wakeup.clear()
    return woken


def due(now: dt.datetime) -> Q:
    """Rows to send now: pending and due, or sending under a lease that ran out."""
    return Q(status=PENDING, next_attempt_at__lte=now) | Q(status=SENDING, lease_until__lt=now)


def claim(
    model: type[models.Model], *, worker: str, now: dt.datetime, limit: int = BATCH
) -> list[int]:
    """Claim up to `limit` due rows of `model` for `worker` with a fresh lease; their ids.

    One transaction: the rows are selected FOR UPDATE SKIP LOCKED (PostgreSQL; a no-op on
    SQLite, where the IMMEDIATE transaction already holds the only write lock) and marked
    as this worker's in one UPDATE, which repeats the due condition so a row that changed
    meanwhile is not taken.
    """
    manager: Any = model._default_manager
    # A read first: an idle poll takes no write lock (SQLite has one for everybody).
    if not manager.filter(due(now)).exists():
        return []
    with transaction.atomic():
        ids = list(
            manager.select_for_update(skip_locked=True)
            .filter(due(now))
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        taken = manager.filter(due(now), pk__in=ids)
        taken.update(status=SENDING, claimed_by=worker, claimed_at=now, lease_until=now + LEASE)
        mine = set(manager.filter(pk__in=ids, claimed_by=worker).values_list("pk", flat=True))
        return [pk for pk in ids if pk in mine]  # oldest first


def renew(*, worker: str, now: dt.datetime | None = None) -> int:
    """Extend the lease of every row `worker` is sending (its heartbeat); returns rows."""
    now = now or clock.now()
    renewed = 0
    for outbox in REGISTRY.values():
        renewed += outbox.model._default_manager.filter(status=SENDING, claimed_by=worker).update(
            lease_until=now + LEASE
        )
    return renewed


def release(*, worker: str) -> int:
    """Give back what `worker` claimed but has not sent (a clean stop): due at once."""
    released = 0
    for outbox in REGISTRY.values():
        released += outbox.model._default_manager.filter(status=SENDING, claimed_by=worker).update(
            status=PENDING, claimed_by="", claimed_at=None, lease_until=None
        )
    return released


def dispatch_once(
    *,
    worker: str,
    now: dt.datetime | None = None,
    limit: int = BATCH,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """One dispatcher run: claim a batch of due rows per outbox and send them; returns how
    many rows were handled. A stop request ends the batch after the current row and gives
    the rest back."""
    handled = 0
    for outbox in REGISTRY.values():
        ids = claim(outbox.model, worker=worker, now=now or clock.now(), limit=limit)
        for start in range(0, len(ids), outbox.group):
            group = ids[start : start + outbox.group]
            if should_stop():
                outbox.model._default_manager.filter(
                    pk__in=ids[start:], status=SENDING, claimed_by=worker
                ).update(status=PENDING, claimed_by="", claimed_at=None, lease_until=None)
                break
            try:
                outbox.send(group, worker=worker, now=now)
            except DatabaseError:
                raise  # the worker's loop waits for the database; the leases run out
            except Exception:
                # A bug in a sender: the rows stay claimed until their lease runs out.
                logger.exception("outbox %s: sending rows %s failed", outbox.name, group)
            handled += len(group)
    return handled


def backlog(*, now: dt.datetime | None = None) -> dict[str, dict[str, Any]]:
    """Per outbox: rows due now, rows being sent and the age of the oldest due row."""
    now = now or clock.now()
    out: dict[str, dict[str, Any]] = {}
    for outbox in REGISTRY.values():
        manager: Any = outbox.model._default_manager
        pending = manager.filter(status=PENDING, next_attempt_at__lte=now)
        oldest = pending.order_by("next_attempt_at").values_list("next_attempt_at", flat=True)
        first = oldest.first()
        out[outbox.name] = {
            "due": pending.count(),
            "sending": manager.filter(status=SENDING).count(),
            "oldest_seconds": int((now - first).total_seconds()) if first else 0,
        }
    return out
