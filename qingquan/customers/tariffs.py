"""The standard tariffs: Ningbo's 2024 water prices as seed data (editable in the admin).

Residential water is priced in three tiers of ANNUAL volume (阶梯水价): up to 216 m³,
216–300 m³, above 300 m³, each bound raised by 54 / 75 m³ per person for households of 5
or more; the sewage treatment fee is charged per m³ on top. Other kinds pay a flat price.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from qingquan.customers.models import AccountKind, Tariff, TariffTier

START = dt.date(2020, 1, 1)

TierRow = tuple[str | None, str, str, str]
STANDARD: list[tuple[str, str, str, list[TierRow]]] = [
    # code, name, kind, [(upper, extra per person, price, sewage)]
    ("residential", "居民生活用水", AccountKind.RESIDENTIAL, [
        ("216", "54", "2.05", "0.95"),
        ("300", "75", "3.08", "0.95"),
        (None, "0", "6.15", "0.95"),
    ]),
    ("non-residential", "非居民用水", AccountKind.NON_RESIDENTIAL, [(None, "0", "3.85", "1.40")]),
    ("special", "特种用水", AccountKind.SPECIAL, [(None, "0", "9.60", "1.40")]),
]  # fmt: skip


@transaction.atomic
def tariffs_seed(*, effective_from: dt.date = START) -> dict[str, Tariff]:
    """Create the standard tariffs if missing; returns them by code. Idempotent."""
    result: dict[str, Tariff] = {}
    for code, name, kind, tiers in STANDARD:
        tariff, created = Tariff.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind}
        )
        if created:
            TariffTier.objects.bulk_create(
                TariffTier(
                    tariff=tariff,
                    number=index,
                    upper_m3=Decimal(upper) if upper else None,
                    extra_per_person_m3=Decimal(extra),
                    price=Decimal(price),
                    sewage_fee=Decimal(sewage),
                    effective_from=effective_from,
                )
                for index, (upper, extra, price, sewage) in enumerate(tiers, start=1)
            )
        result[code] = tariff
    return result
