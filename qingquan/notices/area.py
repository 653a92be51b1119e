"""The area of a notice: the accounts it covers now (from a pipe's isolation plan and its
hydraulic run, streets and communities, a list of accounts or a polygon), their mobile
numbers, and the checks of an area before a notice is saved."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from qingquan.customers.models import Account, PhoneLabel, Premise
from qingquan.notices.models import AreaSource, Notice


@dataclass
class Affected:
    """The accounts a notice's area covers: (id, number, premise, customer, district,
    street, critical kind, low pressure only)."""

    rows: list[tuple[Any, ...]]
    low_pressure_accounts: int = 0


def area_errors(notice: Notice) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    area = notice.area or {}
    if notice.area_source == AreaSource.PLAN:
        if not notice.pipe.strip():
            errors["pipe"] = [_("Name the pipe whose isolation plan gives the area.")]
        else:
            from qingquan.core.actors import SYSTEM
            from qingquan.network.selectors import NotFound, isolation_plan

            try:
                isolation_plan(user=SYSTEM, pipe=notice.pipe.strip(), counts=False)
            except NotFound as exc:
                errors["pipe"] = [exc.message]
    elif notice.area_source == AreaSource.STREETS:
        if not (area.get("streets") or area.get("communities")):
            errors["area"] = [_("Choose at least one street or community.")]
    elif notice.area_source == AreaSource.ACCOUNTS:
        numbers = [str(n).strip() for n in area.get("accounts", []) if str(n).strip()]
        if not numbers:
            errors["area"] = [_("Give at least one account number.")]
        else:
            known = set(Account.objects.filter(number__in=numbers).values_list("number", flat=True))
            unknown = [n for n in numbers if n not in known]
            if unknown:
                errors["area"] = [
                    _("Unknown account numbers: %(numbers)s") % {"numbers": ", ".join(unknown[:10])}
                ]
    elif notice.area_source == AreaSource.POLYGON:
        if _polygon(area) is None:
            errors["area"] = [
                _("Draw a polygon of at least three points (longitude, latitude in degrees).")
            ]
    else:
        errors["area_source"] = [_("Choose where the area comes from.")]
    return errors


def _polygon(area: dict[str, Any]) -> list[tuple[float, float]] | None:
    """The area's polygon as (lon, lat) pairs, or None when it is not one."""
    try:
        points = [(float(p[0]), float(p[1])) for p in area.get("polygon") or []]
    except (TypeError, ValueError, IndexError):
        return None
    if len(points) < 3 or len(points) > 2000:
        return None
    if not all(-180 <= lon <= 180 and -90 <= lat <= 90 for lon, lat in points):
        return None
    return points


def _inside_polygon(accounts: Any, points: list[tuple[float, float]]) -> Any:
    """The accounts whose premise lies inside the polygon (bounding box in the database,
    the exact test with matplotlib's Path)."""
    from matplotlib.path import Path as Polygon

    lons, lats = [p[0] for p in points], [p[1] for p in points]
    candidates = list(
        Premise.objects.filter(
            longitude__gte=min(lons),
            longitude__lte=max(lons),
            latitude__gte=min(lats),
            latitude__lte=max(lats),
        ).values_list("pk", "longitude", "latitude")
    )
    if not candidates:
        return accounts.none()
    # The box filter leaves no premise without coordinates.
    inside = Polygon(points).contains_points([(c[1] or 0.0, c[2] or 0.0) for c in candidates])
    ids = [c[0] for c, ok in zip(candidates, inside, strict=True) if ok]
    return accounts.filter(premise_id__in=ids)


def _plan_segments(pipe: str) -> tuple[list[int], list[str]]:
    """The affected segments of a pipe's plan and the low-pressure junctions of its
    finished hydraulic run (none when no run finished)."""
    from qingquan.core.actors import SYSTEM
    from qingquan.network.models import RunStatus
    from qingquan.network.selectors import hydraulic_for_plan, isolation_plan

    plan = isolation_plan(user=SYSTEM, pipe=pipe, counts=False)
    run = hydraulic_for_plan(user=SYSTEM, plan=plan)
    low = [r[0] for r in run.low_junctions] if run and run.status == RunStatus.DONE else []
    return list(plan.isolation.affected_segments), low


COLUMNS = (
    "pk",
    "number",
    "premise_id",
    "customer_id",
    "premise__district__name",
    "premise__street__name",
    "customer__critical_kind",
)


def affected(notice: Notice) -> Affected:
    """The active accounts inside the notice's area now (read, no lock)."""
    accounts = Account.objects.active()
    if notice.area_source == AreaSource.PLAN:
        segments, low = _plan_segments(notice.pipe.strip())
        inside = list(
            accounts.filter(premise__network_connection__node__segment__in=segments)
            .order_by()
            .values_list(*COLUMNS)
        )
        rows = [(*r, False) for r in inside]
        lows = 0
        if low and notice.include_low_pressure:
            seen = {r[0] for r in inside}
            for r in (
                accounts.filter(premise__network_connection__node__eid__in=low)
                .order_by()
                .values_list(*COLUMNS)
            ):
                if r[0] not in seen:
                    rows.append((*r, True))
                    lows += 1
        return Affected(rows, lows)
    area = notice.area or {}
    if notice.area_source == AreaSource.STREETS:
        q = Q(premise__street_id__in=area.get("streets") or []) | Q(
            premise__community_id__in=area.get("communities") or []
        )
        qs = accounts.filter(q)
    elif notice.area_source == AreaSource.POLYGON:
        qs = _inside_polygon(accounts, _polygon(area) or [])
    else:
        qs = accounts.filter(number__in=[str(n).strip() for n in area.get("accounts", [])])
    return Affected([(*r, False) for r in qs.order_by().values_list(*COLUMNS)])


_MOBILES = (
    "SELECT customer_id, number FROM customers_customerphone WHERE {where} "
    "AND (label = %s OR number LIKE %s) ORDER BY customer_id, is_primary DESC, id"
)


def mobiles(customer_ids: set[int]) -> dict[int, str]:
    """Each customer's mobile number (the primary one first), E.164. Plain SQL in chunks
    of 20,000 ids with one array parameter on PostgreSQL (`bulkload.any_of`): the ORM's
    `__in` spent longer building 200,000 parameters than the database reading them."""
    from django.db import connection

    from qingquan.core.db import bulkload

    found: dict[int, str] = {}
    ids = sorted(customer_ids)
    step = 20_000 if connection.vendor == "postgresql" else 5_000
    with connection.cursor() as cursor:
        for start in range(0, len(ids), step):
            where, params = bulkload.any_of("customer_id", ids[start : start + step])
            cursor.execute(_MOBILES.format(where=where), [*params, str(PhoneLabel.MOBILE), "+861%"])
            for customer_id, number in cursor.fetchall():
                found.setdefault(customer_id, number)
    return found


def area_text(notice: Notice, rows: list[tuple[Any, ...]]) -> str:
    if notice.area_text.strip():
        return notice.area_text.strip()[:500]
    streets = Counter(f"{r[4] or ''}{r[5] or ''}" for r in rows)
    return "、".join(name for name, _n in streets.most_common(6) if name)[:500]
