"""A realistic synthetic city: customers, premises, accounts, meters, monthly readings,
bills priced by the real computation, and payments. Used by the demo (a few thousand
customers) and by `generate_city` for load tests (up to a million accounts).

It writes in batches (COPY on PostgreSQL, executemany on SQLite), one transaction per
batch, so memory stays flat and an interrupted run keeps whole batches only. Amounts
come from `billing.bill_compute`, so generated bills obey the same tier rules as issued
ones. One audit event per run says what was generated; the individual rows are synthetic
and have no history of their own.

The package, by concern (callers import from `qingquan.customers.generator`):
- `city`: `generate_city`;
- `words`: names, organisations, roads, the months;
- `plan`: what every batch shares (districts, tariffs, months);
- `rows`: one batch's rows in memory;
- `pipeline`: the batches, made here or in a child process while this one writes;
- `tables`: the bulk writes and the ids.
"""

from __future__ import annotations

from qingquan.customers.generator.city import generate_city
from qingquan.customers.generator.tables import HOUSEHOLDS
from qingquan.customers.generator.words import (
    ACCOUNT_BASE,
    CHANNELS,
    GIVEN,
    MOBILE_PREFIXES,
    ORG_FORMS,
    ORG_STEMS,
    ORG_TRADES,
    ORGANISATION_SHARE,
    ROADS,
    SURNAMES,
    UNPAID_SHARE,
    GenerateResult,
    Progress,
)

__all__ = [
    "ACCOUNT_BASE",
    "CHANNELS",
    "GIVEN",
    "HOUSEHOLDS",
    "MOBILE_PREFIXES",
    "ORGANISATION_SHARE",
    "ORG_FORMS",
    "ORG_STEMS",
    "ORG_TRADES",
    "ROADS",
    "SURNAMES",
    "UNPAID_SHARE",
    "GenerateResult",
    "Progress",
    "generate_city",
]
