"""Map layers: premises at close zoom, open repair cases, and search."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from qingquan.customers.models import Account, Premise
from qingquan.customers.privacy import Kind, may_see
from qingquan.network import graph as network_graph
from qingquan.staff.access import check

# Map layers: premises, repair cases, search ------------------------------------------------
PREMISE_SPAN_DEG = 0.05  # the widest viewport premises are drawn for (about 5 km)
MAX_PREMISES = 3000
MAX_CASES = 2000
MAX_FOUND = 10


class TooWide(Exception):
    """A viewport too wide for the premises layer (422: zoom in)."""

    def __init__(self) -> None:
        self.message = _("Zoom in: premises are drawn for a view at most %(deg)s° wide.") % {
            "deg": PREMISE_SPAN_DEG
        }
        super().__init__(self.message)


def premises_geojson(
    *, user: Any, bbox: tuple[float, float, float, float], limit: int = MAX_PREMISES
) -> dict[str, Any]:
    """The premises inside a close viewport as points: id, address, network node and
    segment, number of accounts; the customers' names only for roles that may see names
    (`customers.view`), absent otherwise."""
    check(user, "network.view")
    west, south, east, north = bbox
    if east - west > PREMISE_SPAN_DEG or north - south > PREMISE_SPAN_DEG:
        raise TooWide()
    rows = list(
        Premise.objects.filter(
            longitude__gte=west, longitude__lte=east, latitude__gte=south, latitude__lte=north
        )
        .order_by("pk")
        .values_list(
            "pk",
            "address",
            "longitude",
            "latitude",
            "network_connection__node__eid",
            "network_connection__node__segment",
        )[:limit]
    )
    ids = [r[0] for r in rows]
    accounts: dict[int, int] = {}
    names: dict[int, list[str]] = {}
    with_names = may_see(user, Kind.NAME)
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        for premise_id, name in Account.objects.filter(premise_id__in=chunk).values_list(
            "premise_id", "customer__name"
        ):
            accounts[premise_id] = accounts.get(premise_id, 0) + 1
            if with_names and name not in names.setdefault(premise_id, []):
                names[premise_id].append(name)
    features = []
    for pk, address, lon, lat, node, segment in rows:
        properties: dict[str, Any] = {
            "layer": "premise",
            "id": pk,
            "address": address,
            "node": node,
            "segment": segment,
            "accounts": accounts.get(pk, 0),
        }
        if with_names:
            properties["customers"] = names.get(pk, [])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features, "truncated": len(rows) >= limit}


def repair_cases_geojson(*, user: Any, limit: int = MAX_CASES) -> dict[str, Any]:
    """The open repair cases the reader may see (`tickets.selectors.tickets_visible_to`)
    as points. Cases carry no coordinates of their own: each is placed at its premise, or
    at its account's premise; cases with neither are left out (`unplaced` counts them).
    A case other cases were merged into is an incident (`incident`, `merged`)."""
    from django.urls import reverse

    from qingquan.tickets.models import TicketState
    from qingquan.tickets.selectors import tickets_visible_to

    check(user, "network.view")
    cases = (
        tickets_visible_to(user)
        .open()
        .filter(Q(kind__code="repair") | Q(kind__parent__code="repair"))
        .annotate(
            lon=Coalesce("premise__longitude", "account__premise__longitude"),
            lat=Coalesce("premise__latitude", "account__premise__latitude"),
            merged=Count("children"),
        )
        .order_by("-created_at")
    )
    placed = cases.exclude(lon=None).exclude(lat=None)
    features = []
    for number, kind, state, created, address, lon, lat, merged in placed.values_list(
        "number", "kind__name", "state", "created_at", "address", "lon", "lat", "merged"
    )[:limit]:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "layer": "case",
                    "number": number,
                    "kind": kind,
                    "state": state,
                    "state_label": str(TicketState(state).label),
                    "created_at": created.isoformat(),
                    "address": address,
                    "incident": merged > 0,
                    "merged": merged,
                    "url": reverse("tickets:detail", args=[number]),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "unplaced": cases.filter(Q(lon=None) | Q(lat=None)).count(),
    }


@dataclass
class Found:
    """A premise found by address or account number, with its place on the network."""

    premise: int
    address: str
    lon: float
    lat: float
    account: str
    node: str | None
    segment: int | None
    segment_pipes: list[str]


def search(*, user: Any, query: str) -> list[Found]:
    """Premises by account number (digits: exact) or by address (every word must be in
    it), with coordinates; each with its junction and its segment's pipes."""
    check(user, "network.view")
    text = " ".join((query or "").split())[:100]
    if len(text) < 2:
        return []
    premises = Premise.objects.exclude(longitude=None).exclude(latitude=None)
    account = ""
    if text.isdigit():
        premises = premises.filter(accounts__number=text)
        account = text
    else:
        for word in text.split(" "):
            premises = premises.filter(address__contains=word)
    rows = list(
        premises.order_by("address", "pk").values_list(
            "pk",
            "address",
            "longitude",
            "latitude",
            "network_connection__node__eid",
            "network_connection__node__segment",
        )[:MAX_FOUND]
    )
    g = network_graph.current()
    found = []
    for pk, address, lon, lat, node, segment in rows:
        if lon is None or lat is None:  # excluded above; for the type checker
            continue
        pipes = [g.pipe_eid[i] for i in g.seg_pipes.get(segment, [])] if segment else []
        found.append(Found(pk, address, lon, lat, account, node, segment, pipes))
    return found
