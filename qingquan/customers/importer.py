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

Every row obeys the same rules as a row typed in the back office. The files are read in
chunks of CHUNK_ROWS rows, a row at a time (memory stays flat). For the registry files
(customers, premises, accounts, meters) and readings, a row is checked without building a
model instance: `import_rules` prepares each column's field rules once from the model
fields' metadata (max lengths, ranges, decimal places; a failing value gets the field's
own message), then the model's `clean()` rules are applied in the same order, phones go
through `phones.normalise_fast` (the same answer as `phones.normalise`, without parsing the
common forms), and references and duplicates are looked up once per chunk. Readings are
flagged by `services.reading_flag_reason`, the rule `services.reading_record` applies, from
each meter's last valid reading fetched once per chunk with the chunk's own readings on
top (an out-of-order reading asks for its neighbours). The good rows of a chunk are written
by `services.registry_rows_import`: ids taken in bulk, one COPY (PostgreSQL) or executemany
(SQLite) per table, one audit event per chunk. Bills are issued as `services.bill_issue`
(and `payment_record` for `paid`) would issue them in file order: the chunk's accounts,
bills of the years concerned, meters and valid readings are fetched once, each bill is
priced by `billing.bill_compute` (memoised on identical inputs) and joins its account's
bills in memory, so later rows see it (overlaps, annual tier volume); they are written by
`services.bills_import`.

The whole import is one transaction: every bad row is reported with its row number,
column and reason, and if there was any, nothing is written. `dry_run` checks and writes
the same way, then rolls back, so it reports exactly what a real import would.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import gc
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from qingquan.areas.models import Community, District, Street
from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.customers import billing, ids, import_rules, phones, services
from qingquan.customers.models import (
    Account,
    AccountKind,
    Bill,
    BillStatus,
    Customer,
    CustomerKind,
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


def _rows(kind: str, stream: TextIO, report: ImportReport) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(stream)
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in REQUIRED[kind] if c not in header]
    unknown = [c for c in header if c not in COLUMNS[kind]]
    if missing:
        report.errors.append(RowError(kind, 1, ",".join(missing), "required column missing"))
        return
    if unknown:
        report.errors.append(RowError(kind, 1, ",".join(unknown), "unknown column"))
        return
    width = len(header)
    padding = [""] * width
    number = 1
    for values in reader:
        if not values:
            continue  # a blank line, skipped (and not counted) as csv.DictReader does
        number += 1
        if len(values) < width:
            values = values + padding[len(values) :]
        yield number, dict(zip(header, values, strict=False))


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


def _select_in(model: Any, columns: str, column: str, values: Any, where: str) -> list[Any]:
    """Rows of `columns` whose `column` is one of `values` (raw SQL: the ORM's `__in`
    costs more than the query for a few thousand values)."""
    values = list(values)
    if not values:
        return []
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        test, params = f"{ops.quote_name(column)} = ANY(%s)", [values]
    else:
        test, params = f"{ops.quote_name(column)} IN ({', '.join(['%s'] * len(values))})", values
    # Table and column names come from model metadata, values are parameters.
    sql = f"SELECT {columns} FROM {table} WHERE {test}"  # noqa: S608
    if where:
        sql += f" AND {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY id DESC", params)
        return cursor.fetchall()


def _found(model: Any, column: str, values: Any, where: str = "") -> list[Any]:
    """The values of `column` among `values` that are in the table."""
    return [
        r[0] for r in _select_in(model, connection.ops.quote_name(column), column, values, where)
    ]


def _ids(model: Any, column: str, values: Any) -> dict[Any, int]:
    """value → id of the rows whose `column` is one of `values` (the oldest row wins)."""
    return dict(_select_in(model, f"{connection.ops.quote_name(column)}, id", column, values, ""))


class _Rules:
    """Per-column checks prepared once per import (see `import_rules`), and the lookups
    every chunk shares (places, tariffs)."""

    def __init__(self) -> None:
        self.customer_name = import_rules.Text(Customer, "name")
        self.customer_uscc = import_rules.Text(Customer, "uscc")
        self.customer_id_number = import_rules.Text(Customer, "id_number")
        self.customer_ref = import_rules.Text(Customer, "legacy_ref")
        self.premise_text = [
            (c, import_rules.Text(Premise, c)) for c in ("road", "building", "unit", "room")
        ]
        self.premise_ref = import_rules.Text(Premise, "legacy_ref")
        self.account_number = import_rules.Text(Account, "number")
        self.household = import_rules.Whole(Account, "household_size")
        self.serial = import_rules.Text(Meter, "serial")
        self.size = import_rules.Whole(Meter, "size_mm")
        self.initial = import_rules.Number(Meter, "initial_reading")
        self.customer_kinds = frozenset(str(v) for v in CustomerKind.values)
        self.account_kinds = frozenset(str(v) for v in AccountKind.values)
        self.reading_sources = frozenset(str(v) for v in ReadingSource.values)
        self._places: _Places | None = None
        self._tiers: dict[int, tuple[billing.TierPrice, ...]] = {}
        self._computed: dict[tuple[Any, ...], billing.Computation] = {}
        self._tariffs: dict[str, Tariff] | None = None

    @property
    def places(self) -> _Places:
        if self._places is None:
            self._places = _places()
        return self._places

    def bill(
        self,
        account: _AccountState,
        start: dt.date,
        end: dt.date,
        spans: list[billing.MeterSpan],
        annual: Decimal,
    ) -> billing.Computation:
        """`billing.bill_compute` for the account, memoised on identical inputs (the
        computation only needs the spans' total once none is negative)."""
        tiers = self._tiers.get(account.tariff_id)
        if tiers is None:
            tariff = Tariff.objects.get(pk=account.tariff_id)
            tiers = self._tiers[account.tariff_id] = tuple(services.tier_prices(tariff))
        key = None
        if all(span.volume >= 0 for span in spans):
            volume = sum((span.volume for span in spans), Decimal(0))
            key = (account.tariff_id, account.household, start, end, volume, annual)
            if key in self._computed:
                return self._computed[key]
        try:
            computed = billing.bill_compute(
                period_start=start, period_end=end, spans=spans, tiers=tiers,
                household_size=account.household, annual_volume_before=annual,
            )  # fmt: skip
        except billing.BillingError as exc:
            raise ValidationError(str(exc)) from exc
        if key is not None:
            if len(self._computed) > 10_000:
                self._computed.clear()  # memory stays flat
            self._computed[key] = computed
        return computed

    @property
    def tariffs(self) -> dict[str, Tariff]:
        if self._tariffs is None:
            self._tariffs = {t.code: t for t in Tariff.objects.all()}
        return self._tariffs


def _fail(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationError(errors)


CUSTOMER_COLUMNS = ["kind", "name", "uscc", "id_number", "elderly_or_impaired", "sensitive",
                    "legacy_ref", "created_at", "updated_at"]  # fmt: skip
PREMISE_COLUMNS = ["district_id", "street_id", "community_id", "road", "building", "unit",
                   "room", "address", "latitude", "longitude", "legacy_ref"]  # fmt: skip
ACCOUNT_COLUMNS = ["number", "customer_id", "premise_id", "kind", "tariff_id",
                   "household_size", "opened_on"]  # fmt: skip
METER_COLUMNS = ["account_id", "serial", "size_mm", "installed_on", "initial_reading"]


def _bulk_customers(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    refs = [row["ref"] for _n, row in chunk]
    taken = set(_found(Customer, "legacy_ref", refs))
    now = clock.now()
    organisation = str(CustomerKind.ORGANISATION.value)
    kinds = rules.customer_kinds
    normalise = phones.normalise_fast

    def build(row: dict[str, str]) -> tuple[tuple[Any, ...], list[tuple[str, str]]]:
        # The checks `Customer.full_clean()` makes (field rules, then `clean()`), in order.
        ref = row["ref"]
        if ref in taken:
            raise RowProblem("ref", _("customer %(r)r was already imported") % {"r": ref})
        kind = (row.get("kind") or "").strip() or PERSON
        if kind not in kinds:
            raise RowProblem("kind", _not_one_of(kind, CustomerKind))
        name = row["name"]
        uscc = (row.get("uscc") or "").strip()
        id_number = (row.get("id_number") or "").strip()
        errors: dict[str, list[str]] = {}
        rules.customer_name.check(name, errors)
        rules.customer_uscc.check(uscc, errors)
        rules.customer_id_number.check(id_number, errors)
        rules.customer_ref.check(ref, errors, "ref")
        _fail(errors)
        name = name.strip()
        if kind == organisation:
            if not uscc:
                errors["uscc"] = [_("An organisation needs its unified social credit code.")]
            if id_number:
                errors["id_number"] = [_("An organisation has no resident ID number.")]
        elif uscc:
            errors["uscc"] = [_("Only organisations have a unified social credit code.")]
        if uscc and "uscc" not in errors:
            try:
                uscc = ids.clean_uscc(uscc)
            except ValidationError as exc:
                errors["uscc"] = exc.messages
        if id_number and "id_number" not in errors:
            try:
                id_number = ids.clean_ric(id_number)
            except ValidationError as exc:
                errors["id_number"] = exc.messages
        _fail(errors)
        numbers: list[tuple[str, str]] = []
        for raw in (row.get("phones") or "").split(";"):
            if not raw.strip():
                continue
            try:
                e164, digits = normalise(raw)
            except ValidationError as exc:
                raise ValidationError({"number": exc.messages}) from exc
            if any(n == e164 for n, _d in numbers):
                raise ValidationError(
                    {"number": _("This customer already has the number %(n)s.") % {"n": e164}}
                )
            numbers.append((e164, digits))
        taken.add(ref)
        record = (kind, name, uscc, id_number, _bool(row.get("elderly_or_impaired", "")),
                  _bool(row.get("sensitive", "")), ref, now, now)  # fmt: skip
        return record, numbers

    good = _checked("customers", chunk, report, build)
    codes = [record[2] for _n, (record, _p) in good if record[2]]
    # The unique index's own condition, word for word as Django wrote it: SQLite uses a
    # partial index only for a WHERE it can match to the index's (`uscc <> ''` scanned
    # the whole table, 7 of the 15 seconds importing 200,000 rows into a city of 1 M).
    registered = set(_found(Customer, "uscc", codes, "NOT (\"uscc\" = '')"))
    rows: list[tuple[Any, ...]] = []
    numbers: list[tuple[int, str, str, bool]] = []
    for number, (record, found) in good:
        uscc = record[2]
        if uscc and uscc in registered:
            report.errors.append(
                RowError("customers", number, "uscc",
                         _("%(c)s is already registered") % {"c": uscc})
            )  # fmt: skip
            continue
        if uscc:
            registered.add(uscc)
        numbers.extend((len(rows), e164, digits, i == 0) for i, (e164, digits) in enumerate(found))
        rows.append(record)
    services.registry_rows_import(
        actor=system("import"), model=Customer, columns=CUSTOMER_COLUMNS, rows=rows, phones=numbers
    )


def _bulk_premises(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    refs = [row["ref"] for _n, row in chunk]
    taken = set(_found(Premise, "legacy_ref", refs))
    places = rules.places
    texts = rules.premise_text

    def build(row: dict[str, str]) -> tuple[Any, ...]:
        ref = row["ref"]
        if ref in taken:
            raise RowProblem("ref", _("premise %(r)r was already imported") % {"r": ref})
        name = row["district"].strip()
        district = places.districts.get(name)
        if district is None:
            raise RowProblem("district", _("no district %(n)r") % {"n": name})
        street = community = None
        if (row.get("street") or "").strip():
            name = row["street"].strip()
            street = places.streets.get((district.id, name))
            if street is None:
                raise RowProblem("street", _("no street %(n)r") % {"n": name})
        if (row.get("community") or "").strip():
            if street is None:
                raise RowProblem("community", _("a community needs its street"))
            name = row["community"].strip()
            community = places.communities.get((street.id, name))
            if community is None:
                raise RowProblem("community", _("no community %(n)r") % {"n": name})
        latitude = _optional_float(row, "latitude")
        longitude = _optional_float(row, "longitude")
        parts = [(row.get(c) or "").strip() for c, _rule in texts]
        errors: dict[str, list[str]] = {}
        for value, (_c, rule) in zip(parts, texts, strict=True):
            rule.check(value, errors)
        rules.premise_ref.check(ref, errors, "ref")
        _fail(errors)
        # `Premise.clean()`: the street and community were found inside their parents.
        if latitude is not None and not -90 <= latitude <= 90:
            errors["latitude"] = [_("Latitude must be between -90 and 90.")]
        if longitude is not None and not -180 <= longitude <= 180:
            errors["longitude"] = [_("Longitude must be between -180 and 180.")]
        _fail(errors)
        road, building, unit, room = parts
        address = ["宁波市", district.name]
        if street is not None:
            address.append(street.name)
        if community is not None:
            address.append(community.name)
        address.append(road)
        if building:
            address.append(f"{building}幢")
        if unit:
            address.append(f"{unit}单元")
        if room:
            address.append(f"{room}室")
        taken.add(ref)
        return (district.id, street.id if street else None,
                community.id if community else None, road, building, unit, room,
                "".join(address), latitude, longitude, ref)  # fmt: skip

    good = _checked("premises", chunk, report, build)
    services.registry_rows_import(
        actor=system("import"), model=Premise, columns=PREMISE_COLUMNS, rows=[p for _n, p in good]
    )


def _bulk_accounts(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    # Several customers with one reference (imported by hand before): the oldest one.
    customers = _ids(Customer, "legacy_ref", {row["customer_ref"] for _n, row in chunk})
    premises = _ids(Premise, "legacy_ref", {row["premise_ref"] for _n, row in chunk})
    taken = set(_found(Account, "number", [row["number"].strip() for _n, row in chunk]))
    tariffs = rules.tariffs
    today = clock.today()
    kinds = rules.account_kinds

    def build(row: dict[str, str]) -> tuple[Any, ...]:
        kind = (row.get("kind") or "").strip() or RESIDENTIAL
        if kind not in kinds:
            raise RowProblem("kind", _not_one_of(kind, AccountKind))
        code = (row.get("tariff") or "").strip() or DEFAULT_TARIFF[kind]
        try:
            household = int((row.get("household_size") or "3").strip())
        except ValueError as exc:
            raise RowProblem("household_size", _("not a whole number")) from exc
        number = row["number"].strip()
        customer = customers.get(row["customer_ref"])
        if customer is None:
            raise RowProblem("customer_ref", _("no customer %(r)r") % {"r": row["customer_ref"]})
        premise = premises.get(row["premise_ref"])
        if premise is None:
            raise RowProblem("premise_ref", _("no premise %(r)r") % {"r": row["premise_ref"]})
        tariff = tariffs.get(code)
        if tariff is None:
            raise RowProblem("tariff", _("no tariff %(c)r") % {"c": code})
        if number in taken:
            raise RowProblem("number", _("Account number %(n)s is taken.") % {"n": number})
        opened_on = _date(row, "opened_on") if (row.get("opened_on") or "").strip() else today
        # `Account.full_clean()`: field rules, then `clean()`.
        errors: dict[str, list[str]] = {}
        rules.account_number.check(number, errors)
        rules.household.check(household, errors)
        _fail(errors)
        if not number.isdigit():
            errors["number"] = [_("An account number is digits only.")]
        if tariff.kind != kind:
            errors["tariff"] = [_("The tariff is for another kind of account.")]
        if household < 1:
            errors["household_size"] = [_("A household has at least one person.")]
        _fail(errors)
        taken.add(number)
        return (number, customer, premise, kind, tariff.id, household, opened_on)

    good = _checked("accounts", chunk, report, build)
    services.registry_rows_import(
        actor=system("import"), model=Account, columns=ACCOUNT_COLUMNS, rows=[a for _n, a in good]
    )


def _bulk_meters(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    accounts = _ids(Account, "number", {row["account"].strip() for _n, row in chunk})
    fitted = set(_found(Meter, "account_id", list(accounts.values()), "removed_on IS NULL"))
    taken = set(_found(Meter, "serial", [row["serial"].strip() for _n, row in chunk]))
    zero = Decimal("0.000")

    def build(row: dict[str, str]) -> tuple[Any, ...]:
        number = row["account"].strip()
        account = accounts.get(number)
        if account is None:
            raise RowProblem("account", _("no account %(n)r") % {"n": number})
        try:
            size = int((row.get("size_mm") or "15").strip())
        except ValueError as exc:
            raise RowProblem("size_mm", _("not a whole number")) from exc
        serial = row["serial"].strip()
        if account in fitted:
            raise ValidationError(
                _("Account %(n)s already has a meter installed; replace it instead.")
                % {"n": number}
            )
        if serial in taken:
            raise RowProblem("serial", _("Meter %(s)s already exists.") % {"s": serial})
        installed_on = _date(row, "installed_on")
        initial = (
            _decimal(row, "initial_reading") if (row.get("initial_reading") or "").strip() else zero
        )
        # `Meter.full_clean()`: field rules, then `clean()`.
        errors: dict[str, list[str]] = {}
        rules.serial.check(serial, errors)
        rules.size.check(size, errors)
        rules.initial.check(initial, errors)
        _fail(errors)
        if initial < 0:
            errors["initial_reading"] = [_("A reading cannot be negative.")]
        _fail(errors)
        fitted.add(account)
        taken.add(serial)
        return (account, serial, size, installed_on, initial)

    good = _checked("meters", chunk, report, build)
    services.registry_rows_import(
        actor=system("import"), model=Meter, columns=METER_COLUMNS, rows=[m for _n, m in good]
    )


READING_COLUMNS = ["meter_id", "read_on", "value", "source", "flagged", "flag_reason",
                   "recorded_at"]  # fmt: skip


@dataclass
class _MeterState:
    pk: int
    serial: str
    installed_on: dt.date
    removed_on: dt.date | None
    initial: Decimal
    size_mm: int
    last: tuple[dt.date, Decimal] | None = None  # the last valid reading known
    pending: list[tuple[dt.date, Decimal]] = field(default_factory=list)  # this chunk's


def _bulk_readings(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    """Readings as `services.reading_record` would record them one by one, in file order:
    each meter's last valid reading is fetched once for the chunk, and the chunk's own
    readings are laid on top in memory. A reading older than one already known (out of
    order) asks the database for its neighbours, like the service does."""
    serials = {row["meter"].strip() for _n, row in chunk}
    meters: dict[str, _MeterState] = {}
    for pk, serial, installed, removed, initial, size in _select_in(
        Meter, "id, serial, installed_on, removed_on, initial_reading, size_mm", "serial",
        serials, "",
    ):  # fmt: skip
        meters[serial] = _MeterState(pk, serial, _as_date(installed), _as_date(removed),
                                     Decimal(initial).quantize(LITRE), size)  # fmt: skip
    by_pk = {m.pk: m for m in meters.values()}
    for meter_id, read_on, value in _last_readings(list(by_pk)):
        by_pk[meter_id].last = (_as_date(read_on), Decimal(value).quantize(LITRE))
    today = clock.today()
    now = clock.now()
    sources = rules.reading_sources

    def build(row: dict[str, str]) -> tuple[Any, ...]:
        serial = row["meter"].strip()
        meter = meters.get(serial)
        if meter is None:
            raise RowProblem("meter", _("no meter %(s)r") % {"s": serial})
        read_on = _date(row, "read_on")
        value = _decimal(row, "value")
        source = (row.get("source") or "").strip() or MANUAL
        if source not in sources:
            raise RowProblem("source", _not_one_of(source, ReadingSource))
        # `services._reading_checked`, in the same order.
        if value < 0:
            raise ValidationError(_("A meter reading cannot be negative."))
        if read_on > today:
            raise ValidationError(_("A reading cannot be dated in the future."))
        if read_on < meter.installed_on or (meter.removed_on and read_on > meter.removed_on):
            raise ValidationError(
                _("Meter %(s)s was not installed on %(d)s.") % {"s": serial, "d": read_on}
            )
        known = meter.last
        if meter.pending and (known is None or meter.pending[-1][0] >= known[0]):
            known = meter.pending[-1]  # recorded after anything in the database
        if known is None or known[0] <= read_on:
            before, after = known, None
        else:
            before, after = _neighbours(meter, read_on)
        reason = services.reading_flag_reason(
            serial=serial, installed_on=meter.installed_on, initial_reading=meter.initial,
            size_mm=meter.size_mm, read_on=read_on, value=value, before=before, after=after,
        )  # fmt: skip
        if reason:
            # The service records it flagged and raises; the importer's savepoint drops it.
            raise ValidationError(reason)
        meter.pending.append((read_on, value.quantize(LITRE)))  # as stored
        if after is not None:  # keep `pending` sorted as the service's ORDER BY would
            meter.pending.sort(key=lambda r: r[0])
        return (meter.pk, read_on, value, source, False, "", now)

    good = _checked("readings", chunk, report, build)
    services.registry_rows_import(
        actor=system("import"),
        model=MeterReading,
        columns=READING_COLUMNS,
        rows=[r for _n, r in good],
    )


LITRE = Decimal("0.001")


def _as_date(value: Any) -> Any:
    """A date from the database (SQLite gives text through a raw cursor)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _last_readings(meter_ids: list[int]) -> list[tuple[Any, ...]]:
    """(meter id, day, value) of each meter's last valid reading (by day, then id)."""
    if not meter_ids:
        return []
    table = connection.ops.quote_name(MeterReading._meta.db_table)
    marks = ", ".join(["%s"] * len(meter_ids))
    # The table name comes from model metadata, values are parameters.
    sql = (
        "SELECT meter_id, read_on, value FROM (SELECT meter_id, read_on, value, ROW_NUMBER() "  # noqa: S608
        "OVER (PARTITION BY meter_id ORDER BY read_on DESC, id DESC) AS n "
        f"FROM {table} WHERE NOT flagged AND meter_id IN ({marks})) last WHERE n = 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, meter_ids)
        return cursor.fetchall()


def _neighbours(
    meter: _MeterState, read_on: dt.date
) -> tuple[tuple[dt.date, Decimal] | None, tuple[dt.date, Decimal] | None]:
    """The valid readings just before (same day counts, the latest recorded wins) and just
    after `read_on`: from the database (earlier chunks, earlier imports) and this chunk."""
    valid = MeterReading.objects.valid().filter(meter_id=meter.pk)
    found = valid.filter(read_on__lte=read_on).order_by("-read_on", "-pk").first()
    later = valid.filter(read_on__gt=read_on).order_by("read_on", "pk").first()
    before = (found.read_on, found.value) if found else None
    after = (later.read_on, later.value) if later else None
    for day, value in meter.pending:  # recorded after anything in the database
        if day <= read_on and (before is None or day >= before[0]):
            before = (day, value)
        if day > read_on and (after is None or day < after[0]):
            after = (day, value)
    return before, after


BILL_COLUMNS = ["account_id", "period_start", "period_end", "previous_reading",
                "current_reading", "volume", "water_amount", "sewage_amount", "total",
                "tier_reached", "due_date", "status", "issued_at"]  # fmt: skip
ZERO_MONEY = Decimal("0.00")


@dataclass
class _AccountState:
    pk: int
    number: str
    tariff_id: int
    household: int
    bills: list[tuple[dt.date, dt.date, Decimal]]  # not cancelled: start, end, volume
    meters: list[_BillMeter] = field(default_factory=list)


@dataclass
class _BillMeter:
    serial: str
    installed_on: dt.date
    removed_on: dt.date | None
    initial: Decimal
    readings: list[tuple[dt.date, int, Decimal]] = field(default_factory=list)  # valid, sorted


def _bulk_bills(chunk: Chunk, report: ImportReport, rules: _Rules) -> None:
    """Bills as `services.bill_issue` (and `payment_record` for `paid`) would issue them
    one by one, in file order: the chunk's accounts, their bills of the years concerned,
    meters and valid readings are fetched once; each bill issued joins its account's
    bills in memory, so the next one sees it (overlaps, annual tier volume)."""
    numbers = {row["account"].strip() for _n, row in chunk}
    accounts: dict[str, _AccountState] = {}
    for pk, number, tariff, household in _select_in(
        Account, "id, number, tariff_id, household_size", "number", numbers, ""
    ):
        accounts.setdefault(number, _AccountState(pk, number, tariff, household, []))
    by_pk = {a.pk: a for a in accounts.values()}
    years = []
    for _n, row in chunk:
        try:
            years.append(dt.date.fromisoformat(row["period_start"].strip()).year)
        except ValueError:
            continue
    since = dt.date(min(years, default=1), 1, 1)
    cancelled = str(BillStatus.CANCELLED.value)
    for account_id, start, end, volume in _select_in(
        Bill, "account_id, period_start, period_end, volume", "account_id", list(by_pk),
        f"status <> '{cancelled}' AND period_end >= '{since.isoformat()}'",
    ):  # fmt: skip
        by_pk[account_id].bills.append(
            (_as_date(start), _as_date(end), Decimal(volume).quantize(LITRE))
        )
    meters: dict[int, _BillMeter] = {}
    for pk, account_id, serial, installed, removed, initial in sorted(
        _select_in(
            Meter, "id, account_id, serial, installed_on, removed_on, initial_reading",
            "account_id", list(by_pk), "",
        ),
        key=lambda m: (_as_date(m[3]), m[0]),
    ):  # fmt: skip
        meter = _BillMeter(serial, _as_date(installed), _as_date(removed),
                           Decimal(initial).quantize(LITRE))  # fmt: skip
        meters[pk] = meter
        by_pk[account_id].meters.append(meter)
    for meter_id, read_on, pk, value in _select_in(
        MeterReading, "meter_id, read_on, id, value", "meter_id", list(meters), "NOT flagged"
    ):
        meters[meter_id].readings.append((_as_date(read_on), pk, Decimal(value).quantize(LITRE)))
    for meter in meters.values():
        meter.readings.sort()
    now = clock.now()
    due_days = dt.timedelta(days=services.BILL_DUE_DAYS)
    bills: list[tuple[Any, ...]] = []
    lines: list[list[billing.Line]] = []
    payments: list[tuple[int, Decimal, dt.datetime]] = []

    def build(row: dict[str, str]) -> None:
        number = row["account"].strip()
        account = accounts.get(number)
        if account is None:
            raise RowProblem("account", _("no account %(n)r") % {"n": number})
        start = _date(row, "period_start")
        end = _date(row, "period_end")
        # `services.bill_issue`, in the same order.
        if end < start:
            raise ValidationError(_("The period ends before it starts."))
        if any(s <= end and e >= start for s, e, _v in account.bills):
            raise ValidationError(
                _("Account %(n)s already has a bill for part of this period.") % {"n": number}
            )
        spans, previous, current = _spans(account, start, end)
        computed = rules.bill(account, start, end, spans, _annual_before(account, start))
        total = computed.total
        if (row.get("total") or "").strip():
            expected = _decimal(row, "total")
            if expected != total:
                raise RowProblem(
                    "total",
                    _("the tariff gives %(t)s, the file says %(e)s") % {"t": total, "e": expected},
                )
        status = BillStatus.UNPAID.value if total > 0 else BillStatus.PAID.value
        paid = _decimal(row, "paid") if (row.get("paid") or "").strip() else ZERO_MONEY
        if paid:
            # `services.payment_record` on the new bill.
            if paid <= 0 or paid != paid.quantize(billing.CENT):
                raise ValidationError(_("A payment is a positive amount in yuan and fen."))
            owed = max(total - ZERO_MONEY, ZERO_MONEY)
            if paid > owed:
                raise ValidationError(
                    _("%(a)s is more than the %(o)s still owed on this bill.")
                    % {"a": paid, "o": owed}
                )
            status = BillStatus.PAID.value if paid >= total else BillStatus.PARTIALLY_PAID.value
            payments.append((len(bills), paid, clock.ensure_aware(now)))
        account.bills.append((start, end, computed.volume))
        bills.append((account.pk, start, end, previous, current, computed.volume,
                      computed.water_amount, computed.sewage_amount, total,
                      computed.tier_reached, end + due_days, str(status), now))  # fmt: skip
        lines.append(computed.lines)

    _checked("bills", chunk, report, build)
    if bills:
        services.bills_import(
            actor=system("import"),
            columns=BILL_COLUMNS,
            bills=bills,
            lines=lines,
            payments=payments,
        )


def _spans(
    account: _AccountState, start: dt.date, end: dt.date
) -> tuple[list[billing.MeterSpan], Decimal, Decimal]:
    """`services.meter_spans` from the readings in memory."""
    spans: list[billing.MeterSpan] = []
    previous = current = Decimal("0.000")
    active = [
        m for m in account.meters
        if m.installed_on <= end and (m.removed_on is None or m.removed_on >= start)
    ]  # fmt: skip
    if not active:
        raise ValidationError(
            _("Account %(n)s had no meter in this period.") % {"n": account.number}
        )
    for meter in active:
        readings = meter.readings
        prior = bisect.bisect_left(readings, (start,)) - 1  # the last one before `start`
        if prior >= 0 and meter.installed_on < start:
            start_value = readings[prior][2]
        else:
            start_value = meter.initial
        last = bisect.bisect_right(readings, (end, math.inf)) - 1
        if last < 0 or readings[last][0] < start:
            raise ValidationError(
                _("Meter %(s)s has no valid reading between %(a)s and %(b)s.")
                % {"s": meter.serial, "a": start, "b": end}
            )
        spans.append(billing.MeterSpan(meter.serial, start_value, readings[last][2]))
        previous, current = start_value, readings[last][2]
    return spans, previous, current


def _annual_before(account: _AccountState, start: dt.date) -> Decimal:
    """`services.annual_volume_before` from the account's bills in memory."""
    year_start = dt.date(start.year, 1, 1)
    total = Decimal("0.000")
    for first, last_day, volume in account.bills:
        if last_day < year_start or first >= start:
            continue
        days = (last_day - first).days + 1
        last = min(last_day, start - dt.timedelta(days=1))
        inside = (last - max(first, year_start)).days + 1
        total += volume if inside >= days else volume * inside / days
    return total.quantize(Decimal("0.001"))


@dataclass
class _Places:
    districts: dict[str, District]
    streets: dict[tuple[int, str], Street]
    communities: dict[tuple[int, str], Community]


def _places() -> _Places:
    districts = {d.name: d for d in District.objects.all()}
    streets = {(s.district_id, s.name): s for s in Street.objects.all()}
    communities = {(c.street_id, c.name): c for c in Community.objects.all()}
    return _Places(districts, streets, communities)


def _not_one_of(value: str, choices: Any) -> str:
    return _("%(v)r is not one of %(c)s") % {"v": value, "c": ", ".join(choices.values)}


DEFAULT_TARIFF: dict[str, str] = {
    str(AccountKind.RESIDENTIAL.value): "residential",
    str(AccountKind.NON_RESIDENTIAL.value): "non-residential",
    str(AccountKind.SPECIAL.value): "special",
}
PERSON = str(CustomerKind.PERSON.value)
RESIDENTIAL = str(AccountKind.RESIDENTIAL.value)
MANUAL = str(ReadingSource.MANUAL.value)
BULK: dict[str, Callable[[Chunk, ImportReport, _Rules], None]] = {
    "customers": _bulk_customers,
    "premises": _bulk_premises,
    "accounts": _bulk_accounts,
    "meters": _bulk_meters,
    "readings": _bulk_readings,
    "bills": _bulk_bills,
}


def import_files(
    files: dict[str, Path], *, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Import the given CSV files (by kind); write nothing if any row is bad or `dry_run`."""
    unknown = set(files) - set(ORDER)
    if unknown:
        raise ValueError(f"unknown file kinds: {sorted(unknown)}")
    report = ImportReport()
    rules = _Rules()
    # Everything alive now is moved out of the collector's way: otherwise each full
    # collection walks all of Django's objects again, a third of the import's time.
    gc.freeze()
    try:
        _import(files, report, rules, dry_run=dry_run, progress=progress)
    finally:
        gc.unfreeze()
    return report


def _import(
    files: dict[str, Path],
    report: ImportReport,
    rules: _Rules,
    *,
    dry_run: bool,
    progress: Progress | None,
) -> None:
    with transaction.atomic():
        for kind in ORDER:
            if kind not in files:
                continue
            count = 0
            bulk = BULK[kind]
            chunk: list[tuple[int, dict[str, str]]] = []
            with Path(files[kind]).open(encoding="utf-8-sig", newline="") as stream:
                for number, row in _rows(kind, stream, report):
                    count += 1
                    if _required(kind, number, row, report):
                        chunk.append((number, row))
                        if len(chunk) >= CHUNK_ROWS:
                            bulk(chunk, report, rules)
                            chunk = []
                    if progress and count % 1000 == 0:
                        progress(kind, count)
                if chunk:
                    bulk(chunk, report, rules)
            report.rows[kind] = count
            if progress:
                progress(kind, count)
        if dry_run or report.errors:
            transaction.set_rollback(True)
        else:
            report.written = True


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
