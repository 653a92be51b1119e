"""The pure bill computation: tier bounds to the cent, household size, price changes and
New Year inside a period, meter replacement, and refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from qingquan.customers.billing import (
    BillingError,
    Computation,
    MeterSpan,
    TierPrice,
    bill_compute,
)

START = dt.date(2020, 1, 1)


def residential(
    start: dt.date = START, end: dt.date | None = None, t1: str = "2.05", sewage: str = "0.95"
) -> list[TierPrice]:
    return [
        TierPrice(1, D("216"), D(t1), D(sewage), start, end, D("54")),
        TierPrice(2, D("300"), D("3.08"), D(sewage), start, end, D("75")),
        TierPrice(3, None, D("6.15"), D(sewage), start, end),
    ]


def span(volume: str, start: str = "100") -> list[MeterSpan]:
    return [MeterSpan("M1", D(start), D(start) + D(volume))]


def compute(
    volume: str,
    before: str = "0",
    household: int = 3,
    start: dt.date = dt.date(2024, 5, 1),
    end: dt.date = dt.date(2024, 5, 31),
    tiers: list[TierPrice] | None = None,
) -> Computation:
    return bill_compute(
        period_start=start,
        period_end=end,
        spans=span(volume),
        tiers=tiers if tiers is not None else residential(),
        household_size=household,
        annual_volume_before=D(before),
    )


def water(result: Computation) -> list[tuple[int | None, D, D]]:
    return [(ln.tier, ln.volume, ln.amount) for ln in result.lines if ln.kind == "water"]


def test_volume_ending_exactly_on_the_tier_bound_stays_in_tier_one() -> None:
    result = compute("16", before="200")
    assert water(result) == [(1, D("16"), D("32.80"))]
    assert result.sewage_amount == D("15.20")
    assert result.total == D("48.00")
    assert result.tier_reached == 1


def test_one_m3_over_the_bound_is_priced_in_tier_two() -> None:
    result = compute("17", before="200")
    assert water(result) == [(1, D("16"), D("32.80")), (2, D("1"), D("3.08"))]
    assert result.total == D("52.03")
    assert result.tier_reached == 2


def test_a_bill_can_cross_all_three_tiers() -> None:
    result = compute("100", before="210")
    assert water(result) == [
        (1, D("6"), D("12.30")),
        (2, D("84"), D("258.72")),
        (3, D("10"), D("61.50")),
    ]
    assert result.water_amount == D("332.52")
    assert result.sewage_amount == D("95.00")
    assert result.total == D("427.52")


def test_household_of_six_gets_wider_tiers() -> None:
    result = compute("330", household=6)
    # bounds 216 + 2×54 = 324 and 300 + 2×75 = 450
    assert water(result) == [(1, D("324"), D("664.20")), (2, D("6"), D("18.48"))]
    assert result.total == D("996.18")
    assert water(compute("330", household=4))[0] == (1, D("216"), D("442.80"))


def test_each_line_is_rounded_half_up_to_the_cent() -> None:
    result = compute("1.005")
    assert water(result) == [(1, D("1.005"), D("2.06"))]  # 2.06025
    assert result.sewage_amount == D("0.95")  # 0.95475
    assert result.total == D("3.01")


def test_price_change_mid_period_prices_each_side_by_its_days() -> None:
    tiers = residential(end=dt.date(2024, 3, 15)) + residential(
        start=dt.date(2024, 3, 16), t1="2.50", sewage="1.00"
    )
    result = compute("31", tiers=tiers, start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 31))
    assert [(ln.kind, ln.start, ln.volume, ln.unit_price, ln.amount) for ln in result.lines] == [
        ("water", dt.date(2024, 3, 1), D("15"), D("2.05"), D("30.75")),
        ("sewage", dt.date(2024, 3, 1), D("15"), D("0.95"), D("14.25")),
        ("water", dt.date(2024, 3, 16), D("16"), D("2.50"), D("40.00")),
        ("sewage", dt.date(2024, 3, 16), D("16"), D("1.00"), D("16.00")),
    ]
    assert result.total == D("101.00")


def test_new_year_inside_the_period_restarts_the_annual_tiers() -> None:
    result = compute("30", before="210", start=dt.date(2023, 12, 17), end=dt.date(2024, 1, 15))
    assert water(result) == [
        (1, D("6"), D("12.30")),
        (2, D("9"), D("27.72")),
        (1, D("15"), D("30.75")),
    ]
    assert result.total == D("99.27")


def test_replaced_meter_volume_is_old_part_plus_new_part() -> None:
    result = bill_compute(
        period_start=dt.date(2024, 5, 1),
        period_end=dt.date(2024, 5, 31),
        spans=[MeterSpan("OLD", D("100"), D("130")), MeterSpan("NEW", D("0"), D("5"))],
        tiers=residential(),
    )
    assert result.volume == D("35.000")
    assert result.total == D("105.00")  # 35 × (2.05 + 0.95)


def test_zero_volume_is_a_zero_bill() -> None:
    result = compute("0")
    assert result.lines == []
    assert result.total == D("0")


def test_a_meter_running_backwards_is_refused_not_billed_negative() -> None:
    with pytest.raises(BillingError, match="less than"):
        bill_compute(
            period_start=dt.date(2024, 5, 1),
            period_end=dt.date(2024, 5, 31),
            spans=[MeterSpan("M1", D("100"), D("90"))],
            tiers=residential(),
        )


def test_no_price_in_force_is_refused() -> None:
    with pytest.raises(BillingError, match="no price"):
        compute("10", tiers=residential(start=dt.date(2025, 1, 1)))


def test_flat_tariff_has_one_line() -> None:
    flat = [TierPrice(1, None, D("3.85"), D("1.40"), START)]
    result = compute("123.4", tiers=flat, before="99999")
    assert water(result) == [(1, D("123.4"), D("475.09"))]
    assert result.total == D("647.85")  # + 172.76
