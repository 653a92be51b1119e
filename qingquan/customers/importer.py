"""Importing the registry from CSV files (UTF-8, header row), and exporting it the same way.

Files, each optional, loaded in this order so references resolve:
- customers: ref, kind, name, uscc, id_number, phones (separated by ";"),
  elderly_or_impaired, sensitive
- premises: ref, district, street, community, road, building, unit, room, latitude,
  longitude
- accounts: number, customer_ref, premise_ref, kind, tariff, household_size, opened_on
- meters: serial, account, size_mm, installed_on, initial_reading
- readings: meter, read_on, value, source
- bills: account, period_start, period_end, total (optional: checked against the
  computed total), paid (optional: recorded as a bank payment)

Every row obeys the same rules as a row typed in the back office. The registry files
(customers, premises, accounts, meters) are read in chunks of CHUNK_ROWS rows: each row
is checked by its model's field and `clean()` rules, references and duplicates are looked
up once per chunk, and the good rows are written by `services.registry_import` (one bulk
insert and one audit event per chunk), which is what makes a million-row migration take
minutes rather than hours. Readings and bills go row by row through `services.reading_record`
and `services.bill_issue`, since each depends on the ones before (flagging, tier volumes).

The whole import is one transaction: memory stays flat (one chunk at a time), every bad row
is reported with its row number, column and reason, and if there was any, nothing is
written. `dry_run` reports the same and always writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.areas.models import Community, District, Street
from qingquan.core import clock
from qingquan.customers import services
from qingquan.customers.models import (
    Account,
    AccountKind,
    Bill,
    Customer,
    CustomerKind,
    CustomerPhone,
    Meter,
    MeterReading,
    Premise,
    ReadingSource,
    Tariff,
)

ORDER = ["customers", "premises", "accounts", "meters", "readings", "bills"]
COLUMNS = {
    "customers": ["ref", "kind", "name", "uscc", "id_number", "phones",
                  "elderly_or_impaired", "sensitive"],
    "premises": ["ref", "district", "street", "community", "road", "building", "unit", "room",
                 "latitude", "longitude"],
    "accounts": ["number", "customer_ref", "premise_ref", "kind", "tariff", "household_size",
                 "opened_on"],
    "meters": ["serial", "account", "size_mm", "installed_on", "initial_reading"],
    "readings": ["meter", "read_on", "value", "source"],
    "bills": ["account", "period_start", "period_end", "total", "paid"],
}  # fmt: skip
REQUIRED = {
    "customers": ["ref", "name"],
    "premises": ["ref", "district"],
    "accounts": ["number", "customer_ref", "premise_ref"],
    "meters": ["serial", "account", "installed_on"],
    "readings": ["meter", "read_on", "value"],
    "bills": ["account", "period_start", "period_end"],
}
TRUE = {"1", "true", "yes", "y", "是"}
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class RowError:
    """One problem: which file, which data row (header is row 1), which column, why."""

    file: str
    row: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.column or '-'}: {self.reason}"


@dataclass
class ImportReport:
    """What an import did (or, in a dry run or on error, would have done)."""

    rows: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    written: bool = False


class RowProblem(Exception):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _bool(value: str) -> bool:
    return value.strip().lower() in TRUE


def _date(row: dict[str, str], column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(row[column].strip())
    except ValueError as exc:
        raise RowProblem(column, f"not a date (YYYY-MM-DD): {row[column]!r}") from exc


def _decimal(row: dict[str, str], column: str) -> Decimal:
    try:
        return Decimal(row[column].strip())
    except InvalidOperation as exc:
        raise RowProblem(column, f"not a number: {row[column]!r}") from exc


def _optional_float(row: dict[str, str], column: str) -> float | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise RowProblem(column, f"not a number: {text!r}") from exc


def _choice(value: str, choices: Any, column: str, default: str) -> str:
    value = value.strip() or default
    if value not in choices.values:
        raise RowProblem(column, f"{value!r} is not one of {', '.join(choices.values)}")
    return value


def _one(model: Any, column: str, label: str, **lookup: Any) -> Any:
    found = model.objects.filter(**lookup).first()
    if found is None:
        raise RowProblem(column, f"no {label} {next(iter(lookup.values()))!r}")
    return found


# One function per file: a row in, a service call out ----------------------------------------
def _customer(row: dict[str, str]) -> None:
    if Customer.objects.filter(legacy_ref=row["ref"]).exists():
        raise RowProblem("ref", f"customer {row['ref']!r} was already imported")
    phones = [p for p in (row.get("phones") or "").split(";") if p.strip()]
    services.customer_create(
        actor=None,
        kind=_choice(row.get("kind", ""), CustomerKind, "kind", CustomerKind.PERSON),
        name=row["name"],
        uscc=row.get("uscc", ""),
        id_number=row.get("id_number", ""),
        elderly_or_impaired=_bool(row.get("elderly_or_impaired", "")),
        sensitive=_bool(row.get("sensitive", "")),
        legacy_ref=row["ref"],
        phone_numbers=phones,
    )


def _premise(row: dict[str, str]) -> None:
    if Premise.objects.filter(legacy_ref=row["ref"]).exists():
        raise RowProblem("ref", f"premise {row['ref']!r} was already imported")
    district = _one(District, "district", "district", name=row["district"].strip())
    street = community = None
    if (row.get("street") or "").strip():
        street = _one(Street, "street", "street", district=district, name=row["street"].strip())
    if (row.get("community") or "").strip():
        if street is None:
            raise RowProblem("community", "a community needs its street")
        community = _one(
            Community, "community", "community", street=street, name=row["community"].strip()
        )
    services.premise_create(
        actor=None,
        district=district,
        street=street,
        community=community,
        road=row.get("road", "").strip(),
        building=row.get("building", "").strip(),
        unit=row.get("unit", "").strip(),
        room=row.get("room", "").strip(),
        latitude=_optional_float(row, "latitude"),
        longitude=_optional_float(row, "longitude"),
        legacy_ref=row["ref"],
    )


def _account(row: dict[str, str]) -> None:
    kind = _choice(row.get("kind", ""), AccountKind, "kind", AccountKind.RESIDENTIAL)
    tariff_code = (row.get("tariff") or "").strip() or {
        AccountKind.RESIDENTIAL: "residential",
        AccountKind.NON_RESIDENTIAL: "non-residential",
        AccountKind.SPECIAL: "special",
    }[AccountKind(kind)]
    try:
        household = int((row.get("household_size") or "3").strip())
    except ValueError as exc:
        raise RowProblem("household_size", "not a whole number") from exc
    services.account_create(
        actor=None,
        number=row["number"].strip(),
        customer=_one(Customer, "customer_ref", "customer", legacy_ref=row["customer_ref"]),
        premise=_one(Premise, "premise_ref", "premise", legacy_ref=row["premise_ref"]),
        tariff=_one(Tariff, "tariff", "tariff", code=tariff_code),
        kind=kind,
        household_size=household,
        opened_on=_date(row, "opened_on") if (row.get("opened_on") or "").strip() else None,
    )


def _meter(row: dict[str, str]) -> None:
    try:
        size = int((row.get("size_mm") or "15").strip())
    except ValueError as exc:
        raise RowProblem("size_mm", "not a whole number") from exc
    services.meter_create(
        actor=None,
        account=_one(Account, "account", "account", number=row["account"].strip()),
        serial=row["serial"],
        installed_on=_date(row, "installed_on"),
        size_mm=size,
        initial_reading=_decimal(row, "initial_reading")
        if (row.get("initial_reading") or "").strip()
        else Decimal("0.000"),
    )


def _reading(row: dict[str, str]) -> None:
    services.reading_record(
        actor=None,
        meter=_one(Meter, "meter", "meter", serial=row["meter"].strip()),
        read_on=_date(row, "read_on"),
        value=_decimal(row, "value"),
        source=_choice(row.get("source", ""), ReadingSource, "source", ReadingSource.MANUAL),
    )


def _bill(row: dict[str, str]) -> None:
    bill: Bill = services.bill_issue(
        actor=None,
        account=_one(Account, "account", "account", number=row["account"].strip()),
        period_start=_date(row, "period_start"),
        period_end=_date(row, "period_end"),
    )
    if (row.get("total") or "").strip():
        expected = _decimal(row, "total")
        if expected != bill.total:
            raise RowProblem("total", f"the tariff gives {bill.total}, the file says {expected}")
    if (row.get("paid") or "").strip():
        paid = _decimal(row, "paid")
        if paid:
            services.payment_record(
                actor=None, bill=bill, amount=paid, channel="bank", reference=f"IMPORT-{bill.pk}"
            )


HANDLERS: dict[str, Callable[[dict[str, str]], None]] = {
    "customers": _customer,
    "premises": _premise,
    "accounts": _account,
    "meters": _meter,
    "readings": _reading,
    "bills": _bill,
}


def _rows(kind: str, stream: TextIO, report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(stream)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED[kind] if c not in header]
    unknown = [c for c in header if c not in COLUMNS[kind]]
    if missing:
        report.errors.append(RowError(kind, 1, ",".join(missing), "required column missing"))
        return
    if unknown:
        report.errors.append(RowError(kind, 1, ",".join(unknown), "unknown column"))
        return
    for number, row in enumerate(reader, start=2):
        yield number, {k: (v or "") for k, v in row.items() if k is not None}


def _required(kind: str, number: int, row: dict[str, str], report: ImportReport) -> bool:
    for column in REQUIRED[kind]:
        if not row.get(column, "").strip():
            report.errors.append(RowError(kind, number, column, "required value missing"))
            return False
    return True


def _validation_errors(kind: str, number: int, exc: ValidationError) -> list[RowError]:
    if hasattr(exc, "error_dict"):
        return [
            RowError(kind, number, "" if column == "__all__" else column, message)
            for column, messages in exc.message_dict.items()
            for message in messages
        ]
    return [RowError(kind, number, "", message) for message in exc.messages]


def _import_row(kind: str, number: int, row: dict[str, str], report: ImportReport) -> None:
    if not _required(kind, number, row, report):
        return
    try:
        # A savepoint per row: a refused row leaves no trace, and the next row goes on.
        with transaction.atomic():
            HANDLERS[kind](row)
    except RowProblem as problem:
        report.errors.append(RowError(kind, number, problem.column, problem.reason))
    except ValidationError as exc:
        report.errors.extend(_validation_errors(kind, number, exc))


# The registry in chunks --------------------------------------------------------------------
CHUNK_ROWS = 2000
Chunk = list[tuple[int, dict[str, str]]]


def _checked(kind: str, chunk: Chunk, report: ImportReport, build: Callable[..., Any]) -> list[Any]:
    """(number, built) for the rows `build(row)` accepts; the others reported."""
    good = []
    for number, row in chunk:
        try:
            good.append((number, build(row)))
        except RowProblem as problem:
            report.errors.append(RowError(kind, number, problem.column, problem.reason))
        except ValidationError as exc:
            report.errors.extend(_validation_errors(kind, number, exc))
    return good


def _model_rules(obj: Any, exclude: list[str]) -> None:
    """The field and model rules `full_clean` applies, but references (resolved by the
    caller in bulk) and uniqueness (checked against the chunk and the database once)."""
    obj.clean_fields(exclude=exclude)
    obj.clean()


def _bulk_customers(chunk: Chunk, report: ImportReport) -> None:
    refs = [row["ref"] for _n, row in chunk]
    taken = set(Customer.objects.filter(legacy_ref__in=refs).values_list("legacy_ref", flat=True))
    now = clock.now()

    def build(row: dict[str, str]) -> tuple[Customer, list[CustomerPhone]]:
        ref = row["ref"]
        if ref in taken:
            raise RowProblem("ref", f"customer {ref!r} was already imported")
        customer = Customer(
            kind=_choice(row.get("kind", ""), CustomerKind, "kind", CustomerKind.PERSON),
            name=row["name"],
            uscc=(row.get("uscc") or "").strip(),
            id_number=(row.get("id_number") or "").strip(),
            elderly_or_impaired=_bool(row.get("elderly_or_impaired", "")),
            sensitive=_bool(row.get("sensitive", "")),
            legacy_ref=ref,
            created_at=now,
            updated_at=now,
        )
        _model_rules(customer, [])
        numbers: list[CustomerPhone] = []
        for index, raw in enumerate(p for p in (row.get("phones") or "").split(";") if p.strip()):
            phone = CustomerPhone(customer=customer, number=raw, is_primary=index == 0)
            phone.clean()
            if any(p.number == phone.number for p in numbers):
                raise ValidationError(
                    {
                        "number": _("This customer already has the number %(n)s.")
                        % {"n": phone.number}
                    }
                )
            numbers.append(phone)
        taken.add(ref)
        return customer, numbers

    good = _checked("customers", chunk, report, build)
    codes = [c.uscc for _n, (c, _p) in good if c.uscc]
    # `.exclude(uscc="")` repeats the unique index's condition, so the index is used.
    registered = set(
        Customer.objects.filter(uscc__in=codes).exclude(uscc="").values_list("uscc", flat=True)
    )
    customers, phones = [], []
    for number, (customer, numbers) in good:
        if customer.uscc and customer.uscc in registered:
            report.errors.append(
                RowError("customers", number, "uscc", f"{customer.uscc} is already registered")
            )
            continue
        if customer.uscc:
            registered.add(customer.uscc)
        customers.append(customer)
        phones.extend(numbers)
    services.registry_import(actor=None, records=customers, phones=phones)


def _bulk_premises(chunk: Chunk, report: ImportReport) -> None:
    refs = [row["ref"] for _n, row in chunk]
    taken = set(Premise.objects.filter(legacy_ref__in=refs).values_list("legacy_ref", flat=True))
    places = _places()

    def build(row: dict[str, str]) -> Premise:
        ref = row["ref"]
        if ref in taken:
            raise RowProblem("ref", f"premise {ref!r} was already imported")
        name = row["district"].strip()
        district = places.districts.get(name)
        if district is None:
            raise RowProblem("district", f"no district {name!r}")
        street = community = None
        if (row.get("street") or "").strip():
            name = row["street"].strip()
            street = places.streets.get((district.pk, name))
            if street is None:
                raise RowProblem("street", f"no street {name!r}")
        if (row.get("community") or "").strip():
            if street is None:
                raise RowProblem("community", "a community needs its street")
            name = row["community"].strip()
            community = places.communities.get((street.pk, name))
            if community is None:
                raise RowProblem("community", f"no community {name!r}")
        premise = Premise(
            district=district,
            street=street,
            community=community,
            road=row.get("road", "").strip(),
            building=row.get("building", "").strip(),
            unit=row.get("unit", "").strip(),
            room=row.get("room", "").strip(),
            latitude=_optional_float(row, "latitude"),
            longitude=_optional_float(row, "longitude"),
            legacy_ref=ref,
        )
        _model_rules(premise, ["district", "street", "community"])
        taken.add(ref)
        return premise

    good = _checked("premises", chunk, report, build)
    services.registry_import(actor=None, records=[p for _n, p in good])


def _bulk_accounts(chunk: Chunk, report: ImportReport) -> None:
    customers = dict(
        Customer.objects.filter(legacy_ref__in={row["customer_ref"] for _n, row in chunk})
        .order_by("-pk")
        .values_list("legacy_ref", "pk")
    )
    premises = dict(
        Premise.objects.filter(legacy_ref__in={row["premise_ref"] for _n, row in chunk})
        .order_by("-pk")
        .values_list("legacy_ref", "pk")
    )
    numbers = [row["number"].strip() for _n, row in chunk]
    taken = set(Account.objects.filter(number__in=numbers).values_list("number", flat=True))
    tariffs = {t.code: t for t in Tariff.objects.all()}
    today = clock.today()

    def build(row: dict[str, str]) -> Account:
        kind = _choice(row.get("kind", ""), AccountKind, "kind", AccountKind.RESIDENTIAL)
        code = (row.get("tariff") or "").strip() or DEFAULT_TARIFF[AccountKind(kind)]
        try:
            household = int((row.get("household_size") or "3").strip())
        except ValueError as exc:
            raise RowProblem("household_size", "not a whole number") from exc
        number = row["number"].strip()
        customer = customers.get(row["customer_ref"])
        if customer is None:
            raise RowProblem("customer_ref", f"no customer {row['customer_ref']!r}")
        premise = premises.get(row["premise_ref"])
        if premise is None:
            raise RowProblem("premise_ref", f"no premise {row['premise_ref']!r}")
        tariff = tariffs.get(code)
        if tariff is None:
            raise RowProblem("tariff", f"no tariff {code!r}")
        if number in taken:
            raise RowProblem("number", _("Account number %(n)s is taken.") % {"n": number})
        account = Account(
            number=number,
            customer_id=customer,
            premise_id=premise,
            tariff=tariff,
            kind=kind,
            household_size=household,
            opened_on=_date(row, "opened_on") if (row.get("opened_on") or "").strip() else today,
        )
        _model_rules(account, ["customer", "premise", "tariff"])
        taken.add(number)
        return account

    good = _checked("accounts", chunk, report, build)
    services.registry_import(actor=None, records=[a for _n, a in good])


def _bulk_meters(chunk: Chunk, report: ImportReport) -> None:
    accounts = dict(
        Account.objects.filter(
            number__in={row["account"].strip() for _n, row in chunk}
        ).values_list("number", "pk")
    )
    fitted = set(
        Meter.objects.installed()
        .filter(account_id__in=accounts.values())
        .values_list("account_id", flat=True)
    )
    serials = [row["serial"].strip() for _n, row in chunk]
    taken = set(Meter.objects.filter(serial__in=serials).values_list("serial", flat=True))

    def build(row: dict[str, str]) -> Meter:
        number = row["account"].strip()
        account = accounts.get(number)
        if account is None:
            raise RowProblem("account", f"no account {number!r}")
        try:
            size = int((row.get("size_mm") or "15").strip())
        except ValueError as exc:
            raise RowProblem("size_mm", "not a whole number") from exc
        serial = row["serial"].strip()
        if account in fitted:
            raise ValidationError(
                _("Account %(n)s already has a meter installed; replace it instead.")
                % {"n": number}
            )
        if serial in taken:
            raise RowProblem("serial", _("Meter %(s)s already exists.") % {"s": serial})
        meter = Meter(
            account_id=account,
            serial=serial,
            size_mm=size,
            installed_on=_date(row, "installed_on"),
            initial_reading=_decimal(row, "initial_reading")
            if (row.get("initial_reading") or "").strip()
            else Decimal("0.000"),
        )
        _model_rules(meter, ["account"])
        fitted.add(account)
        taken.add(serial)
        return meter

    good = _checked("meters", chunk, report, build)
    services.registry_import(actor=None, records=[m for _n, m in good])


@dataclass
class _Places:
    districts: dict[str, District]
    streets: dict[tuple[int, str], Street]
    communities: dict[tuple[int, str], Community]


def _places() -> _Places:
    districts = {d.name: d for d in District.objects.all()}
    by_pk = {d.pk: d for d in districts.values()}
    streets = {}
    for street in Street.objects.all():
        street.district = by_pk[street.district_id]
        streets[(street.district_id, street.name)] = street
    street_by_pk = {s.pk: s for s in streets.values()}
    communities = {}
    for community in Community.objects.all():
        community.street = street_by_pk[community.street_id]
        communities[(community.street_id, community.name)] = community
    return _Places(districts, streets, communities)


DEFAULT_TARIFF = {
    AccountKind.RESIDENTIAL: "residential",
    AccountKind.NON_RESIDENTIAL: "non-residential",
    AccountKind.SPECIAL: "special",
}
BULK: dict[str, Callable[[Chunk, ImportReport], None]] = {
    "customers": _bulk_customers,
    "premises": _bulk_premises,
    "accounts": _bulk_accounts,
    "meters": _bulk_meters,
}


def import_files(
    files: dict[str, Path], *, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Import the given CSV files (by kind); write nothing if any row is bad or `dry_run`."""
    unknown = set(files) - set(ORDER)
    if unknown:
        raise ValueError(f"unknown file kinds: {sorted(unknown)}")
    report = ImportReport()
    with transaction.atomic():
        for kind in ORDER:
            if kind not in files:
                continue
            count = 0
            bulk = BULK.get(kind)
            chunk: list[tuple[int, dict[str, str]]] = []
            with Path(files[kind]).open(encoding="utf-8-sig", newline="") as stream:
                for number, row in _rows(kind, stream, report):
                    count += 1
                    if bulk is None:
                        _import_row(kind, number, row, report)
                    elif _required(kind, number, row, report):
                        chunk.append((number, row))
                        if len(chunk) >= CHUNK_ROWS:
                            bulk(chunk, report)
                            chunk = []
                    if progress and count % 1000 == 0:
                        progress(kind, count)
                if chunk and bulk is not None:
                    bulk(chunk, report)
            report.rows[kind] = count
            if progress:
                progress(kind, count)
        if dry_run or report.errors:
            transaction.set_rollback(True)
        else:
            report.written = True
    return report


# Export ----------------------------------------------------------------------------------
def export_files(directory: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write the registry as the same CSV files `import_files` reads; rows per file."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    writers: dict[str, Callable[[], Iterator[list[Any]]]] = {
        "customers": _export_customers,
        "premises": _export_premises,
        "accounts": _export_accounts,
        "meters": _export_meters,
        "readings": _export_readings,
        "bills": _export_bills,
    }
    for kind in ORDER:
        with (directory / f"{kind}.csv").open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(COLUMNS[kind])
            count = 0
            for row in writers[kind]():
                writer.writerow(row)
                count += 1
                if progress and count % 10000 == 0:
                    progress(kind, count)
            counts[kind] = count
            if progress:
                progress(kind, count)
    return counts


CHUNK = 2000


def _export_customers() -> Iterator[list[Any]]:
    for c in Customer.objects.order_by("pk").prefetch_related("phones").iterator(CHUNK):
        yield [c.legacy_ref or f"C{c.pk}", c.kind, c.name, c.uscc, c.id_number,
               ";".join(p.number for p in c.phones.all()),
               int(c.elderly_or_impaired), int(c.sensitive)]  # fmt: skip


def _export_premises() -> Iterator[list[Any]]:
    qs = Premise.objects.order_by("pk").select_related("district", "street", "community")
    for p in qs.iterator(CHUNK):
        yield [p.legacy_ref or f"P{p.pk}", p.district.name, p.street.name if p.street else "",
               p.community.name if p.community else "", p.road, p.building, p.unit, p.room,
               "" if p.latitude is None else p.latitude,
               "" if p.longitude is None else p.longitude]  # fmt: skip


def _export_accounts() -> Iterator[list[Any]]:
    qs = Account.objects.order_by("pk").select_related("customer", "premise", "tariff")
    for a in qs.iterator(CHUNK):
        yield [a.number, a.customer.legacy_ref or f"C{a.customer_id}",
               a.premise.legacy_ref or f"P{a.premise_id}", a.kind, a.tariff.code,
               a.household_size, a.opened_on.isoformat()]  # fmt: skip


def _export_meters() -> Iterator[list[Any]]:
    for m in Meter.objects.order_by("pk").select_related("account").iterator(CHUNK):
        yield [m.serial, m.account.number, m.size_mm, m.installed_on.isoformat(),
               m.initial_reading]  # fmt: skip


def _export_readings() -> Iterator[list[Any]]:
    qs = (
        MeterReading.objects.valid()
        .order_by("pk")
        .values_list("meter__serial", "read_on", "value", "source")
    )
    for serial, read_on, value, source in qs.iterator(CHUNK):
        yield [serial, read_on.isoformat(), value, source]


def _export_bills() -> Iterator[list[Any]]:
    qs = Bill.objects.not_cancelled().with_paid().order_by("pk").select_related("account")
    for b in qs.iterator(CHUNK):
        yield [b.account.number, b.period_start.isoformat(), b.period_end.isoformat(), b.total,
               b.paid]  # fmt: skip
