"""Customer registry at city scale: generating the city, and the screen-pop lookup (by
phone, account number, address) against raw SQL doing the same reads."""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal
from typing import Any

from django.db import connection

from bench.context import BenchContext
from bench.harness import Comparison, Measurement

ACCOUNTS_AT_SCALE_1 = 20_000


def _agent() -> Any:
    from qingquan.staff import services
    from qingquan.staff.models import User
    from qingquan.staff.roles import Role

    user = User.objects.filter(username="bench-customers-agent").first()
    if user is None:
        user = services.staff_create(
            actor=None,
            username="bench-customers-agent",
            full_name="基准话务员",
            role=Role.AGENT,
            password="bench-password-96390",
            validate=False,
        )
    return user


def _ensure_city(ctx: BenchContext) -> tuple[int, float | None]:
    """Top the database up to the scale's account count; returns (accounts, seconds)."""
    from qingquan.customers.generator import generate_city
    from qingquan.customers.models import Account

    wanted = max(200, int(ACCOUNTS_AT_SCALE_1 * ctx.scale))
    have = Account.objects.count()
    if have >= wanted:
        return have, None
    result = generate_city(accounts=wanted - have, months=24, seed=have + 1)
    return wanted, result.seconds / result.accounts * 1000  # ms per account


def _raw_lookup_by_phone(digits: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT customer_id FROM customers_customerphone WHERE national_digits = %s",
            [digits],
        )
        customers = [row[0] for row in cursor.fetchall()]
        return _raw_cards(cursor, customers)


def _raw_lookup_by_account(number: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT customer_id FROM customers_account WHERE number = %s", [number])
        return _raw_cards(cursor, [row[0] for row in cursor.fetchall()])


def _raw_lookup_by_address(text: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.customer_id FROM customers_account a JOIN customers_premise p "
            "ON p.id = a.premise_id WHERE p.address LIKE %s ORDER BY p.address LIMIT 60",
            [f"%{text}%"],
        )
        customers = list(dict.fromkeys(row[0] for row in cursor.fetchall()))[:20]
        return _raw_cards(cursor, customers)


def _raw_cards(cursor: Any, customers: list[int]) -> list[tuple[Any, ...]]:
    if not customers:
        return []
    marks = ", ".join(["%s"] * len(customers))
    cursor.execute(f"SELECT id, name FROM customers_customer WHERE id IN ({marks})", customers)
    rows = cursor.fetchall()
    cursor.execute(
        f"SELECT * FROM customers_customerphone WHERE customer_id IN ({marks})", customers
    )
    cursor.fetchall()
    cursor.execute(
        "SELECT a.id, a.number, p.address FROM customers_account a JOIN customers_premise p "
        f"ON p.id = a.premise_id WHERE a.customer_id IN ({marks})",
        customers,
    )
    accounts = [row[0] for row in cursor.fetchall()]
    if accounts:
        amarks = ", ".join(["%s"] * len(accounts))
        cursor.execute(
            "SELECT * FROM (SELECT b.*, ROW_NUMBER() OVER (PARTITION BY account_id "
            "ORDER BY period_end DESC) AS rn FROM customers_bill b "
            f"WHERE account_id IN ({amarks})) t WHERE rn <= 12",
            accounts,
        )
        cursor.fetchall()
    return rows


def cases(ctx: BenchContext) -> list[Comparison | Measurement]:
    from qingquan.customers import billing, selectors
    from qingquan.customers.models import Account, CustomerPhone

    accounts, ms_per_account = _ensure_city(ctx)
    results: list[Comparison | Measurement] = []
    if ms_per_account is not None:
        results.append(
            Measurement(
                name=f"generate_city, per account (24 months; {accounts:,} accounts)",
                seconds=ms_per_account / 1000,
                note=f"1,000,000 accounts ≈ {ms_per_account * 1_000_000 / 1000 / 60:,.0f} min",
            )
        )
    user = _agent()
    rng = random.Random(7)
    phones = list(CustomerPhone.objects.values_list("national_digits", flat=True)[:500])
    numbers = list(Account.objects.values_list("number", flat=True)[:500])
    roads = ["解放南路", "中山东路", "天童南路", "人民路", "新城大道", "药行街"]

    def pick(values: list[str]) -> str:
        return values[rng.randrange(len(values))]

    results.append(
        Comparison(
            name=f"lookup by phone ({accounts:,} accounts)",
            baseline_label="raw SQL, same reads",
            subject_label="customer_lookup selector",
            baseline=lambda: _raw_lookup_by_phone(pick(phones)),
            subject=lambda: selectors.customer_lookup(user=user, query=pick(phones)),
            iterations=int(200 * max(ctx.scale, 0.25)),
            max_ratio=6.0,
            note="screen pop: customer, accounts, balances, last 12 bills",
        )
    )
    results.append(
        Comparison(
            name=f"lookup by account number ({accounts:,} accounts)",
            baseline_label="raw SQL, same reads",
            subject_label="customer_lookup selector",
            baseline=lambda: _raw_lookup_by_account(pick(numbers)),
            subject=lambda: selectors.customer_lookup(user=user, query=pick(numbers)),
            iterations=int(200 * max(ctx.scale, 0.25)),
            max_ratio=6.0,
        )
    )
    results.append(
        Comparison(
            name=f"lookup by address fragment ({accounts:,} accounts)",
            baseline_label="raw SQL LIKE, same reads",
            subject_label="customer_lookup selector",
            baseline=lambda: _raw_lookup_by_address(pick(roads) + str(rng.randint(1, 99)) + "号"),
            subject=lambda: selectors.customer_lookup(
                user=user, query=pick(roads) + str(rng.randint(1, 99)) + "号"
            ),
            iterations=int(50 * max(ctx.scale, 0.25)),
            max_ratio=6.0,
            note="substring search: a full scan without a trigram index",
        )
    )
    tiers = [
        billing.TierPrice(1, Decimal(216), Decimal("2.05"), Decimal("0.95"), dt.date(2020, 1, 1)),
        billing.TierPrice(2, Decimal(300), Decimal("3.08"), Decimal("0.95"), dt.date(2020, 1, 1)),
        billing.TierPrice(3, None, Decimal("6.15"), Decimal("0.95"), dt.date(2020, 1, 1)),
    ]
    started = time.perf_counter()
    for n in range(10_000):
        billing.bill_compute(
            period_start=dt.date(2024, 5, 1),
            period_end=dt.date(2024, 5, 31),
            spans=[billing.MeterSpan("M", Decimal(0), Decimal(n % 40))],
            tiers=tiers,
            annual_volume_before=Decimal(n % 300),
        )
    results.append(
        Measurement(
            name="bill_compute ×10,000",
            seconds=time.perf_counter() - started,
            note="pure tier pricing, no database",
        )
    )
    return results
