"""The import's fast path: the same answers as the models and services it stands in for.

Phones normalised without parsing equal phonenumbers' result; column checks read from the
model fields give Django's own messages; readings decided in memory per chunk are flagged
exactly as `services.reading_record` flags them row by row; ids come in bulk safely.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from qingquan.core.actors import SYSTEM
from qingquan.core.db import bulkload
from qingquan.core.models import AuditEvent
from qingquan.customers import phones, services
from qingquan.customers.imports import import_files
from qingquan.customers.models import (
    Account,
    Bill,
    Customer,
    Meter,
    MeterReading,
    Payment,
    Premise,
)
from qingquan.customers.tests import factories as f


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows(rows)
    return path


# Phones ------------------------------------------------------------------------------------
def _answer(normalise: Any, raw: str) -> Any:
    try:
        return normalise(raw)
    except ValidationError as exc:
        return ("error", exc.messages)


digits = st.text(alphabet="0123456789", min_size=0, max_size=12)
separator = st.sampled_from(["", " ", "-", "  ", "\u3000", "."])


@st.composite
def phone_like(draw: Any) -> str:
    prefix = draw(st.sampled_from(["", "+86", "0086", "+86 ", "0574", "0574-", "(0574)", "86"]))
    head = draw(st.sampled_from(["1", "13", "14", "15", "16", "17", "179", "18", "19", "10",
                                 "12", "2", "8", "574", "0", ""]))  # fmt: skip
    body = draw(digits)
    cut = draw(st.integers(0, len(body)))
    return prefix + head + body[:cut] + draw(separator) + body[cut:]


@settings(max_examples=3000, deadline=None)
@given(phone_like())
def test_fast_phone_normalisation_equals_phonenumbers(raw: str) -> None:
    assert _answer(phones.normalise_fast, raw) == _answer(phones.normalise, raw)


@pytest.mark.parametrize(
    "raw",
    ["13800001111", "138 0000 1111", "138-0000-1111", "+8613800001111", "0086 13800001111",
     "0574-87001122", "0574 8700 1122", "87001122", "8700112", "+86 574 87001122",
     "17951138000011", "14012345678", "16212345678", "19912345678", "0574-1234567", "12345",
     "+1 650 253 0000", "010-12345678", ""],
)  # fmt: skip
def test_fast_phone_normalisation_table(raw: str) -> None:
    assert _answer(phones.normalise_fast, raw) == _answer(phones.normalise, raw)


# Column rules ------------------------------------------------------------------------------
@pytest.fixture
def places() -> None:
    from qingquan.areas.services import areas_seed_ningbo
    from qingquan.customers.tariffs import tariffs_seed

    areas_seed_ningbo()
    tariffs_seed()


def _model_messages(obj: Any, exclude: list[str]) -> dict[str, list[str]]:
    try:
        obj.clean_fields(exclude=exclude)
        obj.clean()
    except ValidationError as exc:
        return exc.message_dict
    return {}


@pytest.mark.django_db
def test_column_rules_give_the_models_messages(places: None, tmp_path: Path) -> None:
    long_name, long_road = "名" * 121, "路" * 81
    report = import_files(
        {
            "customers": write(tmp_path / "c.csv", [
                ["ref", "kind", "name", "id_number"],
                ["C1", "person", long_name, ""],
                ["C2", "person", "王", "12345"],
            ]),
            "premises": write(tmp_path / "p.csv", [
                ["ref", "district", "road", "latitude"],
                ["P1", "海曙区", long_road, "95"],
                ["P2", "海曙区", "解放南路1号", "95"],
            ]),
            "meters": write(tmp_path / "m.csv", [
                ["serial", "account", "installed_on", "initial_reading", "size_mm"],
                ["S1", "3309000001", "2023-01-01", "1.2345", "15"],
            ]),
        },
        dry_run=True,
    )  # fmt: skip
    got = {(e.file, e.row): (e.column, e.reason) for e in report.errors}
    expected = _model_messages(Customer(name=long_name, kind="person"), ["created_at",
                                                                         "updated_at"])  # fmt: skip
    assert got["customers", 2] == ("name", expected["name"][0])
    expected = _model_messages(Customer(name="王", kind="person", id_number="12345"),
                               ["created_at", "updated_at"])  # fmt: skip
    assert got["customers", 3] == ("id_number", expected["id_number"][0])
    # Field rules first: an over-long road hides the latitude, as clean_fields() does.
    road = _model_messages(Premise(road=long_road), ["district", "street", "community"])
    assert got["premises", 2] == ("road", road["road"][0])
    assert got["premises", 3] == ("latitude", "Latitude must be between -90 and 90.")
    assert got["meters", 2][0] == "account"  # no such account: looked up first


@pytest.mark.django_db
def test_meter_and_account_numbers_are_checked_by_their_fields(
    places: None, tmp_path: Path
) -> None:
    acc = f.account()
    files = {
        "accounts": write(tmp_path / "a.csv", [
            ["number", "customer_ref", "premise_ref", "household_size"],
            ["3309000001", "X", "Y", "1"],
        ]),
        "meters": write(tmp_path / "m.csv", [
            ["serial", "account", "installed_on", "initial_reading", "size_mm"],
            ["S1", acc.number, "2023-01-01", "1.2345", "-1"],
        ]),
    }  # fmt: skip
    Meter.objects.filter(account=acc).update(removed_on=dt.date(2023, 1, 1))
    report = import_files(files, dry_run=True)
    meter = Meter(account=acc, serial="S1", size_mm=-1, installed_on=dt.date(2023, 1, 1),
                  initial_reading=Decimal("1.2345"))  # fmt: skip
    expected = _model_messages(meter, ["account"])
    got = {e.column: e.reason for e in report.errors if e.file == "meters"}
    assert got == {k: v[0] for k, v in expected.items()}
    assert {e.column for e in report.errors if e.file == "accounts"} == {"customer_ref"}


# Readings: in bulk as row by row -----------------------------------------------------------
READINGS = [
    ("2023-02-01", "10"),
    ("2023-03-01", "20"),
    ("2023-03-01", "22"),  # same day again: the later one is "before" from now on
    ("2023-02-15", "15"),  # out of order, between its neighbours
    ("2023-02-20", "30"),  # out of order, higher than the later reading: flagged
    ("2023-04-01", "21"),  # lower than the previous: flagged
    ("2023-04-01", "40"),
    ("2023-06-01", "5000"),  # more than the meter can pass: flagged
    ("2023-05-01", "45"),  # out of order, after a flagged row that was dropped
    ("2024-01-01", "2000"),  # over ten times the usual daily use: flagged
    ("2024-02-01", "bad"),
    ("2030-01-01", "999"),  # in the future
    ("2022-01-01", "1"),  # before the meter was installed
    ("2023-07-01", "60"),
]


def _row_by_row(acc: Account) -> list[tuple[int, str]]:
    """The old importer's way: each row through the service in a savepoint."""
    meter = f.meter_of(acc)
    errors = []
    for number, (day, value) in enumerate(READINGS, start=2):
        try:
            with transaction.atomic():
                services.reading_record(
                    actor=SYSTEM,
                    meter=meter,
                    read_on=dt.date.fromisoformat(day),
                    value=Decimal(value),
                )
        except ValidationError as exc:
            errors.append((number, exc.messages[0].replace(meter.serial, "<serial>")))
        except ArithmeticError:
            errors.append((number, "not a number"))
    return errors


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_rows", [1, 3, 2000])
def test_readings_in_bulk_are_flagged_as_the_service_flags_them(
    tmp_path: Path, monkeypatch: Any, chunk_rows: int
) -> None:
    from qingquan.customers.imports import run as importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk_rows)
    by_service, in_bulk = f.account(), f.account()
    f.read(by_service, dt.date(2023, 1, 10), "5")
    f.read(in_bulk, dt.date(2023, 1, 10), "5")
    expected = _row_by_row(by_service)
    serial = f.meter_of(in_bulk).serial
    path = write(tmp_path / "r.csv", [["meter", "read_on", "value"],
                                      *([serial, d, v] for d, v in READINGS)])  # fmt: skip
    report = import_files({"readings": path})
    got = [
        (e.row, "not a number" if e.column == "value" else e.reason.replace(serial, "<serial>"))
        for e in report.errors
    ]
    assert got == expected
    assert len(expected) == 7
    assert not report.written
    # The rows the service kept are the rows the import writes once the bad ones are gone.
    good = [r for n, r in enumerate(READINGS, start=2) if n not in {e for e, _m in expected}]
    path = write(tmp_path / "r2.csv", [["meter", "read_on", "value"],
                                       *([serial, d, v] for d, v in good)])  # fmt: skip
    report = import_files({"readings": path})
    assert report.errors == []
    assert report.written

    def kept(acc: Account) -> list[tuple[dt.date, Decimal, bool]]:
        return list(
            MeterReading.objects.filter(meter__account=acc)
            .order_by("read_on", "pk")
            .values_list("read_on", "value", "flagged")
        )

    assert kept(in_bulk) == kept(by_service)
    events = AuditEvent.objects.filter(action="customers.meterreading.import")
    assert sum(e.after["count"] for e in events) == len(good)  # type: ignore[index]


# Ids ---------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_bulk_ids_do_not_collide_with_ordinary_writes(places: None, tmp_path: Path) -> None:
    before = f.customer(name="先来的")
    taken = bulkload.take_ids(Customer, 3)
    assert taken == sorted(taken) and len(set(taken)) == 3 and min(taken) > before.pk
    path = write(tmp_path / "c.csv", [["ref", "name", "phones"], ["C1", "甲", "13800001111"],
                                      ["C2", "乙", "0574-87001122"]])  # fmt: skip
    assert import_files({"customers": path}).written
    imported = list(Customer.objects.filter(legacy_ref__in=["C1", "C2"]).order_by("pk"))
    after = f.customer(name="后来的")  # the ordinary path after an import: a fresh id
    assert after.pk > max(c.pk for c in imported)
    assert [p.national_digits for p in imported[1].phones.all()] == ["057487001122"]
    assert imported[0].phones.get().is_primary


# Bills: in bulk as row by row --------------------------------------------------------------
def _month(year: int, month: int) -> tuple[str, str]:
    first = dt.date(year, month, 1)
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return first.isoformat(), last.isoformat()


BILLS: list[tuple[str, str, str, str]] = [
    (*_month(2023, 1), "", "10.00"),
    (*_month(2023, 1), "", ""),  # the same period again: overlaps
    (*_month(2023, 2), "1.00", ""),  # the file's total is wrong
    ("2023-03-01", "2023-02-28", "", ""),  # ends before it starts
    (*_month(2023, 3), "", "100000.00"),  # more than is owed
    (*_month(2023, 3), "", "-5"),
    *[(*_month(2023, m), "", "") for m in range(4, 12)],  # into the higher tiers
    ("2023-12-01", "2024-01-31", "", "20.00"),  # across New Year
    (*_month(2024, 3), "", ""),  # no reading in March 2024
    (*_month(2022, 6), "", ""),  # before the meter was installed
]


def _read_monthly(acc: Account) -> None:
    for n in range(1, 14):
        day = dt.date(2023 + n // 12, n % 12 + 1, 1) - dt.timedelta(days=1)
        f.read(acc, day, str(n * 31))


def _bills_row_by_row(acc: Account) -> list[tuple[int, str]]:
    errors = []
    for number, (start, end, total, paid) in enumerate(BILLS, start=2):
        try:
            with transaction.atomic():
                bill = services.bill_issue(
                    actor=SYSTEM,
                    account=acc,
                    period_start=dt.date.fromisoformat(start),
                    period_end=dt.date.fromisoformat(end),
                )
                if total and Decimal(total) != bill.total:
                    errors.append((number, f"the tariff gives {bill.total}"))
                    raise RuntimeError("rolled back")
                if paid and Decimal(paid):
                    services.payment_record(
                        actor=SYSTEM, bill=bill, amount=Decimal(paid), channel="bank"
                    )
        except ValidationError as exc:
            message = exc.messages[0].replace(acc.number, "<n>")
            errors.append((number, message.replace(f.meter_of(acc).serial, "<serial>")))
        except RuntimeError:
            pass
    return errors


def _bills(acc: Account) -> list[tuple[Any, ...]]:
    found = []
    for bill in Bill.objects.filter(account=acc).order_by("period_start"):
        lines = list(
            bill.lines.order_by("kind", "start", "tier").values_list(
                "kind", "tier", "start", "end", "volume", "unit_price", "amount"
            )
        )
        paid = [p.amount for p in bill.payments.all()]
        found.append((bill.period_start, bill.period_end, bill.previous_reading,
                      bill.current_reading, bill.volume, bill.water_amount, bill.sewage_amount,
                      bill.total, bill.tier_reached, bill.due_date, bill.status, lines,
                      paid))  # fmt: skip
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("chunk_rows", [1, 4, 2000])
def test_bills_in_bulk_are_priced_as_the_service_prices_them(
    tmp_path: Path, monkeypatch: Any, chunk_rows: int
) -> None:
    from qingquan.customers.imports import run as importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", chunk_rows)
    by_service, in_bulk = f.account(household_size=5), f.account(household_size=5)
    _read_monthly(by_service)
    _read_monthly(in_bulk)
    expected = _bills_row_by_row(by_service)
    header = ["account", "period_start", "period_end", "total", "paid"]
    path = write(tmp_path / "b.csv", [header, *([in_bulk.number, *b] for b in BILLS)])
    report = import_files({"bills": path})
    got = [
        (e.row, e.reason.split(",")[0] if e.column == "total" else e.reason) for e in report.errors
    ]
    serial = f.meter_of(in_bulk).serial
    assert [
        (n, m.replace(in_bulk.number, "<n>").replace(serial, "<serial>")) for n, m in got
    ] == expected
    assert not report.written
    # Without the refused rows, the import writes the bills the service issued.
    refused = {n for n, _m in expected}
    good = [b for n, b in enumerate(BILLS, start=2) if n not in refused]
    path = write(tmp_path / "b2.csv", [header, *([in_bulk.number, *b] for b in good)])
    report = import_files({"bills": path})
    assert report.errors == []
    assert _bills(in_bulk) == _bills(by_service)
    assert max(b[8] for b in _bills(in_bulk)) >= 2  # the tiers were reached
    assert {p.reference for p in Payment.objects.filter(bill__account=in_bulk)} == {
        f"IMPORT-{b.pk}" for b in Bill.objects.filter(account=in_bulk, payments__isnull=False)
    }


def _answer_of(call: Any) -> Any:
    try:
        return call()
    except ValidationError as exc:
        return ("error", exc.messages)


@pytest.mark.django_db
def test_the_import_reads_spans_and_the_years_volume_as_the_service_does() -> None:
    """The import's in-memory account (`imports.bills._accounts`) through the services'
    pure rules gives what `services.meter_spans` and `annual_volume_before` read from the
    database: a meter replaced in the middle of a period, a cancelled bill, a bill across
    New Year, periods without a reading or before any meter."""
    from qingquan.customers.imports.bills import _accounts

    acc = f.account(meter_on=dt.date(2022, 6, 1))
    for day, value in [("2022-11-30", "40"), ("2022-12-31", "52"), ("2023-01-31", "70")]:
        f.read(acc, dt.date.fromisoformat(day), value)
    services.meter_replace(
        actor=SYSTEM, meter=f.meter_of(acc), final_reading=Decimal("81"),
        replaced_on=dt.date(2023, 2, 14), new_serial="NEW-1",
    )  # fmt: skip
    f.read(acc, dt.date(2023, 2, 28), "9")
    f.read(acc, dt.date(2023, 3, 31), "20")
    services.bill_issue(  # across New Year
        actor=SYSTEM, account=acc, period_start=dt.date(2022, 11, 1),
        period_end=dt.date(2023, 1, 31),
    )  # fmt: skip
    cancelled = services.bill_issue(
        actor=SYSTEM, account=acc, period_start=dt.date(2023, 2, 1),
        period_end=dt.date(2023, 2, 28),
    )  # fmt: skip
    services.bill_cancel(actor=SYSTEM, bill=cancelled, reason="misread")
    chunk = [(2, {"account": acc.number, "period_start": "2022-11-01"})]
    state = _accounts(chunk)[acc.number]
    periods = [
        ("2023-02-01", "2023-02-28"), ("2023-01-01", "2023-03-31"), ("2023-03-01", "2023-03-31"),
        ("2023-04-01", "2023-04-30"), ("2021-01-01", "2021-12-31"), ("2022-12-01", "2023-02-13"),
    ]  # fmt: skip
    answers = []
    for first, last in periods:
        start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
        answers.append(
            in_memory := _answer_of(
                lambda s=start, e=end: services.meter_spans_of(
                    acc.number, [m.period(s, e) for m in state.meters], s, e
                )
            )
        )
        assert in_memory == _answer_of(lambda s=start, e=end: services.meter_spans(acc, s, e))
        assert services.annual_volume_of(state.bills, start) == services.annual_volume_before(
            acc, start
        )
    assert services.annual_volume_before(acc, dt.date(2023, 3, 1)) > 0  # the year's share
    assert [len(a[0]) if a[0] != "error" else a[0] for a in answers] == [
        2, 2, 1, "error", "error", 1,
    ]  # fmt: skip
