"""The online service hall (issue #19) on the bench city (bench_customers' `generate_city`):
the portal home of a resident with three bound accounts of 24 months of bills each, and the
payment notifies of the WeChat Pay / Alipay sandboxes, 16 at once, each against a bare ASGI
endpoint doing the same reads and writing the same rows with raw SQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import html
import json
import time
from decimal import Decimal
from http.cookies import SimpleCookie
from typing import Any

import httpx
from asgiref.sync import sync_to_async

from bench.asgi import bare
from bench.context import BenchContext
from bench.harness import Comparison

CLIENTS = 16
PER_ROUND = 64  # notifies per timed call, shared among the clients
RESIDENT_PHONE = "+8613900096390"
PAYER_PHONE = "+8613900096391"
OPEN = ("unpaid", "partially_paid")


# -- the portal home --------------------------------------------------------------------
def _home_resident() -> str:
    """The bench resident with three of the city's accounts bound (accounts with 24 bills
    and something to pay, of three customers), and a fresh portal session; its key."""
    from qingquan.core import clock
    from qingquan.customers.models import Account, Bill
    from qingquan.portal import services
    from qingquan.portal.models import Binding, Resident

    resident, _created = Resident.objects.get_or_create(
        phone=RESIDENT_PHONE, defaults={"created_at": clock.now()}
    )
    bound = Binding.objects.filter(resident=resident).count()
    if bound < 3:
        with_open = Bill.objects.filter(status__in=OPEN).values("account_id")
        candidates = (
            Account.objects.filter(pk__in=with_open)
            .exclude(portal_bindings__resident=resident)
            .select_related("customer")
            .order_by("pk")
        )
        # The first accounts may be a notices run's (one month of bills): look further.
        for account in candidates.iterator(chunk_size=200):
            if bound >= 3:
                break
            if account.bills.count() < 24:
                continue
            services.account_bind(
                resident=resident, number=account.number, name=account.customer.name
            )
            bound += 1
    if Binding.objects.filter(resident=resident).count() < 3:
        raise RuntimeError("the city has too few accounts with 24 bills and one to pay")
    return services.session_start(resident=resident)


def _home_rows(key: str) -> str | None:
    """What the portal home reads, with raw SQL: the session and its resident, the bound
    accounts with their premises, each account's open bills less what was paid on them,
    the five latest cases of the resident or their accounts, and the active interruption
    notices whose current version reaches their premises or accounts."""
    from django.conf import settings
    from django.db import connection

    now = dt.datetime.now(dt.UTC)
    key_hash = hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id, r.elder_mode FROM portal_portalsession s JOIN portal_resident r "
            "ON r.id = s.resident_id WHERE s.key_hash = %s AND s.ended_at IS NULL "
            "AND s.expires_at > %s",
            [key_hash, now],
        )
        row = cursor.fetchone()
        if row is None:
            return None
        resident_id = row[0]
        cursor.execute(
            "SELECT a.id, a.number, a.premise_id, p.address FROM portal_binding b "
            "JOIN customers_account a ON a.id = b.account_id "
            "JOIN customers_premise p ON p.id = a.premise_id "
            "WHERE b.resident_id = %s ORDER BY b.created_at, b.id",
            [resident_id],
        )
        accounts = cursor.fetchall()
        ids = [a[0] for a in accounts] or [0]
        premises = [a[2] for a in accounts] or [0]
        marks = ", ".join(["%s"] * len(ids))
        premise_marks = ", ".join(["%s"] * len(premises))
        cursor.execute(
            "SELECT b.account_id, b.total, (SELECT SUM(pm.amount) FROM customers_payment pm "
            f"WHERE pm.bill_id = b.id) FROM customers_bill b WHERE b.account_id IN ({marks}) "
            "AND b.status IN (%s, %s)",
            [*ids, *OPEN],
        )
        owed: dict[int, Decimal] = {}
        for account_id, total, paid in cursor.fetchall():
            left = Decimal(str(total)) - Decimal(str(paid or 0))
            owed[account_id] = owed.get(account_id, Decimal(0)) + max(left, Decimal(0))
        cursor.execute(
            "SELECT t.number, t.subject, t.state FROM tickets_ticket t WHERE t.id IN "
            "(SELECT ticket_id FROM portal_caselink WHERE resident_id = %s) "
            f"OR t.account_id IN ({marks}) ORDER BY t.created_at DESC LIMIT 5",
            [resident_id, *ids],
        )
        cases = cursor.fetchall()
        cursor.execute(
            "SELECT DISTINCT n.id, n.title, n.starts_at FROM notices_noticerecipient r "
            "JOIN notices_noticeversion v ON v.id = r.version_id "
            "JOIN notices_notice n ON n.id = v.notice_id AND v.number = n.version "
            f"WHERE n.status = 'published' AND (r.premise_id IN ({premise_marks}) "
            f"OR r.account_id IN ({marks})) ORDER BY n.starts_at DESC",
            [*premises, *ids],
        )
        notices = cursor.fetchall()
    cards = "".join(
        f"<section><h2>{html.escape(a[1])}</h2><p>{html.escape(a[3])}</p>"
        f"<p>¥{owed.get(a[0], Decimal('0.00'))}</p></section>"
        for a in accounts
    )
    listed = "".join(f"<li>{html.escape(c[0])} {html.escape(c[1])}</li>" for c in cases)
    told = "".join(f"<p>{html.escape(n[1])}</p>" for n in notices)
    return f"<html><body>{told}{cards}<ul>{listed}</ul></body></html>"


@bare("/__bench/bare-portal-home")
async def bare_portal_home(scope: dict[str, Any], receive: Any, send: Any) -> None:
    cookies = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookies.load(value.decode())
    key = cookies["qq_portal"].value if "qq_portal" in cookies else ""
    body = await sync_to_async(_home_rows)(key)
    await _answer(send, 200 if body is not None else 403, (body or "forbidden").encode())


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _home_case(ctx: BenchContext, accounts: int) -> Comparison:
    from qingquan.portal import rules

    base = ctx.server()
    client = httpx.Client(base_url=base, cookies={rules.COOKIE: _home_resident()}, timeout=30)
    ctx.on_close(client.close)

    def bare_home() -> None:
        response = client.get("/__bench/bare-portal-home")
        assert response.status_code == 200, response.status_code

    def home() -> None:
        response = client.get("/portal/")
        assert response.status_code == 200, response.status_code
        assert b'data-testid="account-card"' in response.content

    return Comparison(
        name=f"portal home, 3 accounts × 24 months of bills ({accounts:,} accounts)",
        baseline_label="bare ASGI + raw SQL, same reads",
        subject_label="GET /portal/ (portal session)",
        baseline=bare_home,
        subject=home,
        # 200 samples at any scale (the harness multiplies iterations by the scale).
        iterations=int(200 / min(max(ctx.scale, 0.01), 1.0)),
        max_subject_ms=50.0,
        note="issue #19: median < 50 ms; one client, sequential requests",
    )


# -- payment notifies -------------------------------------------------------------------
# Audit rows of a notify handled by the platform (column → value), read by whichever
# process serves the bare endpoint.
TEMPLATES: dict[str, Any] = {}


def _open_orders(count: int) -> list[tuple[str, Any, str]]:
    """`count` orders of one open city bill each (WeChat Pay and Alipay in turn), made by
    the platform's service, each charged in its sandbox's ledger: (provider, order,
    transaction id). Bills of no earlier order, none of the home resident's accounts."""
    from qingquan.core import clock
    from qingquan.customers.models import Bill
    from qingquan.payments import services
    from qingquan.payments.models import OrderBill
    from qingquan.payments.providers import SandboxProvider
    from qingquan.portal.models import Binding, Resident

    payer, _created = Resident.objects.get_or_create(
        phone=PAYER_PHONE, defaults={"created_at": clock.now()}
    )
    bills = list(
        Bill.objects.filter(status="unpaid", total__gt=0)
        .exclude(pk__in=OrderBill.objects.values("bill_id"))
        .exclude(account_id__in=Binding.objects.values("account_id"))
        .order_by("pk")[:count]
    )
    if len(bills) < count:
        raise RuntimeError(f"the city has {len(bills)} unpaid bills left to pay, {count} wanted")
    orders = []
    for n, bill in enumerate(bills):
        name = ("wechat", "alipay")[n % 2]
        order = services.order_create(resident=payer, bills=[bill], provider_name=name)
        _headers, body = SandboxProvider(name).charge(order)
        orders.append((name, order, json.loads(body)["resource"]["transaction_id"]))
    return orders


def _pay_one(provider: str, order: Any, transaction_id: str) -> None:
    """Handle one notify through the platform, so that its audit rows exist as templates
    for the bare endpoint."""
    from qingquan.payments import services
    from qingquan.payments.providers import SandboxProvider

    headers, body = SandboxProvider(provider).notify_for(order, transaction_id=transaction_id)
    answer = services.notify_handle(provider_name=provider, headers=headers, body=body)
    assert answer.outcome == "paid", answer


def _row(table: str, pk: int) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [pk])
        names = [c[0] for c in cursor.description]
        return {k: v for k, v in zip(names, cursor.fetchone(), strict=True) if k != "id"}


def _load_templates() -> None:
    """The audit rows of a payment recorded and of an order paid by a notify (any will
    do: the setup handled one through the platform)."""
    from qingquan.core.models import AuditEvent

    if TEMPLATES:
        return
    for key, action in (
        ("payment_audit", "customers.payment.record"),
        ("order_audit", "payments.order.paid"),
    ):
        TEMPLATES[key] = _row(
            "core_auditevent", AuditEvent.objects.filter(action=action).latest("id").pk
        )


def _log(cursor: Any, provider: str, now: Any, verified: bool, number: str, outcome: str,
         body: bytes) -> None:  # fmt: skip
    cursor.execute(
        "INSERT INTO payments_notifylog (provider, received_at, verified, out_trade_no, "
        "outcome, body) VALUES (%s, %s, %s, %s, %s, %s)",
        [provider, now, verified, number[:32], outcome, body[:4000].decode(errors="replace")],
    )


def _insert(cursor: Any, table: str, values: dict[str, Any]) -> int:
    from django.db import connection

    columns = list(values)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    if connection.vendor == "postgresql":
        cursor.execute(sql + " RETURNING id", [values[c] for c in columns])
        return int(cursor.fetchone()[0])
    cursor.execute(sql, [values[c] for c in columns])
    return int(cursor.lastrowid)


def _bare_notify(provider: str, headers: list[tuple[bytes, bytes]], body: bytes) -> int:
    """What a notify needs, with raw SQL: the sandbox's signature checked, the order
    locked and checked to the fen, each of its bills locked with what was paid on it, one
    payment per bill with the bill's new status and the payment's audit row, the order
    marked paid with its audit row, and the notify logged."""
    from django.db import connection, transaction

    from qingquan.payments.sandbox import sandbox_sign

    _load_templates()
    got = {k.decode().lower(): v.decode() for k, v in headers}
    ts, nonce = got.get("wechatpay-timestamp", ""), got.get("wechatpay-nonce", "")
    signature = got.get("wechatpay-signature", "")
    verified = (
        ts.isdigit()
        and abs(time.time() - int(ts)) <= 300
        and hmac.compare_digest(signature, sandbox_sign(ts, nonce, body))
    )
    now = connection.ops.adapt_datetimefield_value(dt.datetime.now(dt.UTC))
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        if not verified:
            _log(cursor, provider, now, False, "", "rejected", body)
            return 401
        resource = json.loads(body)["resource"]
        number = resource["out_trade_no"]
        cursor.execute(
            "SELECT id, amount, status FROM payments_paymentorder "
            "WHERE out_trade_no = %s AND provider = %s" + lock,
            [number, provider],
        )
        order = cursor.fetchone()
        if order is None or order[2] != "created":
            _log(cursor, provider, now, True, number, "unknown order or repeat", body)
            return 404 if order is None else 200
        order_id = order[0]
        if int(Decimal(str(order[1])) * 100) != int(resource["amount"]["total"]):
            _log(cursor, provider, now, True, number, "amount mismatch", body)
            return 400
        cursor.execute(
            "SELECT b.id, ob.amount, b.total, b.status FROM payments_orderbill ob "
            "JOIN customers_bill b ON b.id = ob.bill_id WHERE ob.order_id = %s "
            "ORDER BY b.id" + (" FOR UPDATE OF b" if lock else ""),
            [order_id],
        )
        for bill_id, amount, total, status in cursor.fetchall():
            _bare_payment(cursor, provider, now, number, bill_id, amount, total, status)
        cursor.execute(
            "UPDATE payments_paymentorder SET status = 'paid', paid_at = %s, "
            "transaction_id = %s, notifies = notifies + 1 WHERE id = %s",
            [now, resource["transaction_id"][:64], order_id],
        )
        _insert(
            cursor,
            "core_auditevent",
            {**TEMPLATES["order_audit"], "at": now, "object_id": str(order_id),
             "object_repr": number},
        )  # fmt: skip
        _log(cursor, provider, now, True, number, "paid", body)
    return 200


def _bare_payment(cursor: Any, provider: str, now: Any, number: str, bill_id: int,
                  amount: Any, total: Any, status: str) -> None:  # fmt: skip
    """One bill of a notified order: what was paid on it, the payment, the bill's status,
    the payment's audit row."""
    cursor.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM customers_payment WHERE bill_id = %s", [bill_id]
    )
    paid = Decimal(str(cursor.fetchone()[0])) + Decimal(str(amount))
    payment_id = _insert(
        cursor,
        "customers_payment",
        {"bill_id": bill_id, "amount": Decimal(str(amount)), "channel": provider,
         "paid_at": now, "reference": f"{number}-{bill_id}", "reverses_id": None,
         "reason": ""},
    )  # fmt: skip
    new = "paid" if paid >= Decimal(str(total)) else "partially_paid"
    if new != status:
        cursor.execute("UPDATE customers_bill SET status = %s WHERE id = %s", [new, bill_id])
    _insert(
        cursor,
        "core_auditevent",
        {**TEMPLATES["payment_audit"], "at": now, "object_id": str(payment_id),
         "object_repr": f"{amount} {provider}"},
    )  # fmt: skip


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _bare_notify_endpoint(provider: str) -> Any:
    async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = await _read_body(receive)
        status = await sync_to_async(_bare_notify)(provider, scope["headers"], body)
        if provider == "alipay":
            await _answer(send, status, b"success" if status == 200 else b"fail")
        else:
            await _answer(send, 204 if status == 200 else status, b"")

    return endpoint


for _provider in ("wechat", "alipay"):
    bare(f"/__bench/bare-notify/{_provider}/")(_bare_notify_endpoint(_provider))


def _notifies(base: str, pool: list[tuple[str, Any, str]], prefix: str) -> Any:
    """A call posting the next PER_ROUND notifies of `pool` (signed now, as the sandbox
    posts them) from CLIENTS clients at once to `prefix` + provider."""
    from qingquan.payments.providers import SandboxProvider

    async def run(batch: list[tuple[str, Any, str]]) -> None:
        clients = [httpx.AsyncClient(base_url=base, timeout=60) for _ in range(CLIENTS)]

        async def worker(client: httpx.AsyncClient) -> None:
            while batch:
                provider, order, transaction_id = batch.pop()
                headers, body = SandboxProvider(provider).notify_for(
                    order, transaction_id=transaction_id
                )
                headers["Content-Type"] = "application/json"
                response = await client.post(f"{prefix}{provider}/", content=body, headers=headers)
                assert response.status_code in (200, 204), (response.status_code, response.text)
                assert provider != "alipay" or response.text == "success", response.text

        try:
            await asyncio.gather(*(worker(client) for client in clients))
        finally:
            for client in clients:
                await client.aclose()

    def call() -> None:
        if len(pool) < PER_ROUND:
            raise RuntimeError("the bench ran out of open orders")
        batch = [pool.pop() for _ in range(PER_ROUND)]
        asyncio.run(run(batch))

    return call


def _notify_case(ctx: BenchContext) -> Comparison:
    warmup, iterations = 2, 20
    rounds = max(1, int(warmup * ctx.scale)) + max(3, int(iterations * ctx.scale))
    orders = _open_orders(2 * rounds * PER_ROUND + 1)
    _pay_one(*orders.pop())
    # Each side its own orders, WeChat Pay and Alipay mixed alike.
    platform, baseline = orders[0::2], orders[1::2]
    base = ctx.server()
    return Comparison(
        name=f"payment notifies (WeChat Pay / Alipay sandboxes), {CLIENTS} concurrent clients",
        baseline_label="bare ASGI + raw SQL writing the same rows",
        subject_label="POST /payments/notify/<provider>/ (verified, idempotent, audited)",
        baseline=_notifies(base, baseline, "/__bench/bare-notify/"),
        subject=_notifies(base, platform, "/payments/notify/"),
        iterations=iterations,
        warmup=warmup,
        units=PER_ROUND,
        max_ratio=2.0,
        note="ratio ≤ 2× in time per notify = ≥ 50 % of the bare endpoint's throughput",
    )


def cases(ctx: BenchContext) -> list[Comparison]:
    from bench.bench_customers import _ensure_city

    accounts, _ms = _ensure_city(ctx)
    return [_home_case(ctx, accounts), _notify_case(ctx)]
