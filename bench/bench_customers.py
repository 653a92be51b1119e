"""Customer registry at city scale: generating the city, and the screen-pop lookup (by
phone, account number, address) against raw SQL doing the same reads."""

from __future__ import annotations

import csv
import datetime as dt
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection

from bench.context import BenchContext, bench_user
from bench.harness import Comparison, Measurement

ACCOUNTS_AT_SCALE_1 = 1_000_000  # the city: a million accounts, 24 months each


def _agent() -> Any:
    return bench_user("bench-customers-agent", "基准话务员")


def _ensure_city(ctx: BenchContext) -> tuple[int, float | None]:
    """Top the database up to the scale's account count; returns (accounts, seconds)."""
    from qingquan.customers.generator import generate_city
    from qingquan.customers.models import Account

    wanted = max(200, int(ACCOUNTS_AT_SCALE_1 * ctx.scale))
    have = Account.objects.count()
    if have >= wanted:
        return have, None
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % 50_000 < 5_000 or done == total:
            rate = (time.perf_counter() - started) / done * 1000
            print(f"  generate_city {done:,}/{total:,} ({rate:.2f} ms/account)", file=sys.stderr)

    result = generate_city(accounts=wanted - have, months=24, seed=have + 1, progress=progress)
    return wanted, result.seconds / result.accounts * 1000  # ms per account


# The baseline: the reads a screen pop needs, as bare SQL on the same indexes, with no
# Python beyond fetching the rows. Who matched (a phone's digits or an account number);
# the customers with their accounts, premises, districts and tariffs; their phones; each
# account's last 12 bills and every open one (for the balance), with the invoice and the
# sum paid on each bill.
def _raw_lookup_by_phone(digits: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT customer_id FROM (SELECT customer_id FROM customers_customerphone "
            "WHERE national_digits = %s LIMIT 20) p UNION ALL "
            "SELECT customer_id FROM customers_account WHERE number = %s",
            [digits, digits],
        )
        return _raw_cards(cursor, list(dict.fromkeys(row[0] for row in cursor.fetchall())))


def _raw_lookup_by_account(number: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT customer_id FROM customers_account WHERE number = %s", [number])
        return _raw_cards(cursor, [row[0] for row in cursor.fetchall()])


def _raw_lookup_by_address(text: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.customer_id FROM customers_account a JOIN customers_premise p "
            "ON p.id = a.premise_id WHERE p.address LIKE %s ORDER BY a.id LIMIT 60",
            [f"%{text}%"],
        )
        customers = list(dict.fromkeys(row[0] for row in cursor.fetchall()))[:20]
        return _raw_cards(cursor, customers)


def _raw_cards(cursor: Any, customers: list[int]) -> list[tuple[Any, ...]]:
    if not customers:
        return []
    ids = ", ".join(str(int(pk)) for pk in customers)
    cursor.execute(
        "SELECT c.id, c.name, c.kind, c.elderly_or_impaired, c.sensitive, a.id, a.number, "
        "a.kind, a.status, a.household_size, t.name, p.address, d.name, p.latitude, "
        "p.longitude FROM customers_customer c "
        "LEFT JOIN customers_account a ON a.customer_id = c.id "
        "LEFT JOIN customers_premise p ON p.id = a.premise_id "
        "LEFT JOIN areas_district d ON d.id = p.district_id "
        f"LEFT JOIN customers_tariff t ON t.id = a.tariff_id WHERE c.id IN ({ids})"
    )
    rows = cursor.fetchall()
    cursor.execute(
        "SELECT customer_id, national_digits, label, is_primary FROM customers_customerphone "
        f"WHERE customer_id IN ({ids})"
    )
    cursor.fetchall()
    accounts = ", ".join(str(int(row[5])) for row in rows if row[5] is not None)
    if accounts:
        cursor.execute(
            "SELECT r.*, i.id, ps.paid FROM (SELECT b.id, b.account_id, b.period_start, "
            "b.period_end, b.volume, b.total, b.status, b.due_date, b.tier_reached, "
            "ROW_NUMBER() OVER (PARTITION BY b.account_id ORDER BY b.period_end DESC, b.id DESC) "
            f"AS rn FROM customers_bill b WHERE b.account_id IN ({accounts})) r "
            "LEFT JOIN customers_invoice i ON i.bill_id = r.id "
            "LEFT JOIN (SELECT pm.bill_id, SUM(pm.amount) AS paid FROM customers_payment pm "
            f"JOIN customers_bill pb ON pb.id = pm.bill_id WHERE pb.account_id IN ({accounts}) "
            "GROUP BY pm.bill_id) ps ON ps.bill_id = r.id "
            "WHERE r.rn <= 12 OR r.status IN ('unpaid', 'partially_paid')"
        )
        cursor.fetchall()
    return rows


IMPORT_ACCOUNTS_AT_SCALE_1 = 50_000  # × 4 files (customers, premises, accounts, meters)
IMPORT_ROWS_PER_SECOND = 20_000  # issue #3


def _import_files(ctx: BenchContext, directory: Path) -> tuple[dict[str, Path], int]:
    """CSV files of new customers with a premise, an account and a meter each, in the
    format `imports.import_files` reads; returns them and their total rows."""
    from qingquan.areas.models import Community
    from qingquan.customers.imports import COLUMNS, ORDER

    count = max(500, int(IMPORT_ACCOUNTS_AT_SCALE_1 * ctx.scale))
    places = list(
        Community.objects.select_related("street__district").values_list(
            "street__district__name", "street__name", "name"
        )
    )
    rng = random.Random(96390)
    paths = {kind: directory / f"{kind}.csv" for kind in ORDER[:4]}
    streams = {kind: path.open("w", encoding="utf-8", newline="") for kind, path in paths.items()}
    try:
        out = {kind: csv.writer(stream) for kind, stream in streams.items()}
        for kind, writer in out.items():
            writer.writerow(COLUMNS[kind])
        for n in range(count):
            district, street, community = places[rng.randrange(len(places))]
            organisation = n % 10 == 0
            out["customers"].writerow(
                [f"BENCH-C{n}", "organisation" if organisation else "person",
                 f"导入测试{n}", _uscc(n) if organisation else "", "",
                 f"13{rng.randrange(10**9):09d}", "", ""]
            )  # fmt: skip
            out["premises"].writerow(
                [f"BENCH-P{n}", district, street, community, f"导入路{n % 999 + 1}号",
                 str(n % 30 + 1), "1", f"{n % 28 + 1}01", "29.87", "121.55"]
            )  # fmt: skip
            number = str(3_399_000_000 + n)
            out["accounts"].writerow(
                [number, f"BENCH-C{n}", f"BENCH-P{n}",
                 "non_residential" if organisation else "residential", "",
                 "1" if organisation else "3", "2024-01-01"]
            )  # fmt: skip
            out["meters"].writerow([f"BENCH-M{n}", number, "15", "2024-01-01", "0"])
    finally:
        for stream in streams.values():
            stream.close()
    return paths, count * 4


def _uscc(n: int) -> str:
    from stdnum.cn import uscc

    body = f"91330200{n:09d}"
    return body + uscc.calc_check_digit(body)


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

    # An indexed lookup costs about the same at any size, so 200 samples at every scale
    # (the harness multiplies iterations by the scale): fewer are noise on a busy machine.
    samples = int(200 / min(max(ctx.scale, 0.01), 1.0))

    def pick(values: list[str]) -> str:
        return values[rng.randrange(len(values))]

    results.append(
        Comparison(
            name=f"lookup by phone ({accounts:,} accounts)",
            baseline_label="raw SQL, same reads",
            subject_label="customer_lookup selector",
            baseline=lambda: _raw_lookup_by_phone(pick(phones)),
            subject=lambda: selectors.customer_lookup(user=user, query=pick(phones)),
            iterations=samples,
            max_ratio=3.0,
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
            iterations=samples,
            max_ratio=3.0,
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
    results.append(_import_case(ctx))
    results.append(_import_case(ctx, dry_run=False))
    return results


def _import_case(ctx: BenchContext, *, dry_run: bool = True) -> Measurement:
    """The CSV import of new customers, premises, accounts and meters. A dry run: every
    row checked, written and then rolled back, so the bench database stays as it was. A
    real import: committed, timed, then its rows deleted again (not timed)."""
    from qingquan.customers.imports import import_files
    from qingquan.customers.models import Account, Customer, Meter, Premise

    with tempfile.TemporaryDirectory() as tmp:
        files, rows = _import_files(ctx, Path(tmp))
        started = time.perf_counter()
        report = import_files(files, dry_run=dry_run)
        seconds = time.perf_counter() - started
    if not dry_run:
        Meter.objects.filter(serial__startswith="BENCH-M").delete()
        Account.objects.filter(number__startswith="3399").delete()
        Premise.objects.filter(legacy_ref__startswith="BENCH-P").delete()
        Customer.objects.filter(legacy_ref__startswith="BENCH-C").delete()
    if report.errors:
        raise RuntimeError(f"bench import refused rows: {report.errors[:3]}")
    what = "dry run: checked, written, rolled back" if dry_run else "committed"
    print(f"  CSV import ({what}): {rows / seconds:,.0f} rows/s", file=sys.stderr)
    return Measurement(
        name=f"CSV import, {rows:,} rows ({what})",
        seconds=seconds,
        limit_seconds=rows / IMPORT_ROWS_PER_SECOND,
        note=f"{rows / seconds:,.0f} rows/s (target ≥ {IMPORT_ROWS_PER_SECOND:,} rows/s)",
    )
