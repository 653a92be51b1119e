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
import itertools
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
from qingquan.core.actors import SEED
from qingquan.core.audit import audit_record
from qingquan.core.db import bulk, bulkload
from qingquan.customers import billing
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


def generate_city(
    *,
    accounts: int,
    months: int = 24,
    seed: int = 96390,
    batch_size: int = 5000,
    today: dt.date | None = None,
    progress: Progress | None = None,
    actor: Any = SEED,
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
    plan = _Plan(city, months_list, installed, today)
    ids = _IdBlock()
    done = bills = 0
    while done < accounts:
        size = min(batch_size, accounts - done)
        bills += _batch(plan=plan, rng=rng, ids=ids, first_number=first_number + done, size=size)
        ids.sync_sequences()  # after each batch: an interrupted run leaves usable sequences
        done += size
        if progress:
            progress(done, accounts)
    # Fresh statistics: without them the planner scans the freshly filled bill table for
    # a screen pop.
    bulkload.analyze(_TABLES.values())
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


@dataclass
class _Month:
    index: int
    start: dt.date
    end: dt.date
    start_db: Any
    end_db: Any
    due_db: Any
    season: float
    year: int
    due_not_yet: bool  # the bill is not due yet on `today`: about half are still unpaid
    last_two: bool
    regime: Any  # what the price depends on besides volumes (see _Plan.price)
    pay_days: list[dt.datetime]  # midnight (UTC) of the days a payment may fall on


class _Plan:
    """Everything that is the same for every account of a run, computed once: the months
    with their dates already in the database's format, the area rows, and a memo of bill
    computations.

    A bill's amounts depend only on the tiers in force, the household's tier bounds, the
    volume already used that year and the volume of the month, and meters read whole
    cubic metres, so most accounts meet a computation already done. The memo stores what
    `billing.bill_compute` returned for those inputs; nothing is priced any other way."""

    def __init__(
        self, city: _City, months_list: list[dt.date], installed: dt.date, today: dt.date
    ) -> None:
        ops = connection.ops
        self.city = city
        self.today = today
        self.installed_db = self.date(installed)
        self.tiers = city.tiers
        self.tariff_ids = {code: t.pk for code, t in city.tariffs.items()}
        # Households whose tier bounds are the same share computations.
        bounds: dict[Any, int] = {}
        self.bounds = {
            code: {
                size: bounds.setdefault((code, *(t.bound(size) for t in tiers)), len(bounds))
                for size in range(1, 7)
            }
            for code, tiers in self.tiers.items()
        }
        self.months: list[_Month] = []
        known: dict[Any, int] = {}
        for index, start in enumerate(months_list):
            end = _month_end(start)
            due = end + dt.timedelta(days=BILL_DUE_DAYS)
            regimes = {}
            for code, tiers in self.tiers.items():
                if len(billing._segments(start, end, tiers)) == 1:
                    # One segment: the dates only matter through the tiers in force.
                    in_force = tuple(t for t in tiers if t.in_force(start))
                    regimes[code] = known.setdefault((code, in_force), len(known))
                else:
                    regimes[code] = -1 - index  # priced for this month only
            pay_days = []
            for offset in range(1, 26):
                day = min(end + dt.timedelta(days=offset), today)
                midnight = dt.datetime.combine(day, dt.time(0), tzinfo=clock.SHANGHAI)
                pay_days.append(midnight.astimezone(dt.UTC))
            self.months.append(
                _Month(
                    index=index,
                    start=start,
                    end=end,
                    start_db=self.date(start),
                    end_db=self.date(end),
                    due_db=self.date(due),
                    season=1.25
                    if start.month in (6, 7, 8, 9)
                    else 0.9
                    if start.month in (12, 1, 2)
                    else 1.0,
                    year=start.year,
                    due_not_yet=due >= today,
                    last_two=index >= len(months_list) - 2,
                    regime=regimes,
                    pay_days=pay_days,
                )
            )
        self.stamp = ops.adapt_datetimefield_value(clock.now())
        self.memo: dict[Any, _Priced] = {}
        self.paid_at: dict[int, Any] = {}
        self.channels = [c for c, w in CHANNELS for _ in range(w)]
        # Communities with what every premise there shares.
        self.places = []
        for community in city.communities:
            district = community.street.district
            self.places.append(
                (
                    district.pk,
                    community.street_id,
                    community.pk,
                    district.name,
                    district.code,
                    "宁波市" + district.name + community.street.name + community.name,
                    ROADS.get(district.name, ("中心路",)),
                    district.latitude or 29.87,
                    district.longitude or 121.55,
                )
            )
        self.cum_weights = list(itertools.accumulate(city.weights))

    def date(self, day: dt.date) -> Any:
        return bulkload.date_value(day)

    def price(self, code: str, month: _Month, household: int, annual: int, volume: int) -> _Priced:
        regime = month.regime[code]
        key = (regime, self.bounds[code][household], annual, volume)
        priced = self.memo.get(key)
        if priced is None:
            computed = billing.bill_compute(
                period_start=month.start,
                period_end=month.end,
                spans=[billing.MeterSpan("", Decimal(0), Decimal(volume))],
                tiers=self.tiers[code],
                household_size=household,
                annual_volume_before=Decimal(annual),
            )
            single = regime >= 0
            priced = _Priced(
                total=computed.total,
                water=self.money(computed.water_amount),
                sewage=self.money(computed.sewage_amount),
                total_db=self.money(computed.total),
                tier_reached=computed.tier_reached,
                lines=[
                    (
                        ln.kind,
                        ln.tier,
                        None if single else self.date(ln.start),
                        None if single else self.date(ln.end),
                        self.money(ln.volume),
                        self.money(ln.unit_price),
                        self.money(ln.amount),
                    )
                    for ln in computed.lines
                ],
            )
            if len(self.memo) < 2_000_000:
                self.memo[key] = priced
        return priced

    def money(self, value: Decimal) -> Any:
        return bulkload.decimal_value(value)

    def payment_time(self, month: _Month, day: int, minute: int) -> Any:
        key = (month.index * 32 + day) * 1440 + minute
        value = self.paid_at.get(key)
        if value is None:
            moment = month.pay_days[day] + dt.timedelta(minutes=minute)
            value = bulkload.utc_datetime_value(moment)
            self.paid_at[key] = value
        return value


@dataclass
class _Priced:
    total: Decimal
    water: Any
    sewage: Any
    total_db: Any
    tier_reached: int
    lines: list[tuple[Any, ...]]


def _batch(*, plan: _Plan, rng: random.Random, ids: _IdBlock, first_number: int, size: int) -> int:
    """One transaction: `size` accounts with everything they have, one bulk write per
    table (COPY on PostgreSQL, executemany on SQLite); the number of bills."""
    tables: dict[str, list[tuple[Any, ...]]] = {key: [] for key in _TABLES}
    picks = rng.choices(plan.places, cum_weights=plan.cum_weights, k=size)
    for offset, place in enumerate(picks):
        account = _account(plan, rng, ids, tables, place=place, number=first_number + offset)
        _history(plan, rng, ids, tables, account=account)
    _write(tables)
    return len(tables["bill"])


_PAID, _UNPAID = str(BillStatus.PAID), str(BillStatus.UNPAID)
_PERSON, _ORGANISATION = str(CustomerKind.PERSON), str(CustomerKind.ORGANISATION)
_RESIDENTIAL, _NON_RESIDENTIAL = str(AccountKind.RESIDENTIAL), str(AccountKind.NON_RESIDENTIAL)
_MOBILE, _HOME = str(PhoneLabel.MOBILE), str(PhoneLabel.HOME)


@dataclass
class _NewAccount:
    """What the months of an account generated by `_account` need."""

    account_id: int
    meter_id: int
    tariff: str
    household: int
    base: float  # the usual m³ a month
    value: int  # the meter's initial reading


def _account(
    plan: _Plan,
    rng: random.Random,
    ids: _IdBlock,
    tables: dict[str, list[tuple[Any, ...]]],
    *,
    place: tuple[Any, ...],
    number: int,
) -> _NewAccount:
    """One customer (a person, or now and then an organisation) with their phones, their
    premise in `place`'s community, their account `number` and its meter."""
    random_ = rng.random
    stamp = plan.stamp
    (district_id, street_id, community_id, _district_name, district_code, prefix, roads,
     lat, lon) = place  # fmt: skip
    customer_id = ids.next("customer")
    premise_id = ids.next("premise")
    account_id = ids.next("account")
    meter_id = ids.next("meter")
    organisation = random_() < ORGANISATION_SHARE
    road = f"{roads[int(random_() * len(roads))]}{int(random_() * 999) + 1}号"
    if organisation:
        name, code = _organisation(rng, district_code, number)
        tables["customer"].append((customer_id, _ORGANISATION, name, code, False, stamp, stamp))
        building = unit = room = ""
        address = prefix + road
        household = 1
        kind, tariff = _NON_RESIDENTIAL, "non-residential"
        base = 60.0
    else:
        tables["customer"].append(
            (customer_id, _PERSON, _person_name(rng), "", random_() < 0.06, stamp, stamp)
        )
        building = str(int(random_() * 40) + 1)
        unit = str(int(random_() * 4) + 1)
        room = f"{int(random_() * 33) + 1}{int(random_() * 4) + 1:02d}"
        address = f"{prefix}{road}{building}幢{unit}单元{room}室"
        household = HOUSEHOLDS[int(random_() * len(HOUSEHOLDS))]
        kind, tariff = _RESIDENTIAL, "residential"
        base = 3.2 * household
    tables["premise"].append(
        (premise_id, district_id, street_id, community_id, road, building, unit, room,
         address, round(lat + (random_() - 0.5) * 0.06, 6),
         round(lon + (random_() - 0.5) * 0.06, 6))
    )  # fmt: skip
    mobile = _mobile(rng, number)
    phones = tables["phone"]
    phones.append((ids.next("phone"), customer_id, "+86" + mobile, mobile, _MOBILE, True))
    if random_() < 0.3:
        local = f"8{int(random_() * 10_000_000):07d}"
        phones.append(
            (ids.next("phone"), customer_id, "+86574" + local, "0574" + local, _HOME, False)
        )
    tables["account"].append(
        (account_id, str(number), customer_id, premise_id, kind, plan.tariff_ids[tariff],
         household, plan.installed_db)
    )  # fmt: skip
    value = int(random_() * 901)
    tables["meter"].append(
        (meter_id, account_id, f"NB{number - ACCOUNT_BASE:09d}",
         15 if organisation is False else (20, 25, 40, 50)[int(random_() * 4)],
         plan.installed_db, value)
    )  # fmt: skip
    return _NewAccount(account_id, meter_id, tariff, household, base, value)


def _history(
    plan: _Plan,
    rng: random.Random,
    ids: _IdBlock,
    tables: dict[str, list[tuple[Any, ...]]],
    *,
    account: _NewAccount,
) -> None:
    """The account's months: a remote reading at each month's end, the bill priced by
    `_Plan.price`, and its payment unless the household is in arrears or the bill is not
    due yet (about half of those are paid early)."""
    random_ = rng.random
    gauss = rng.gauss
    stamp = plan.stamp
    channels = plan.channels
    readings, bills, lines, payments = (
        tables["reading"], tables["bill"], tables["line"], tables["payment"]
    )  # fmt: skip
    account_id, meter_id, tariff, household = (
        account.account_id, account.meter_id, account.tariff, account.household
    )  # fmt: skip
    value = account.value
    annual: dict[int, int] = {}
    in_arrears = random_() < UNPAID_SHARE
    habit = rng.lognormvariate(0, 0.5) * account.base
    spread = habit * 0.18
    for month in plan.months:
        mean = habit * month.season
        used = round(gauss(mean, spread))
        if used < 0:
            used = 0
        previous = value
        value += used
        readings.append((ids.next("reading"), meter_id, month.end_db, value, "remote", stamp))
        before = annual.get(month.year, 0)
        priced = plan.price(tariff, month, household, before, used)
        annual[month.year] = before + used
        paid = not (month.due_not_yet and random_() < 0.5) and not (in_arrears and month.last_two)
        bill_id = ids.next("bill")
        total = priced.total
        bills.append(
            (bill_id, account_id, month.start_db, month.end_db, previous, value, used,
             priced.water, priced.sewage, priced.total_db, priced.tier_reached,
             month.due_db, _PAID if paid or not total else _UNPAID, stamp)
        )  # fmt: skip
        for kind_, tier, start, end, volume, price, amount in priced.lines:
            lines.append(
                (ids.next("line"), bill_id, kind_, tier, start or month.start_db,
                 end or month.end_db, volume, price, amount)
            )  # fmt: skip
        if paid and total:
            at = plan.payment_time(month, int(random_() * 25), 480 + int(random_() * 840))
            payments.append(
                (ids.next("payment"), bill_id, priced.total_db,
                 channels[int(random_() * len(channels))], at, f"G{bill_id}")
            )  # fmt: skip


def _write(tables: dict[str, list[tuple[Any, ...]]]) -> None:
    """Write one batch in one transaction, without checking each row's foreign keys: the
    generator made every id itself, and checking 130 rows an account at commit costs more
    than making them. (Django's own switch on SQLite; on PostgreSQL, replica mode where the
    role may use it, as pg_restore does.)"""
    if connection.in_atomic_block:
        # Inside someone's transaction (tests, the demo): keep the checks.
        with transaction.atomic():
            for key, rows in tables.items():
                _WRITERS[key].write(rows)
        return
    disabled = connection.disable_constraint_checking()
    try:
        with transaction.atomic():
            bulkload.relax_batch()
            for key, rows in tables.items():
                _WRITERS[key].write(rows)
    finally:
        if disabled:
            connection.enable_constraint_checking()


HOUSEHOLDS = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6)


class _Writer:
    """Rows of one table as tuples of the given columns; every other column gets its
    field's default, so a new field with a default does not break the generator."""

    def __init__(self, model: Any, columns: list[str]) -> None:
        self.model = model
        self.columns = columns
        self.defaults: list[tuple[str, Any]] = []
        for f in model._meta.concrete_fields:
            if f.column in columns or f.primary_key:
                continue
            self.defaults.append((f.column, f.get_default()))

    def write(self, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = self.columns + [c for c, _v in self.defaults]
        extra = tuple(bulkload.default_value(v) for _c, v in self.defaults)
        bulk.write_rows(
            self.model._meta.db_table, names, [row + extra for row in rows] if extra else rows
        )


_WRITERS = {
    "customer": _Writer(
        Customer, ["id", "kind", "name", "uscc", "elderly_or_impaired", "created_at", "updated_at"]
    ),
    "premise": _Writer(
        Premise,
        [
            "id",
            "district_id",
            "street_id",
            "community_id",
            "road",
            "building",
            "unit",
            "room",
            "address",
            "latitude",
            "longitude",
        ],
    ),
    "phone": _Writer(
        CustomerPhone, ["id", "customer_id", "number", "national_digits", "label", "is_primary"]
    ),
    "account": _Writer(
        Account,
        [
            "id",
            "number",
            "customer_id",
            "premise_id",
            "kind",
            "tariff_id",
            "household_size",
            "opened_on",
        ],
    ),
    "meter": _Writer(
        Meter, ["id", "account_id", "serial", "size_mm", "installed_on", "initial_reading"]
    ),
    "reading": _Writer(
        MeterReading, ["id", "meter_id", "read_on", "value", "source", "recorded_at"]
    ),
    "bill": _Writer(
        Bill,
        [
            "id",
            "account_id",
            "period_start",
            "period_end",
            "previous_reading",
            "current_reading",
            "volume",
            "water_amount",
            "sewage_amount",
            "total",
            "tier_reached",
            "due_date",
            "status",
            "issued_at",
        ],
    ),
    "line": _Writer(
        BillLine,
        ["id", "bill_id", "kind", "tier", "start", "end", "volume", "unit_price", "amount"],
    ),
    "payment": _Writer(Payment, ["id", "bill_id", "amount", "channel", "paid_at", "reference"]),
}
_TABLES = {key: writer.model for key, writer in _WRITERS.items()}


class _IdBlock:
    """Primary keys handed out in memory, so a batch is one bulk write per table without
    asking the database for each id. The generator assumes it is the only writer of these
    tables while it runs (a load-test or demo database)."""

    def __init__(self) -> None:
        self.last = {
            key: model._default_manager.aggregate(m=Max("pk"))["m"] or 0
            for key, model in _TABLES.items()
        }

    def next(self, key: str) -> int:
        self.last[key] += 1
        return self.last[key]

    def sync_sequences(self) -> None:
        bulkload.sync_id_sequences({model: self.last[key] for key, model in _TABLES.items()})
