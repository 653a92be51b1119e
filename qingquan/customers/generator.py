"""A realistic synthetic city: customers, premises, accounts, meters, monthly readings,
bills priced by the real computation, and payments. Used by the demo (a few thousand
customers) and by `generate_city` for load tests (up to a million accounts).

It writes with bulk_create in batches, one transaction per batch, so memory stays flat and
an interrupted run keeps whole batches only. Amounts come from `billing.bill_compute`, so
generated bills obey the same tier rules as issued ones. One audit event per run says
what was generated; the individual rows are synthetic and have no history of their own.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from stdnum.cn import uscc

from qingquan.areas.models import Community, District
from qingquan.areas.services import areas_seed_ningbo
from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.customers import billing, phones
from qingquan.customers.models import (
    Account,
    AccountKind,
    Bill,
    BillLine,
    BillStatus,
    Customer,
    CustomerKind,
    CustomerPhone,
    Meter,
    MeterReading,
    Payment,
    PaymentChannel,
    PhoneLabel,
    Premise,
)
from qingquan.customers.services import BILL_DUE_DAYS, tier_prices
from qingquan.customers.tariffs import tariffs_seed

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严戴孔汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
    "华建国志红玉兰文斌海燕春梅晓东亮飞鹏丹萍宁浩宇欣怡佳琪俊波"
)
MOBILE_PREFIXES = (
    "135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
    "186", "187", "188", "189", "133", "153", "180", "181", "177", "199",
)  # fmt: skip
ORG_STEMS = (
    "甬江",
    "四明",
    "天一",
    "东钱湖",
    "三江",
    "明州",
    "鄞城",
    "北仑港",
    "镇海",
    "慈城",
    "梅山",
)
ORG_TRADES = (
    "机械",
    "纸业",
    "食品",
    "纺织",
    "物业管理",
    "酒店",
    "餐饮管理",
    "电子",
    "模具",
    "服饰",
    "医院",
)
ORG_FORMS = ("有限公司", "股份有限公司", "有限责任公司")
ROADS = {
    "海曙区": (
        "中山西路",
        "解放南路",
        "药行街",
        "开明街",
        "柳汀街",
        "望春路",
        "环城西路",
        "永丰路",
    ),
    "江北区": ("人民路", "大闸路", "槐树路", "扬善路", "洪塘中路", "北环西路"),
    "北仑区": ("新碶街", "明州路", "长江路", "庐山西路", "太河路", "华山路"),
    "镇海区": ("城河路", "骆驼街", "镇骆路", "庄市大道", "聪园路"),
    "鄞州区": (
        "中山东路",
        "百丈路",
        "惊驾路",
        "宁穿路",
        "鄞州大道",
        "四明中路",
        "天童南路",
        "钱湖北路",
    ),
    "奉化区": ("南山路", "锦屏路", "中山路", "大成路"),
    "象山县": ("丹河路", "靖南路", "天安路"),
    "宁海县": ("桃源北路", "兴海中路", "气象北路"),
    "余姚市": ("阳明西路", "新建路", "谭家岭路", "舜水南路"),
    "慈溪市": ("新城大道", "孙塘路", "三北大街", "青少年宫路"),
}
CHANNELS = (
    (PaymentChannel.WECHAT, 40),
    (PaymentChannel.ALIPAY, 30),
    (PaymentChannel.BANK, 22),
    (PaymentChannel.COUNTER, 8),
)
ACCOUNT_BASE = 3_302_000_000
ORGANISATION_SHARE = 0.10
UNPAID_SHARE = 0.04  # accounts with arrears beyond the current bill
Progress = Callable[[int, int], None]


@dataclass
class GenerateResult:
    accounts: int
    bills: int
    seconds: float


def _month_starts(months: int, today: dt.date) -> list[dt.date]:
    first = today.replace(day=1)
    starts = []
    year, month = first.year, first.month
    for _ in range(months):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        starts.append(dt.date(year, month, 1))
    return sorted(starts)


def _month_end(start: dt.date) -> dt.date:
    nxt = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


class _City:
    """The areas and tariffs the generator draws from, loaded once."""

    def __init__(self) -> None:
        if not District.objects.exists():
            areas_seed_ningbo()
        self.tariffs = tariffs_seed()
        self.tiers = {code: tier_prices(t) for code, t in self.tariffs.items()}
        self.communities = list(Community.objects.select_related("street__district").order_by("pk"))
        if not self.communities:
            raise RuntimeError("no communities: load the areas first")
        # City districts get more people than the counties.
        self.weights = [
            6 if c.street.district.name in {"海曙区", "江北区", "鄞州区"} else 3
            for c in self.communities
        ]


def _person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def _organisation(rng: random.Random, district_code: str, number: int) -> tuple[str, str]:
    name = rng.choice(ORG_STEMS) + rng.choice(ORG_TRADES) + rng.choice(ORG_FORMS)
    # The organisation-code part comes from the account number, so codes never collide.
    body = "91" + district_code + f"{number % 1_000_000_000:09d}"
    return "宁波" + name, body + uscc.calc_check_digit(body)


def _mobile(rng: random.Random, index: int) -> str:
    prefix = rng.choice(MOBILE_PREFIXES)
    # Spread the index over the 8 digits so numbers rarely collide between customers.
    return f"{prefix}{(index * 7_919 + rng.randrange(100)) % 100_000_000:08d}"


def _monthly_use(
    rng: random.Random, kind: str, household: int, month: int, habit: float
) -> Decimal:
    """A month's m³: about 3.2 m³ a person, more in summer, times the account's habit (a
    lognormal factor: most households are near 1, a few use two or three times more and
    reach the higher tiers)."""
    season = 1.25 if month in (6, 7, 8, 9) else 0.9 if month in (12, 1, 2) else 1.0
    base = 3.2 * household * habit if kind == AccountKind.RESIDENTIAL else 60 * habit
    value = max(0.0, rng.gauss(base * season, base * 0.18))
    return Decimal(str(round(value, 3)))


def generate_city(
    *,
    accounts: int,
    months: int = 24,
    seed: int = 96390,
    batch_size: int = 1000,
    today: dt.date | None = None,
    progress: Progress | None = None,
    actor: Any = None,
) -> GenerateResult:
    """Generate `accounts` accounts (one customer, premise and meter each) with `months`
    months of readings, bills and payments, after any accounts already there."""
    started = time.perf_counter()
    today = today or clock.today()
    city = _City()
    rng = random.Random(seed)
    months_list = _month_starts(months, today)
    installed = (months_list[0] if months_list else today) - dt.timedelta(days=400)
    last = Account.objects.filter(number__regex=r"^\d{10}$").aggregate(m=Max("number"))["m"]
    first_number = max(int(last) + 1 if last else 0, ACCOUNT_BASE + 1)
    done = bills = 0
    while done < accounts:
        size = min(batch_size, accounts - done)
        bills += _batch(
            city=city,
            rng=rng,
            first_number=first_number + done,
            size=size,
            months_list=months_list,
            installed=installed,
            today=today,
        )
        done += size
        if progress:
            progress(done, accounts)
    if connection.vendor == "postgresql":
        # Fresh statistics: without them the planner scans the freshly filled bill table
        # for a screen pop (seen: 750 ms instead of 16 ms at 100k accounts).
        with connection.cursor() as cursor:
            for model in (*_TABLES.values(), Account, Customer, CustomerPhone, Premise, Meter):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    seconds = time.perf_counter() - started
    first_district = District.objects.order_by("code").first()
    if first_district is not None and accounts:
        audit_record(
            actor=actor,
            action="customers.generate",
            obj=first_district,
            after={"accounts": accounts, "months": months, "bills": bills, "seed": seed},
            note="synthetic customers, accounts, readings, bills and payments",
        )
    return GenerateResult(accounts=accounts, bills=bills, seconds=seconds)


@transaction.atomic
def _batch(
    *,
    city: _City,
    rng: random.Random,
    first_number: int,
    size: int,
    months_list: list[dt.date],
    installed: dt.date,
    today: dt.date,
) -> int:
    now = clock.now()
    picks = rng.choices(city.communities, weights=city.weights, k=size)
    customers: list[Customer] = []
    premises: list[Premise] = []
    for offset, community in enumerate(picks):
        district = community.street.district
        organisation = rng.random() < ORGANISATION_SHARE
        if organisation:
            name, code = _organisation(rng, district.code, first_number + offset)
            customers.append(
                Customer(
                    kind=CustomerKind.ORGANISATION,
                    name=name,
                    uscc=code,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            customers.append(
                Customer(
                    kind=CustomerKind.PERSON,
                    name=_person_name(rng),
                    elderly_or_impaired=rng.random() < 0.06,
                    created_at=now,
                    updated_at=now,
                )
            )
        road = f"{rng.choice(ROADS.get(district.name, ('中心路',)))}{rng.randint(1, 999)}号"
        premise = Premise(
            district=district,
            street=community.street,
            community=community,
            road=road,
            building="" if organisation else str(rng.randint(1, 40)),
            unit="" if organisation else str(rng.randint(1, 4)),
            room="" if organisation else f"{rng.randint(1, 33)}{rng.randint(1, 4):02d}",
            latitude=round((district.latitude or 29.87) + rng.uniform(-0.03, 0.03), 6),
            longitude=round((district.longitude or 121.55) + rng.uniform(-0.03, 0.03), 6),
        )
        premise.address = premise.compose_address()
        premises.append(premise)
    Customer.objects.bulk_create(customers)
    Premise.objects.bulk_create(premises)
    phone_rows: list[CustomerPhone] = []
    account_rows: list[Account] = []
    for offset, (customer, premise) in enumerate(zip(customers, premises, strict=True)):
        number = first_number + offset
        mobile = _mobile(rng, number)
        phone_rows.append(
            CustomerPhone(
                customer=customer, number="+86" + mobile, national_digits=mobile, is_primary=True
            )
        )
        if rng.random() < 0.3:
            local = f"8{rng.randrange(10_000_000):07d}"
            e164, digits = phones.normalise(local)
            phone_rows.append(
                CustomerPhone(
                    customer=customer, number=e164, national_digits=digits, label=PhoneLabel.HOME
                )
            )
        organisation = customer.kind == CustomerKind.ORGANISATION
        kind = AccountKind.NON_RESIDENTIAL if organisation else AccountKind.RESIDENTIAL
        account_rows.append(
            Account(
                number=str(number),
                customer=customer,
                premise=premise,
                kind=kind,
                tariff=city.tariffs["non-residential" if organisation else "residential"],
                household_size=1 if organisation else rng.choice((1, 2, 2, 3, 3, 3, 4, 4, 5, 6)),
                opened_on=installed,
            )
        )
    CustomerPhone.objects.bulk_create(phone_rows)
    Account.objects.bulk_create(account_rows)
    meters = [
        Meter(
            account=a,
            serial=f"NB{int(a.number) - ACCOUNT_BASE:09d}",
            size_mm=15 if a.kind == AccountKind.RESIDENTIAL else rng.choice((20, 25, 40, 50)),
            installed_on=installed,
            initial_reading=Decimal(rng.randint(0, 900)),
        )
        for a in account_rows
    ]
    Meter.objects.bulk_create(meters)
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    ids = _IdBlock()
    readings: list[tuple[Any, ...]] = []
    bills: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    payments: list[tuple[Any, ...]] = []
    channels = [c for c, _w in CHANNELS]
    weights = [w for _c, w in CHANNELS]
    paid_status, unpaid_status = str(BillStatus.PAID), str(BillStatus.UNPAID)
    for account, meter in zip(account_rows, meters, strict=True):
        code = "residential" if account.kind == AccountKind.RESIDENTIAL else "non-residential"
        tiers = city.tiers[code]
        value = meter.initial_reading
        annual: dict[int, Decimal] = {}
        in_arrears = rng.random() < UNPAID_SHARE
        habit = rng.lognormvariate(0, 0.5)
        for index, start in enumerate(months_list):
            end = _month_end(start)
            used = _monthly_use(rng, account.kind, account.household_size, start.month, habit)
            previous, value = value, value + used
            readings.append((ids.next("reading"), meter.pk, end, value, "remote", False, "", stamp))
            computed = billing.bill_compute(
                period_start=start,
                period_end=end,
                spans=[billing.MeterSpan(meter.serial, previous, value)],
                tiers=tiers,
                household_size=account.household_size,
                annual_volume_before=annual.get(start.year, Decimal(0)),
            )
            annual[start.year] = annual.get(start.year, Decimal(0)) + computed.volume
            due = end + dt.timedelta(days=BILL_DUE_DAYS)
            last_two = index >= len(months_list) - 2
            paid = not (due >= today and rng.random() < 0.5) and not (in_arrears and last_two)
            total = computed.total
            bill_id = ids.next("bill")
            bills.append(
                (bill_id, account.pk, start, end, previous, value, computed.volume,
                 computed.water_amount, computed.sewage_amount, total, computed.tier_reached,
                 due, paid_status if paid or total == 0 else unpaid_status, stamp)
            )  # fmt: skip
            for ln in computed.lines:
                lines.append(
                    (ids.next("line"), bill_id, ln.kind, ln.tier, ln.start, ln.end, ln.volume,
                     ln.unit_price, ln.amount)
                )  # fmt: skip
            if paid and total > 0:
                paid_at = dt.datetime.combine(
                    min(end + dt.timedelta(days=rng.randint(1, 25)), today),
                    dt.time(rng.randint(8, 21), rng.randint(0, 59)),
                    tzinfo=clock.SHANGHAI,
                )
                payments.append(
                    (ids.next("payment"), bill_id, total, rng.choices(channels, weights)[0],
                     ops.adapt_datetimefield_value(paid_at), f"G{bill_id}", None, "")
                )  # fmt: skip
    _insert(MeterReading, ["id", "meter_id", "read_on", "value", "source", "flagged",
                           "flag_reason", "recorded_at"], readings)  # fmt: skip
    _insert(Bill, ["id", "account_id", "period_start", "period_end", "previous_reading",
                   "current_reading", "volume", "water_amount", "sewage_amount", "total",
                   "tier_reached", "due_date", "status", "issued_at"], bills)  # fmt: skip
    _insert(BillLine, ["id", "bill_id", "kind", "tier", "start", "end", "volume", "unit_price",
                       "amount"], lines)  # fmt: skip
    _insert(Payment, ["id", "bill_id", "amount", "channel", "paid_at", "reference",
                      "reverses_id", "reason"], payments)  # fmt: skip
    ids.sync_sequences()
    return len(bills)


_TABLES = {"reading": MeterReading, "bill": Bill, "line": BillLine, "payment": Payment}


class _IdBlock:
    """Primary keys handed out in memory for the high-volume tables, so a batch is one
    INSERT per table without asking the database for each id. The generator assumes it is
    the only writer of these tables while it runs (a load-test or demo database)."""

    def __init__(self) -> None:
        self.last = {
            key: model._default_manager.aggregate(m=Max("pk"))["m"] or 0
            for key, model in _TABLES.items()
        }

    def next(self, key: str) -> int:
        self.last[key] += 1
        return self.last[key]

    def sync_sequences(self) -> None:
        if connection.vendor != "postgresql":
            return  # SQLite continues from max(id) by itself
        with connection.cursor() as cursor:
            for key, model in _TABLES.items():
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                    [model._meta.db_table, max(self.last[key], 1)],
                )


def _insert(model: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY on PostgreSQL, multi-row INSERTs elsewhere (the ORM's per-object work would
    dominate at this volume)."""
    if not rows:
        return
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(c) for c in columns)
    if connection.vendor == "postgresql":
        # COPY: PostgreSQL's bulk path, an order of magnitude faster than INSERT here.
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    # SQLite allows 32766 parameters per statement; stay well below.
    per_statement = max(1, 900 // len(columns)) if connection.vendor == "sqlite" else 1000
    with connection.cursor() as cursor:
        for first in range(0, len(rows), per_statement):
            chunk = rows[first : first + per_statement]
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            # Names come from model metadata, values are parameters: nothing user-typed.
            sql = f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * len(chunk))  # noqa: S608
            cursor.execute(sql, [_db(v) for row in chunk for v in row])


def _db(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return value
