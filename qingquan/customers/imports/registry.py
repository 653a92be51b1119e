"""The registry files in chunks: customers (with their phones), premises, accounts and
meters, each row checked as the model's `full_clean()` would check it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import system
from qingquan.customers import ids, phones, services
from qingquan.customers.imports.rows import (
    DEFAULT_TARIFF,
    PERSON,
    RESIDENTIAL,
    Chunk,
    ImportReport,
    RowError,
    RowProblem,
    _bool,
    _checked,
    _date,
    _decimal,
    _fail,
    _found,
    _ids,
    _not_one_of,
    _optional_float,
    _Rules,
)
from qingquan.customers.models import (
    Account,
    AccountKind,
    Customer,
    CustomerKind,
    Meter,
    Premise,
)

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
        uscc, id_number = _identifiers(kind == organisation, uscc, id_number)
        numbers = _phone_numbers(row.get("phones") or "")
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


def _identifiers(organisation: bool, uscc: str, id_number: str) -> tuple[str, str]:
    """`Customer.clean()`: an organisation has a unified social credit code and no
    resident ID number, a person no code; both numbers checked and normalised."""
    errors: dict[str, list[str]] = {}
    if organisation:
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
    return uscc, id_number


def _phone_numbers(text: str) -> list[tuple[str, str]]:
    """The (E.164, national digits) of the ";"-separated numbers, as `phone_add` takes
    them: each normalised (`phones.normalise_fast`), none twice."""
    numbers: list[tuple[str, str]] = []
    for raw in text.split(";"):
        if not raw.strip():
            continue
        try:
            e164, digits = phones.normalise_fast(raw)
        except ValidationError as exc:
            raise ValidationError({"number": exc.messages}) from exc
        if any(n == e164 for n, _d in numbers):
            raise ValidationError(
                {"number": _("This customer already has the number %(n)s.") % {"n": e164}}
            )
        numbers.append((e164, digits))
    return numbers


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
