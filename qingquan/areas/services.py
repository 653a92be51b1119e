"""Writes to the area tables (seeding; back-office edits use the audited reference services)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from qingquan.areas import ningbo
from qingquan.areas.models import Community, District, Street
from qingquan.core.actors import SEED
from qingquan.core.audit import audit_record

COMMUNITIES_PER_STREET = 3


@transaction.atomic
def areas_seed_ningbo(*, actor: Any = SEED) -> int:
    """Load Ningbo's districts, streets and demo communities; returns communities created.

    Idempotent: running it again creates nothing new.
    """
    created = 0
    stems = ningbo.COMMUNITY_STEMS
    stem_index = 0
    for code, name, lat, lon, streets in ningbo.DISTRICTS:
        district, _ = District.objects.get_or_create(
            code=code, defaults={"name": name, "latitude": lat, "longitude": lon}
        )
        for street_name in streets:
            street, _ = Street.objects.get_or_create(district=district, name=street_name)
            for _n in range(COMMUNITIES_PER_STREET):
                stem = stems[stem_index % len(stems)]
                stem_index += 1
                _c, was_created = Community.objects.get_or_create(street=street, name=f"{stem}社区")
                created += was_created
    if created:
        first = District.objects.order_by("code").first()
        if first is not None:
            audit_record(
                actor=actor,
                action="areas.seed",
                obj=first,
                after={"communities_created": created},
                note="Ningbo districts, streets and communities loaded",
            )
    return created
