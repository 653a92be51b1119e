"""Reads of notices: staff lists and pages (notices.view), the public list (no login,
nothing personal), the active notice at a caller's premises (screen pop, IVR), and the
sending progress of a version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from qingquan.messaging.models import Message, MessageStatus, Receipt
from qingquan.notices.models import (
    Notice,
    NoticeRecipient,
    NoticeStatus,
    NoticeVersion,
)
from qingquan.notices.services import SOURCE
from qingquan.staff.access import check

PUBLIC_PAGE = 50


def notices_for_staff(*, user: Any, status: str = "", text: str = "") -> QuerySet[Notice]:
    check(user, "notices.view")
    qs = Notice.objects.all()
    if status:
        qs = qs.filter(status=status)
    if text.strip():
        t = text.strip()
        qs = qs.filter(Q(number__icontains=t) | Q(title__icontains=t) | Q(area_text__icontains=t))
    return qs


def notice_for_staff(*, user: Any, pk: int) -> Notice:
    check(user, "notices.view")
    return Notice.objects.get(pk=pk)


def _current_versions(notices: QuerySet[Notice]) -> QuerySet[NoticeVersion]:
    return NoticeVersion.objects.filter(notice__in=notices, number=F("notice__version"))


def active_for(
    *,
    premise_ids: list[int] | None = None,
    account_ids: list[int] | None = None,
    phone: str = "",
    account: str = "",
) -> list[Notice]:
    """The active notices (published, not yet restored) whose current version reaches one
    of these premises, this phone number (E.164) or this account number; most recent
    start first. No access check: callers check (the screen pop, the IVR API)."""
    parts = []
    if premise_ids:
        parts.append(Q(premise_id__in=premise_ids))
    if account_ids:
        parts.append(Q(account_id__in=account_ids))
    if phone:
        parts.append(Q(phone=phone))
    if account:
        parts.append(Q(account_number=account))
    if not parts:
        return []
    versions = _current_versions(Notice.objects.active())
    # One query per kind of key, each on its own index: with the keys OR-ed, SQLite read
    # every recipient of the active versions (200,000 for a large notice) for each lookup.
    notice_ids: set[int] = set()
    for part in parts:
        notice_ids.update(
            NoticeRecipient.objects.filter(part, version__in=versions).values_list(
                "version__notice_id", flat=True
            )
        )
    if not notice_ids:
        return []
    return list(Notice.objects.filter(pk__in=notice_ids).order_by("-starts_at"))


def public_notices(*, street: str = "", account: str = "", status: str = "") -> QuerySet[Notice]:
    """Published notices for the public (no login): searchable by street name or account
    number (the account number finds the notices whose current version reaches it)."""
    qs = Notice.objects.public()
    if status == "active":
        qs = qs.filter(status=NoticeStatus.PUBLISHED)
    if street.strip():
        qs = qs.filter(area_text__icontains=street.strip()[:40])
    if account.strip():
        versions = _current_versions(qs)
        ids = NoticeRecipient.objects.filter(
            account_number=account.strip()[:20], version__in=versions
        ).values_list("version__notice_id", flat=True)
        qs = qs.filter(pk__in=list(ids))
    return qs.order_by("-starts_at", "-pk")


@dataclass
class Progress:
    total: int
    pending: int
    retrying: int
    sending: int
    sent: int
    delivered: int
    failed: int
    suppressed: int
    last_error: str = ""

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.suppressed

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def progress(version: NoticeVersion | None) -> Progress:
    """How far the messages of a version got (one aggregate query)."""
    if version is None:
        return Progress(0, 0, 0, 0, 0, 0, 0, 0)
    qs = Message.objects.of(SOURCE, version.pk)
    c = qs.aggregate(
        total=Count("pk"),
        pending=Count("pk", filter=Q(status=MessageStatus.PENDING, attempts=0)),
        retrying=Count("pk", filter=Q(status=MessageStatus.PENDING, attempts__gt=0)),
        sending=Count("pk", filter=Q(status=MessageStatus.SENDING)),
        sent=Count("pk", filter=Q(status=MessageStatus.SENT)),
        delivered=Count("pk", filter=Q(receipt=Receipt.DELIVERED)),
        failed=Count("pk", filter=Q(status=MessageStatus.FAILED)),
        suppressed=Count("pk", filter=Q(status=MessageStatus.SUPPRESSED)),
    )
    error = ""
    if c["retrying"]:
        error = (
            qs.filter(status=MessageStatus.PENDING, attempts__gt=0)
            .exclude(last_error="")
            .values_list("last_error", flat=True)
            .first()
            or ""
        )
    return Progress(**{k: c[k] or 0 for k in c}, last_error=error)


def critical_of(version: NoticeVersion, limit: int = 100) -> list[NoticeRecipient]:
    """The critical customers of a version (most endangered kinds first), to phone."""
    from qingquan.customers.models import CriticalKind

    order = {k: i for i, k in enumerate(CriticalKind.values)}
    rows = list(
        NoticeRecipient.objects.filter(version=version).exclude(critical_kind="")[: limit * 2]
    )
    rows.sort(key=lambda r: (order.get(r.critical_kind, 99), r.account_number))
    return rows[:limit]


def active_for_case(
    *, customer: Any = None, account: Any = None, premise: Any = None, phone: str = ""
) -> list[Notice]:
    """The active notices of a caller identified on the case form: the premise, the
    account, every account of the customer, and the number they call from."""
    from qingquan.customers import phones
    from qingquan.customers.models import Account

    account_ids = [account.pk] if account is not None else []
    if customer is not None:
        account_ids += list(Account.objects.filter(customer=customer).values_list("pk", flat=True))
    normalised = phones.try_normalise(phone) if phone.strip() else None
    return active_for(
        premise_ids=[premise.pk] if premise is not None else None,
        account_ids=account_ids or None,
        phone=normalised[0] if normalised else "",
    )


def active_for_pop(pop: Any) -> list[Notice]:
    """The active notices of a screen pop: its customers' accounts and the caller's
    number (an unknown caller whose number a notice reached)."""
    from qingquan.customers import phones

    account_ids = [a.id for c in pop.customers for a in c.accounts]
    number = ""
    if pop.number:
        normalised = phones.try_normalise(pop.number)
        number = normalised[0] if normalised else ""
    found = active_for(account_ids=account_ids, phone=number)
    if found and account_ids:
        # Each customer card's interruption slot (customers.selectors.CustomerView).
        reached = set(
            NoticeRecipient.objects.filter(
                account_id__in=account_ids, version__in=_current_versions(Notice.objects.active())
            ).values_list("account_id", "version__notice_id")
        )
        by_id = {n.pk: n for n in found}
        for c in pop.customers:
            ids = {a.id for a in c.accounts}
            c.interruptions = [
                f"{by_id[nid].get_kind_display()}：{by_id[nid].title}"
                for nid in sorted({nid for aid, nid in reached if aid in ids and nid in by_id})
            ]
    return found


# The public map --------------------------------------------------------------------------
GRID = 1000  # coordinates snapped to 0.001° (about 100 m): an area, never a home


def _hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull of `points` (Andrew's monotone chain), counter-clockwise."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _snapped_premises(version_id: int) -> list[tuple[float, float]]:
    """The (lon, lat) grid cells holding the version's premises (one query, distinct)."""
    from django.db.models import IntegerField
    from django.db.models.functions import Cast

    from qingquan.customers.models import Premise

    cells = (
        Premise.objects.filter(
            pk__in=NoticeRecipient.objects.filter(version_id=version_id).values("premise_id"),
            longitude__isnull=False,
            latitude__isnull=False,
        )
        .annotate(
            x=Cast(F("longitude") * GRID, IntegerField()),
            y=Cast(F("latitude") * GRID, IntegerField()),
        )
        .values_list("x", "y")
        .distinct()
        .order_by()
    )
    return [(x / GRID, y / GRID) for x, y in cells]


def area_geometry(notice: Notice) -> dict[str, Any] | None:
    """The public shape of a notice's area as a GeoJSON geometry: the polygon drawn for
    it, or the convex hull of its current version's premises snapped to a 100 m grid (a
    point when they fill fewer than three cells); None without coordinates. Cached per
    version: a version never changes."""
    from django.core.cache import cache

    if notice.area_source == "polygon":
        points = [[float(p[0]), float(p[1])] for p in (notice.area or {}).get("polygon") or []]
        if len(points) >= 3:
            return {"type": "Polygon", "coordinates": [[*points, points[0]]]}
    version = notice.current
    if version is None:
        return None
    key = f"notices:area:{version.pk}"
    found = cache.get(key)
    if found is None:
        hull = _hull(_snapped_premises(version.pk))
        if not hull:
            found = {}
        elif len(hull) < 3:
            lon = sum(p[0] for p in hull) / len(hull)
            lat = sum(p[1] for p in hull) / len(hull)
            found = {"type": "Point", "coordinates": [round(lon, 4), round(lat, 4)]}
        else:
            ring = [[p[0], p[1]] for p in hull]
            found = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
        cache.set(key, found, 24 * 3600)
    return found or None


def public_map(notices: list[Notice]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of these notices' areas for the public map: number,
    title, kind, status and dates (nothing personal)."""
    from django.urls import reverse

    features = []
    for n in notices:
        geometry = area_geometry(n)
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": geometry,
                "properties": {
                    "number": n.number,
                    "title": f"{n.get_kind_display()}：{n.title}",
                    "kind": n.kind,
                    "active": n.status == NoticeStatus.PUBLISHED,
                    "when": f"{_local(n.starts_at)} — {_local(n.expected_end_at)}",
                    "url": reverse("public_notices:detail", args=[n.number]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _local(at: Any) -> str:
    from qingquan.core import clock

    return str(at.astimezone(clock.SHANGHAI).strftime("%m-%d %H:%M"))
