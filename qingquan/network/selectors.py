"""Network reads that reach users, each behind `network.view`: the map's GeoJSON, the
isolation plan of a pipe or a point, and the premises and accounts a plan leaves without
water (customers' names only as `customers.privacy.shown` lets the reader see them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from qingquan.customers.models import Account, AccountKind, CriticalKind, Premise
from qingquan.customers.privacy import Kind, may_see, shown
from qingquan.network import graph as network_graph
from qingquan.network import hydraulics
from qingquan.network.models import (
    HydraulicRun,
    NetworkImport,
    Node,
    NodeKind,
    Pipe,
    PremiseConnection,
    Valve,
)
from qingquan.staff.access import check

SNAP_MAX_M = 150.0
MAX_OUTLINES = 40
MAX_CRITICAL = 100  # critical customers listed in a plan (all are counted)


class NotFound(Exception):
    """No such pipe (404)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


class TooFar(Exception):
    """A point farther from every pipe than `SNAP_MAX_M` (422, with the distance)."""

    def __init__(self, distance_m: float) -> None:
        self.distance_m = distance_m
        self.message = _(
            "The point is %(distance)d m from the nearest pipe (at most %(max)d m)."
        ) % {"distance": round(distance_m), "max": round(SNAP_MAX_M)}
        super().__init__(self.message)


@dataclass
class AreaCount:
    district: str
    street: str
    premises: int
    accounts: int


@dataclass
class CriticalRow:
    """A critical customer a plan leaves without water (name as the reader may see it)."""

    kind: str
    kind_label: str
    customer: str
    account: str
    address: str


@dataclass
class Plan:
    """An isolation plan as pages and the API show it."""

    pipe: str
    pipe_diameter_mm: float
    snapped_m: float | None
    isolation: network_graph.Isolation
    graph: network_graph.NetworkGraph
    premises: int = 0
    accounts: int = 0
    care_customers: int = 0
    non_residential_accounts: int = 0
    by_area: list[AreaCount] = field(default_factory=list)
    critical: list[CriticalRow] = field(default_factory=list)
    critical_count: int = 0

    @property
    def valves_to_close(self) -> list[network_graph.ValveInfo]:
        return self.isolation.valves_to_close

    @property
    def no_valves(self) -> bool:
        return not self.isolation.valves_to_close

    @property
    def whole_zone(self) -> bool:
        """No valve between the pipe and a source, or none around it at all: closing it
        means shutting the whole zone."""
        return self.isolation.contains_source or self.no_valves

    @property
    def segment_pipes(self) -> int:
        return len(self.isolation.segment_pipes)

    @property
    def segment_junctions(self) -> int:
        return len(self.isolation.segment_nodes)

    @property
    def segment_length_m(self) -> float:
        return float(self.graph.pipe_length[self.isolation.segment_pipes].sum())

    @property
    def cut_off_junctions(self) -> int:
        return len(self.isolation.cut_off_nodes)

    @property
    def cut_off_pipes(self) -> int:
        return len(self.isolation.cut_off_pipes)


def _connections(plan_segments: list[int]) -> Any:
    return PremiseConnection.objects.filter(node__segment__in=plan_segments)


def isolation_plan(
    *,
    user: Any,
    pipe: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    counts: bool = True,
) -> Plan:
    """The isolation plan of a pipe (by its network id) or of the pipe nearest a point."""
    check(user, "network.view")
    g = network_graph.current()
    if g.empty:
        raise NotFound(_("No pipe network has been imported yet."))
    snapped: float | None = None
    if pipe is not None:
        index = g.pipe_index.get(pipe)
        if index is None:
            raise NotFound(_("There is no pipe %(pipe)s.") % {"pipe": pipe})
    elif lon is not None and lat is not None:
        index, snapped = g.snap(lon, lat)
        if snapped > SNAP_MAX_M:
            raise TooFar(snapped)
    else:
        raise NotFound(_("Name a pipe or a point."))
    iso = network_graph.isolation(g, index)
    diameter = Pipe.objects.filter(pk=int(g.pipe_pk[index])).values_list("diameter_mm", flat=True)
    plan = Plan(
        pipe=g.pipe_eid[index],
        pipe_diameter_mm=float(diameter.first() or 0),
        snapped_m=snapped,
        isolation=iso,
        graph=g,
    )
    if counts:
        _count(plan, user)
    return plan


def _critical(plan: Plan, user: Any, accounts: Any) -> None:
    """The critical customers among the accounts: most endangered kinds first."""
    order = {kind: i for i, kind in enumerate(CriticalKind.values)}
    rows = list(
        accounts.exclude(customer__critical_kind="")
        .select_related("customer", "premise")
        .order_by("premise__address", "number")[: MAX_CRITICAL * 4]
    )
    seen: set[tuple[int, int]] = set()
    found: list[CriticalRow] = []
    for a in rows:
        if (a.customer_id, a.premise_id) in seen:
            continue
        seen.add((a.customer_id, a.premise_id))
        c = a.customer
        found.append(
            CriticalRow(
                kind=c.critical_kind,
                kind_label=str(CriticalKind(c.critical_kind).label),
                customer=shown(c.name, user=user, kind=Kind.NAME, of=c),
                account=a.number,
                address=a.premise.address,
            )
        )
    found.sort(key=lambda r: order.get(r.kind, len(order)))
    plan.critical = found[:MAX_CRITICAL]


def _count(plan: Plan, user: Any) -> None:
    segments = plan.isolation.affected_segments
    plan.premises = _connections(segments).count()
    accounts = Account.objects.filter(premise__network_connection__node__segment__in=segments)
    totals = accounts.aggregate(
        n=Count("pk"),
        care=Count("customer", filter=Q(customer__elderly_or_impaired=True), distinct=True),
        business=Count("pk", filter=~Q(kind=AccountKind.RESIDENTIAL)),
        critical=Count("customer", filter=~Q(customer__critical_kind=""), distinct=True),
    )
    plan.accounts = totals["n"] or 0
    plan.care_customers = totals["care"] or 0
    plan.non_residential_accounts = totals["business"] or 0
    plan.critical_count = totals["critical"] or 0
    if plan.critical_count:
        _critical(plan, user, accounts)
    rows = (
        _connections(segments)
        .values("premise__district__name", "premise__street__name")
        .annotate(premises=Count("premise_id", distinct=True), accounts=Count("premise__accounts"))
        .order_by("-accounts", "premise__district__name", "premise__street__name")
    )
    plan.by_area = [
        AreaCount(
            r["premise__district__name"] or "",
            r["premise__street__name"] or "",
            r["premises"],
            r["accounts"],
        )
        for r in rows
    ]


@dataclass
class AccountRow:
    number: str
    customer: str
    address: str
    district: str
    kind: str
    care: bool
    critical: str = ""  # the kind of critical customer, as a label


def affected_accounts(
    *, user: Any, plan: Plan, page: int = 1, page_size: int = 50
) -> tuple[list[AccountRow], int]:
    """One page of the accounts a plan leaves without water, by address; and the total."""
    check(user, "network.view")
    qs = (
        Account.objects.filter(
            premise__network_connection__node__segment__in=plan.isolation.affected_segments
        )
        .select_related("customer", "premise", "premise__district")
        .order_by("premise__address", "number")
    )
    total = qs.count()
    start = (page - 1) * page_size
    rows = [
        AccountRow(
            number=a.number,
            customer=shown(a.customer.name, user=user, kind=Kind.NAME, of=a.customer),
            address=a.premise.address,
            district=a.premise.district.name,
            kind=str(a.get_kind_display()),
            care=a.customer.elderly_or_impaired,
            critical=(
                str(CriticalKind(a.customer.critical_kind).label)
                if a.customer.critical_kind
                else ""
            ),
        )
        for a in qs[start : start + page_size]
    ]
    return rows, total


# GeoJSON ---------------------------------------------------------------------------------
def _line(start: tuple[float, float], vertices: list[Any], end: tuple[float, float]) -> list[Any]:
    return [list(start), *[[v[0], v[1]] for v in vertices or []], list(end)]


def network_geojson(
    *, user: Any, bbox: tuple[float, float, float, float] | None = None, limit: int = 20_000
) -> dict[str, Any]:
    """Pipes, valves and sources (inside `bbox` = west, south, east, north) as a GeoJSON
    FeatureCollection; pipes carry id, diameter, material, status and kind."""
    check(user, "network.view")
    pipes = Pipe.objects.all()
    valves = Valve.objects.all()
    sources = Node.objects.exclude(kind=NodeKind.JUNCTION)
    if bbox is not None:
        west, south, east, north = bbox
        pipes = pipes.filter(
            min_lon__lte=east, max_lon__gte=west, min_lat__lte=north, max_lat__gte=south
        )
        inside = {
            "longitude__gte": west,
            "longitude__lte": east,
            "latitude__gte": south,
            "latitude__lte": north,
        }
        valves = valves.filter(**inside)
        sources = sources.filter(**inside)
    rows = list(
        pipes.order_by("pk").values_list(
            "eid",
            "diameter_mm",
            "material",
            "status",
            "kind",
            "vertices",
            "start__longitude",
            "start__latitude",
            "end__longitude",
            "end__latitude",
        )[:limit]
    )
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": _line((r[6], r[7]), r[5], (r[8], r[9])),
            },
            "properties": {
                "layer": "pipe",
                "id": r[0],
                "diameter_mm": r[1],
                "material": r[2],
                "status": r[3],
                "kind": r[4],
            },
        }
        for r in rows
    ]
    for eid, state, lon, lat, pipe in valves.order_by("pk").values_list(
        "eid", "state", "longitude", "latitude", "pipe__eid"
    )[:limit]:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"layer": "valve", "id": eid, "state": state, "pipe": pipe},
            }
        )
    for eid, kind, lon, lat in sources.values_list("eid", "kind", "longitude", "latitude"):
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"layer": "source", "id": eid, "kind": kind},
            }
        )
    return {"type": "FeatureCollection", "features": features, "truncated": len(rows) >= limit}


def _outline(lons: np.ndarray, lats: np.ndarray) -> list[list[float]] | None:
    """A polygon ring around points (their convex hull, or a small box)."""
    if len(lons) == 0:
        return None
    points = np.unique(np.column_stack([lons, lats]), axis=0)
    pad = 0.0002
    if len(points) >= 3:
        from scipy.spatial import ConvexHull, QhullError

        try:
            hull = ConvexHull(points)
        except QhullError:
            pass
        else:
            ring = [[float(x), float(y)] for x, y in points[hull.vertices]]
            return [*ring, ring[0]]
    w, s = points.min(axis=0) - pad
    e, n = points.max(axis=0) + pad
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def plan_geojson(plan: Plan) -> dict[str, Any]:
    """The plan drawn: valves to close, the pipes inside and cut off, and outlines."""
    g, iso = plan.graph, plan.isolation
    ids = [int(g.pipe_pk[i]) for i in iso.segment_pipes + iso.cut_off_pipes]
    inside = set(iso.segment_pipes)
    lines = {
        r[0]: r[1:]
        for r in Pipe.objects.filter(pk__in=ids).values_list(
            "pk",
            "eid",
            "vertices",
            "start__longitude",
            "start__latitude",
            "end__longitude",
            "end__latitude",
        )
    }
    features: list[dict[str, Any]] = []
    at = {int(pk): i for i, pk in enumerate(g.pipe_pk.tolist())}
    for pk, (eid, vertices, x1, y1, x2, y2) in lines.items():
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": _line((x1, y1), vertices, (x2, y2)),
                },
                "properties": {
                    "layer": "segment" if at[pk] in inside else "cut_off",
                    "id": eid,
                    "burst": eid == plan.pipe,
                },
            }
        )
    rings = []
    seg_nodes = iso.segment_nodes
    rings.append(("segment", _outline(g.node_lon[seg_nodes], g.node_lat[seg_nodes])))
    for seg in iso.cut_off_segments[:MAX_OUTLINES]:
        nodes = g.seg_nodes.get(seg, [])
        rings.append(("cut_off", _outline(g.node_lon[nodes], g.node_lat[nodes])))
    for layer, ring in rings:
        if ring:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"layer": f"{layer}_area"},
                }
            )
    for role, valves in (("close", iso.valves_to_close), ("inoperable", iso.inoperable)):
        for v in valves:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [v.lon, v.lat]},
                    "properties": {"layer": f"valve_{role}", "id": v.eid, "pipe": v.pipe_eid},
                }
            )
    return {"type": "FeatureCollection", "features": features}


@dataclass
class Summary:
    nodes: int
    junctions: int
    sources: int
    pipes: int
    valves: int
    connected_premises: int
    last_import: NetworkImport | None
    bounds: list[float] | None


def network_summary(*, user: Any) -> Summary:
    """Sizes of the network and its last import (the map page's heading)."""
    check(user, "network.view")
    kinds = dict(Node.objects.values_list("kind").annotate(n=Count("pk")))
    g = network_graph.current()
    bounds = None
    if len(g.node_lon):
        bounds = [
            float(g.node_lon.min()),
            float(g.node_lat.min()),
            float(g.node_lon.max()),
            float(g.node_lat.max()),
        ]
    return Summary(
        nodes=sum(kinds.values()),
        junctions=kinds.get(NodeKind.JUNCTION, 0),
        sources=kinds.get(NodeKind.TANK, 0) + kinds.get(NodeKind.RESERVOIR, 0),
        pipes=len(g.pipe_pk),
        valves=len(g.valves),
        connected_premises=PremiseConnection.objects.count(),
        last_import=NetworkImport.objects.order_by("-at").first(),
        bounds=bounds,
    )


# Hydraulic consequence -------------------------------------------------------------------
def hydraulic_for_plan(*, user: Any, plan: Plan) -> HydraulicRun | None:
    """The stored (or running) simulation of a plan's inputs, if one was asked for."""
    check(user, "network.view")
    valves = sorted(v.eid for v in plan.valves_to_close)
    if not valves:
        return None
    key = hydraulics.plan_key(plan.graph.version, valves, hydraulics.low_pressure_m())
    return HydraulicRun.objects.filter(key=key).first()


def hydraulic_run(*, user: Any, run_id: int) -> HydraulicRun:
    """A plan's simulation by id (404 when there is none; baselines are not shown)."""
    check(user, "network.view")
    run = HydraulicRun.objects.filter(pk=run_id).exclude(pipe="").first()
    if run is None:
        raise NotFound(_("There is no simulation %(id)s.") % {"id": run_id})
    return run


def hydraulic_geojson(run: HydraulicRun) -> dict[str, Any]:
    """The low-pressure junctions of a finished run as points (`low_pressure`, with the
    pressures before and after) and outlines of their clusters (`low_pressure_area`:
    junctions joined by pipes form one)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    g = network_graph.current()
    at = {eid: i for i, eid in enumerate(g.node_eid)}
    rows = [r for r in run.low_junctions if r[0] in at]
    features: list[dict[str, Any]] = []
    if not rows:
        return {"type": "FeatureCollection", "features": features}
    index = np.array([at[r[0]] for r in rows], dtype=np.int64)
    low = np.zeros(len(g.node_eid), dtype=bool)
    low[index] = True
    both = low[g.pipe_start] & low[g.pipe_end]
    position = np.full(len(g.node_eid), -1, dtype=np.int64)
    position[index] = np.arange(len(index))
    a, b = position[g.pipe_start[both]], position[g.pipe_end[both]]
    matrix = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(len(index),) * 2)
    _count, label = connected_components(matrix, directed=False)
    clusters: dict[int, list[int]] = {}
    for k, lab in enumerate(label.tolist()):
        clusters.setdefault(lab, []).append(int(index[k]))
    biggest = sorted(clusters.values(), key=len, reverse=True)[:MAX_OUTLINES]
    for members in biggest:
        ring = _outline(g.node_lon[members], g.node_lat[members])
        if ring:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": {"layer": "low_pressure_area", "junctions": len(members)},
                }
            )
    for (eid, before, after), i in zip(rows, index.tolist(), strict=True):
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [float(g.node_lon[i]), float(g.node_lat[i])],
                },
                "properties": {
                    "layer": "low_pressure",
                    "id": eid,
                    "before_m": before,
                    "after_m": after,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


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
