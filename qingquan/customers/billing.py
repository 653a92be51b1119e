"""Pricing a bill: a pure computation from meter readings and tariff tiers.

Nothing here reads or writes the database, so every rule (tier bounds, household size,
a price change or a new year inside the period, meter replacement) is tested directly.
The services gather the inputs (`bill_inputs`) and store the result (`bill_issue`).

How a period is priced:
1. The volume is the sum over the meters that ran in the period of end − start value
   (a replaced meter: old final − old start, plus new reading − new initial).
2. The period is cut into segments wherever the tiers in force change or a calendar year
   begins; the volume is shared between segments in proportion to their days (the meter
   is read at the ends only, so days are the fairest measure we have).
3. In each segment, the m³ are laid on top of the volume already used that calendar year
   and priced tier by tier; residential tier bounds count annual volume.
4. Each line is rounded to the cent (half up); the bill total is the sum of its lines.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
LITRE = Decimal("0.001")
ZERO = Decimal("0")


class BillingError(ValueError):
    """The inputs cannot make a correct bill (no price in force, negative volume…)."""


@dataclass(frozen=True)
class TierPrice:
    """One tariff tier as the computation needs it."""

    number: int
    upper_m3: Decimal | None
    price: Decimal
    sewage_fee: Decimal
    effective_from: dt.date
    effective_to: dt.date | None = None
    extra_per_person_m3: Decimal = ZERO
    base_household_size: int = 4

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def bound(self, household_size: int) -> Decimal | None:
        if self.upper_m3 is None:
            return None
        extra = max(0, household_size - self.base_household_size)
        return self.upper_m3 + self.extra_per_person_m3 * extra


@dataclass(frozen=True)
class MeterSpan:
    """What one meter measured in the period: its value at the start and at the end."""

    serial: str
    start_value: Decimal
    end_value: Decimal

    @property
    def volume(self) -> Decimal:
        return self.end_value - self.start_value


@dataclass(frozen=True)
class Line:
    """A priced part of a bill."""

    kind: str  # "water" or "sewage"
    tier: int | None
    start: dt.date
    end: dt.date
    volume: Decimal
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Computation:
    """A priced bill before it is stored."""

    volume: Decimal
    lines: list[Line] = field(default_factory=list)

    @property
    def water_amount(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind == "water"), ZERO).quantize(CENT)

    @property
    def sewage_amount(self) -> Decimal:
        return sum((ln.amount for ln in self.lines if ln.kind == "sewage"), ZERO).quantize(CENT)

    @property
    def total(self) -> Decimal:
        return (self.water_amount + self.sewage_amount).quantize(CENT)

    @property
    def tier_reached(self) -> int:
        tiers = [ln.tier for ln in self.lines if ln.kind == "water" and ln.tier and ln.volume]
        return max(tiers, default=1)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _segments(
    start: dt.date, end: dt.date, tiers: Sequence[TierPrice]
) -> list[tuple[dt.date, dt.date]]:
    cuts = {start}
    for tier in tiers:
        if start < tier.effective_from <= end:
            cuts.add(tier.effective_from)
        if tier.effective_to is not None and start <= tier.effective_to < end:
            cuts.add(tier.effective_to + dt.timedelta(days=1))
    for year in range(start.year + 1, end.year + 1):
        cuts.add(dt.date(year, 1, 1))
    ordered = sorted(cuts)
    bounds = [*ordered, end + dt.timedelta(days=1)]
    return [(a, b - dt.timedelta(days=1)) for a, b in itertools.pairwise(bounds)]


def _share(volume: Decimal, segments: list[tuple[dt.date, dt.date]]) -> list[Decimal]:
    total_days = sum((b - a).days + 1 for a, b in segments)
    shares: list[Decimal] = []
    left = volume
    for index, (a, b) in enumerate(segments):
        if index == len(segments) - 1:
            shares.append(left)
        else:
            part = (volume * ((b - a).days + 1) / total_days).quantize(LITRE, ROUND_HALF_UP)
            shares.append(part)
            left -= part
    return shares


def bill_compute(
    *,
    period_start: dt.date,
    period_end: dt.date,
    spans: Sequence[MeterSpan],
    tiers: Sequence[TierPrice],
    household_size: int = 3,
    annual_volume_before: Decimal = ZERO,
) -> Computation:
    """Price the water measured by `spans` over the period (both ends inclusive).

    `tiers` are every tier row of the account's tariff that may apply (any dates);
    `annual_volume_before` is what the account already used in `period_start`'s calendar
    year before this period. Raises BillingError rather than produce a wrong bill.
    """
    if period_end < period_start:
        raise BillingError("the period ends before it starts")
    for span in spans:
        if span.volume < 0:
            raise BillingError(
                f"meter {span.serial} reads {span.end_value} at the end of the period, "
                f"less than {span.start_value} at its start"
            )
    volume = sum((s.volume for s in spans), ZERO).quantize(LITRE)
    if volume == 0:
        return Computation(volume=volume)
    segments = _segments(period_start, period_end, tiers)
    lines: list[Line] = []
    used_this_year = annual_volume_before
    year = period_start.year
    for (seg_start, seg_end), seg_volume in zip(segments, _share(volume, segments), strict=True):
        if seg_start.year != year:
            year, used_this_year = seg_start.year, ZERO
        in_force = sorted((t for t in tiers if t.in_force(seg_start)), key=lambda t: t.number)
        if not in_force:
            raise BillingError(f"no price is in force on {seg_start.isoformat()}")
        lower = ZERO
        sewage: dict[Decimal, Decimal] = {}
        for tier in in_force:
            upper = tier.bound(household_size)
            top = used_this_year + seg_volume
            from_ = max(used_this_year, lower)
            to = top if upper is None else min(top, upper)
            portion = to - from_
            if portion > 0:
                lines.append(
                    Line("water", tier.number, seg_start, seg_end, portion, tier.price,
                         money(portion * tier.price))
                )  # fmt: skip
                sewage[tier.sewage_fee] = sewage.get(tier.sewage_fee, ZERO) + portion
            if upper is None:
                break
            lower = upper
        else:
            raise BillingError(f"the tariff's last tier on {seg_start.isoformat()} has a bound")
        for fee, fee_volume in sewage.items():
            lines.append(
                Line("sewage", None, seg_start, seg_end, fee_volume, fee, money(fee_volume * fee))
            )
        used_this_year += seg_volume
    return Computation(volume=volume, lines=lines)
