"""The CSV import's writes (`customers.imports`): new rows of the registry and bills in
bulk (`core.db.bulkload`), one audit event per table and chunk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction

from qingquan.core.audit import audit_record
from qingquan.core.db import bulkload
from qingquan.customers import billing
from qingquan.customers.models import (
    Bill,
    BillLine,
    CustomerPhone,
    Payment,
    PaymentChannel,
)
from qingquan.customers.services.registry import default_label


@transaction.atomic
def registry_rows_import(
    *,
    actor: Any,
    model: type[Any],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    phones: Sequence[tuple[int, str, str, bool]] = (),
) -> list[int]:
    """Write new rows of one registry table (customers with their phones, premises,
    accounts, meters, readings) in one bulk write, with one audit event listing them.

    For the CSV importer, which has checked every row by its model's rules and looked up
    references and duplicates for the chunk: `rows` are values of `columns` (attnames, no
    "id"); `phones` are (index of the customer's row, E.164, national digits, primary).
    Ids come from `core.db.bulkload.take_ids`, safe while the platform is live. Audit: one
    "customers.<model>.import" event per call, with the count and ids; returns the ids.
    """
    if not rows:
        return []
    ids = bulkload.take_ids(model, len(rows))
    bulkload.insert_rows(
        model, ["id", *columns], [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
    )
    if phones:
        phone_ids = bulkload.take_ids(CustomerPhone, len(phones))
        bulkload.insert_rows(
            CustomerPhone,
            ["id", "customer_id", "number", "national_digits", "label", "is_primary"],
            [
                (pk, ids[index], number, digits, str(default_label(number)), primary)
                for pk, (index, number, digits, primary) in zip(phone_ids, phones, strict=True)
            ],
        )
    first = model(id=ids[0], **dict(zip(columns, rows[0], strict=True)))
    audit_record(
        actor=actor,
        action=f"customers.{model._meta.model_name}.import",
        obj=first,
        after={"count": len(rows), "ids": ids, "phones": len(phones)},
        note="CSV import",
    )
    return ids


@transaction.atomic
def bills_import(
    *,
    actor: Any,
    columns: Sequence[str],
    bills: Sequence[tuple[Any, ...]],
    lines: Sequence[Sequence[billing.Line]],
    payments: Sequence[tuple[int, Decimal, dt.datetime]] = (),
) -> list[int]:
    """Write imported bills (values of `columns`) with their lines, and the payments made
    on them ((index of the bill, amount, paid at), referenced IMPORT-<bill id> on the bank
    channel, as `payment_record` would), one bulk write per table.

    For the CSV importer, which priced each bill with `billing.bill_compute` from the same
    inputs `bill_issue` gathers. Audit: one "customers.bill.import" event per call (count and
    ids) and one "customers.payment.import" event when there are payments; returns the ids.
    """
    ids = registry_rows_import(actor=actor, model=Bill, columns=columns, rows=bills)
    flat = [(ids[i], ln) for i, bill_lines in enumerate(lines) for ln in bill_lines]
    line_ids = bulkload.take_ids(BillLine, len(flat))
    bulkload.insert_rows(
        BillLine,
        ["id", "bill_id", "kind", "tier", "start", "end", "volume", "unit_price", "amount"],
        [
            (pk, bill, ln.kind, ln.tier, ln.start, ln.end, ln.volume, ln.unit_price, ln.amount)
            for pk, (bill, ln) in zip(line_ids, flat, strict=True)
        ],
    )
    if payments:
        rows = [
            (ids[i], amount, PaymentChannel.BANK.value, paid_at, f"IMPORT-{ids[i]}")
            for i, amount, paid_at in payments
        ]
        registry_rows_import(
            actor=actor,
            model=Payment,
            columns=["bill_id", "amount", "channel", "paid_at", "reference"],
            rows=rows,
        )
    return ids
