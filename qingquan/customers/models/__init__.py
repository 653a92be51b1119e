"""The customer registry and water bills.

A customer (person or organisation) holds accounts (户号); an account supplies one premise
through meters whose readings are billed by a tariff. Payments settle bills; paid bills get
electronic invoices, and paper copies on request. Money has 2 decimal places, volumes 3.

The package, by concern (every model is imported here, so callers and migrations keep
`qingquan.customers.models`):
- `registry`: customers, phones, premises;
- `accounts`: tariffs and tiers, accounts, meters;
- `bills`: readings, bills and lines, payments, invoices, paper invoice requests;
- `disclosures`: disclosures of personal data.
"""

from __future__ import annotations

from qingquan.customers.models.accounts import (
    Account,
    AccountKind,
    AccountQuerySet,
    AccountStatus,
    Meter,
    MeterQuerySet,
    Tariff,
    TariffTier,
    TariffTierQuerySet,
)
from qingquan.customers.models.bills import (
    Bill,
    BillLine,
    BillLineKind,
    BillQuerySet,
    BillStatus,
    Invoice,
    MeterReading,
    MeterReadingQuerySet,
    PaperInvoiceRequest,
    PaperInvoiceStatus,
    Payment,
    PaymentChannel,
    ReadingSource,
)
from qingquan.customers.models.disclosures import Disclosure, PersonalKind
from qingquan.customers.models.registry import (
    ZERO_MONEY,
    CriticalKind,
    Customer,
    CustomerKind,
    CustomerPhone,
    PhoneLabel,
    Premise,
)

__all__ = [
    "ZERO_MONEY",
    "Account",
    "AccountKind",
    "AccountQuerySet",
    "AccountStatus",
    "Bill",
    "BillLine",
    "BillLineKind",
    "BillQuerySet",
    "BillStatus",
    "CriticalKind",
    "Customer",
    "CustomerKind",
    "CustomerPhone",
    "Disclosure",
    "Invoice",
    "Meter",
    "MeterQuerySet",
    "MeterReading",
    "MeterReadingQuerySet",
    "PaperInvoiceRequest",
    "PaperInvoiceStatus",
    "Payment",
    "PaymentChannel",
    "PersonalKind",
    "PhoneLabel",
    "Premise",
    "ReadingSource",
    "Tariff",
    "TariffTier",
    "TariffTierQuerySet",
]
