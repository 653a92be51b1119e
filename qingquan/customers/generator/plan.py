"""The plan of a run: districts, tariffs and months, shared by every batch."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from qingquan.core import clock
from qingquan.core.db import bulkload
from qingquan.customers import billing
from qingquan.customers.generator.words import CHANNELS, ROADS, _City, _month_end
from qingquan.customers.services import BILL_DUE_DAYS


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
        self.convert = bulkload.converters()
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
        self._calendars: dict[str, list[tuple[_Month, tuple[Any, Any, Any, float, Any]]]] = {}
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
        return self.convert.date(day)

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
        return self.convert.decimal(value)

    def payment_time(self, key: int) -> Any:
        """The moment `key` (month index × 32 + day) × 1440 + minute of the day) in the
        database's format, memoised in `paid_at`."""
        value = self.paid_at.get(key)
        if value is None:
            day_key, minute = divmod(key, 1440)
            index, day = divmod(day_key, 32)
            moment = self.months[index].pay_days[day] + dt.timedelta(minutes=minute)
            value = self.convert.utc_datetime(moment)
            self.paid_at[key] = value
        return value

    def calendar(self, tariff: str) -> list[tuple[_Month, tuple[Any, Any, Any, float, Any]]]:
        """The months with what an account of `tariff` reads of them in its inner loop:
        (month, (start, end and due date in the database's format, season, regime))."""
        found = self._calendars.get(tariff)
        if found is None:
            found = self._calendars[tariff] = [
                (m, (m.start_db, m.end_db, m.due_db, m.season, m.regime[tariff]))
                for m in self.months
            ]
        return found


@dataclass
class _Priced:
    total: Decimal
    water: Any
    sewage: Any
    total_db: Any
    tier_reached: int
    lines: list[tuple[Any, ...]]
