"""What every file of the import shares: the columns, reading rows, reporting bad ones,
looking up a chunk's references in one query, and the per-column rules and lookups
prepared once per import (`_Rules`)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from qingquan.areas.models import Community, District, Street
from qingquan.core.db import bulkload
from qingquan.customers import billing, services
from qingquan.customers.imports import field_rules
from qingquan.customers.models import (
    Account,
    AccountKind,
    Customer,
    CustomerKind,
    Meter,
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
    test, params = bulkload.any_of(ops.quote_name(column), values)
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
    """Per-column checks prepared once per import (see `field_rules`), and the lookups
    every chunk shares (places, tariffs)."""

    def __init__(self) -> None:
        self.customer_name = field_rules.Text(Customer, "name")
        self.customer_uscc = field_rules.Text(Customer, "uscc")
        self.customer_id_number = field_rules.Text(Customer, "id_number")
        self.customer_ref = field_rules.Text(Customer, "legacy_ref")
        self.premise_text = [
            (c, field_rules.Text(Premise, c)) for c in ("road", "building", "unit", "room")
        ]
        self.premise_ref = field_rules.Text(Premise, "legacy_ref")
        self.account_number = field_rules.Text(Account, "number")
        self.household = field_rules.Whole(Account, "household_size")
        self.serial = field_rules.Text(Meter, "serial")
        self.size = field_rules.Whole(Meter, "size_mm")
        self.initial = field_rules.Number(Meter, "initial_reading")
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
        *,
        tariff_id: int,
        household: int,
        start: dt.date,
        end: dt.date,
        spans: list[billing.MeterSpan],
        annual: Decimal,
    ) -> billing.Computation:
        """`billing.bill_compute` for an account of the tariff and household size,
        memoised on identical inputs (the computation only needs the spans' total once
        none is negative)."""
        tiers = self._tiers.get(tariff_id)
        if tiers is None:
            tariff = Tariff.objects.get(pk=tariff_id)
            tiers = self._tiers[tariff_id] = tuple(services.tier_prices(tariff))
        key = None
        if all(span.volume >= 0 for span in spans):
            volume = sum((span.volume for span in spans), Decimal(0))
            key = (tariff_id, household, start, end, volume, annual)
            if key in self._computed:
                return self._computed[key]
        try:
            computed = billing.bill_compute(
                period_start=start, period_end=end, spans=spans, tiers=tiers,
                household_size=household, annual_volume_before=annual,
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


LITRE = Decimal("0.001")


def _as_date(value: Any) -> Any:
    """A date from the database (SQLite gives text through a raw cursor)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


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
