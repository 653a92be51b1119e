"""Every write to the customer registry and the bills, each one audited.

Views, the API, the admin and the importers call these; nothing else saves these models.
Bad input raises django.core.exceptions.ValidationError with a message for a person.

The package, by concern (callers import from `qingquan.customers.services`):
- `registry`: customers and their phones, premises, accounts, meters;
- `readings`: meter readings and the rule that flags a suspicious one;
- `bills`: the meters' spans and the year's volume (pure `meter_spans_of` and
  `annual_volume_of`, shared with the CSV import), bills and payments;
- `invoicing`: electronic invoices and paper copies by courier;
- `imported`: the CSV import's bulk writes (`customers.imports`).
"""

from __future__ import annotations

from qingquan.customers.services.bills import (
    BILL_DUE_DAYS,
    MeterPeriod,
    annual_volume_before,
    annual_volume_of,
    bill_cancel,
    bill_issue,
    bill_preview,
    meter_spans,
    meter_spans_of,
    payment_record,
    payment_refund,
    payment_reverse,
    tier_prices,
)
from qingquan.customers.services.imported import bills_import, registry_rows_import
from qingquan.customers.services.invoicing import (
    PAPER_INVOICE_FEE_PERSON,
    invoice_issue,
    paper_invoice_advance,
    paper_invoice_request,
)
from qingquan.customers.services.readings import (
    ABSURD_FACTOR,
    ABSURD_FLOOR_M3_PER_DAY,
    Q3_BY_SIZE_MM,
    ReadingFlagged,
    reading_clear_flag,
    reading_flag_reason,
    reading_record,
)
from qingquan.customers.services.registry import (
    ACCOUNT_FIELDS,
    CUSTOMER_FIELDS,
    METER_FIELDS,
    PREMISE_FIELDS,
    account_create,
    account_update,
    customer_create,
    customer_update,
    default_label,
    meter_create,
    meter_replace,
    phone_add,
    phone_remove,
    premise_create,
    premise_update,
)

__all__ = [
    "ABSURD_FACTOR",
    "ABSURD_FLOOR_M3_PER_DAY",
    "ACCOUNT_FIELDS",
    "BILL_DUE_DAYS",
    "CUSTOMER_FIELDS",
    "METER_FIELDS",
    "PAPER_INVOICE_FEE_PERSON",
    "PREMISE_FIELDS",
    "Q3_BY_SIZE_MM",
    "MeterPeriod",
    "ReadingFlagged",
    "account_create",
    "account_update",
    "annual_volume_before",
    "annual_volume_of",
    "bill_cancel",
    "bill_issue",
    "bill_preview",
    "bills_import",
    "customer_create",
    "customer_update",
    "default_label",
    "invoice_issue",
    "meter_create",
    "meter_replace",
    "meter_spans",
    "meter_spans_of",
    "paper_invoice_advance",
    "paper_invoice_request",
    "payment_record",
    "payment_refund",
    "payment_reverse",
    "phone_add",
    "phone_remove",
    "premise_create",
    "premise_update",
    "reading_clear_flag",
    "reading_flag_reason",
    "reading_record",
    "registry_rows_import",
    "tier_prices",
]
