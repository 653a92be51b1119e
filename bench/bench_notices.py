"""Interruption notices (issue 18) on the bench city (bench_customers' `generate_city`).

- publishing a notice over the streets holding 200,000 × scale accounts: the accounts and
  their mobile numbers computed and frozen (bulk insert) and one SMS per number queued,
  all in the approving transaction. The freeze (target < 5 s at scale 1) is the approval
  less the time spent queueing its SMS, measured around `messages_queue`; the whole
  approval is shown beside it;
- queueing 100,000 × scale messages in one transaction (target < 10 s at scale 1);
- the send rate against the fake gateway (in this process, over HTTP) at a provider rate
  of 200/s: 1,000 × scale messages (target ≥ 95 % of the rate).

Each publication is rolled back, so the bench data stays as it was. The city needs only
the accounts the publication covers: when the database holds fewer (a `-k notices` run on
fresh data), it is topped up with one month of bills, not 24 (the notice reads accounts,
premises, streets and phones, never bills); in a full run `bench_customers` has already
made the 1,000,000 × scale-account city.

    .venv/bin/python -m bench -k notices --scale 0.05
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.context import BenchContext
from bench.harness import Measurement

RATE = 200


class _Rollback(Exception):
    pass


def _streets_for(accounts: int) -> list[int]:
    from django.db.models import Count

    from qingquan.customers.models import Account

    rows = (
        Account.objects.active()
        .values("premise__street_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .values_list("premise__street_id", "n")
    )
    chosen, total = [], 0
    for street, n in rows:
        if street is None:
            continue
        chosen.append(street)
        total += n
        if total >= accounts:
            break
    return chosen


def _publish(accounts: int) -> tuple[float, float, int]:
    """(seconds of the whole approval, of which queueing the SMS, accounts frozen)."""
    from unittest import mock

    from django.db import transaction

    from qingquan.core import clock
    from qingquan.core.actors import system
    from qingquan.notices import services

    actor = system("demo")
    streets = _streets_for(accounts)
    started = 0.0
    frozen = 0
    try:
        with transaction.atomic():
            notice = services.notice_create(
                actor=actor,
                kind="unplanned",
                title="bench",
                area_source="streets",
                area={"streets": streets},
                starts_at=clock.now(),
                expected_end_at=clock.now() + dt.timedelta(hours=4),
                reason="bench",
            )
            services.notice_submit(actor=actor, notice=notice)
            queueing = [0.0]
            real_queue = services.messages_queue

            def timed_queue(**kwargs: Any) -> int:
                at = time.perf_counter()
                try:
                    return real_queue(**kwargs)
                finally:
                    queueing[0] += time.perf_counter() - at

            started = time.perf_counter()
            with mock.patch.object(services, "messages_queue", timed_queue):
                version = services.notice_approve(actor=actor, notice=notice)
            elapsed = time.perf_counter() - started
            frozen = version.accounts
            raise _Rollback
    except _Rollback:
        pass
    return elapsed, queueing[0], frozen


def _queue(count: int) -> float:
    from django.db import transaction

    from qingquan.messaging.services import Outgoing, messages_queue

    rows = [
        Outgoing(channel="sms", to=f"+86139{i:08d}", template="notice_published", body="停水通知")
        for i in range(count)
    ]
    started = time.perf_counter()
    try:
        with transaction.atomic():
            messages_queue(source="bench", source_id=1, messages=rows, urgent=True)
            elapsed = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return elapsed


def _vacuum() -> None:
    """PostgreSQL keeps the rolled-back publications' rows as dead tuples until autovacuum
    comes by (600,000 after one run): every claim of the send-rate run would wade through
    them, a state production (committed rows, vacuumed as they churn) never sees."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in ("messaging_message", "notices_noticerecipient"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _send_rate(count: int) -> float:
    from django.conf import settings

    from qingquan.core import outbox
    from qingquan.messaging import gateways, rules
    from qingquan.messaging.fake import FakeGateways
    from qingquan.messaging.models import Message
    from qingquan.messaging.services import Outgoing, messages_queue

    fake = FakeGateways().start()
    old = settings.MESSAGING
    settings.MESSAGING = {
        **old,
        "SMS_ENDPOINT": f"{fake.url}/sms/",
        "QUIET_HOURS": (0, 0),
        "RATE_PER_SECOND": {"sms": RATE},
    }
    gateways.reset()
    rules.THROTTLES.clear()
    try:
        messages_queue(
            source="bench-rate",
            source_id=int(time.time()),
            urgent=True,
            messages=[
                Outgoing(channel="sms", to=f"+86138{i:08d}", template="t", body="b")
                for i in range(count)
            ],
        )
        started = time.perf_counter()
        while len(fake.received) < count:
            if not outbox.dispatch_once(worker="bench"):
                time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        Message.objects.filter(source="bench-rate").delete()
        settings.MESSAGING = old
        gateways.reset()
        fake.stop()


def _ensure_accounts(wanted: int) -> None:
    """At least `wanted` accounts in the database (generated with one month of bills)."""
    import sys

    from qingquan.customers.generator import generate_city
    from qingquan.customers.models import Account

    have = Account.objects.count()
    if have >= wanted:
        return
    started = time.perf_counter()
    generate_city(accounts=wanted - have, months=1, seed=have + 1)
    print(
        f"  bench_notices: {wanted - have:,} accounts generated in "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


def cases(ctx: BenchContext) -> list[Any]:
    wanted = max(1000, int(200_000 * ctx.scale))
    _ensure_accounts(wanted + wanted // 10)  # closed accounts are never notified
    elapsed, queueing, frozen = _publish(wanted)
    queued = max(1000, int(100_000 * ctx.scale))
    sends = max(200, int(1000 * ctx.scale))
    _vacuum()
    send_seconds = _send_rate(sends)
    return [
        Measurement(
            name=f"publish: compute and freeze {frozen:,} affected accounts",
            seconds=elapsed - queueing,
            limit_seconds=5.0 * frozen / 200_000 if frozen else None,
            note="target at scale 1: 200,000 accounts < 5 s (the approval less its queueing)",
        ),
        Measurement(
            name=f"publish: the whole approval, with their SMS queued ({queueing:.1f} s)",
            seconds=elapsed,
            limit_seconds=None,
            note="the freeze above plus queueing one SMS per number, one transaction",
        ),
        Measurement(
            name=f"queue {queued:,} messages in one transaction",
            seconds=_queue(queued),
            limit_seconds=10.0 * queued / 100_000,
        ),
        Measurement(
            name=f"send {sends:,} SMS to the fake gateway at {RATE}/s "
            f"({sends / send_seconds:.0f}/s achieved)",
            seconds=send_seconds,
            limit_seconds=sends / (RATE * 0.95),
        ),
    ]
