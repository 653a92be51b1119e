"""The network, a plan and the summary drawn for the map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Count, Q

from qingquan.network import graph as network_graph
from qingquan.network.models import (
    NetworkImport,
    Node,
    NodeKind,
    Pipe,
    PremiseConnection,
)
from qingquan.network.selectors import features
from qingquan.network.selectors.base import MAX_OUTLINES
from qingquan.network.selectors.plans import Plan
from qingquan.staff.access import can, check


# GeoJSON ---------------------------------------------------------------------------------
def _line(start: tuple[float, float], vertices: list[Any], end: tuple[float, float]) -> list[Any]:
    return [list(start), *[[v[0], v[1]] for v in vertices or []], list(end)]


def network_geojson(
    *, user: Any, bbox: tuple[float, float, float, float] | None = None, limit: int = 20_000
) -> bytes:
    """Pipes, valves and sources (inside `bbox` = west, south, east, north) as a GeoJSON
    FeatureCollection, JSON bytes ready to send (`features`: serialised once per network
    version); pipes carry id, diameter, material, status and kind."""
    check(user, "network.view")
    return features.collection(features.current(), bbox=bbox, limit=limit)


def pin_map_geojson(
    *, user: Any, bbox: tuple[float, float, float, float] | None = None, limit: int = 20_000
) -> bytes:
    """The pipes alone, as `network_geojson` draws them: the map on which whoever opens
    cases (`tickets.create`, agents included) or reads the network drops a repair case's
    pin on the staff's new-case form. No valves, sources or customers."""
    if not can(user, "network.view"):
        check(user, "tickets.create")
    return features.collection(features.current(), bbox=bbox, limit=limit, pipes_only=True)


def pin_map_config(*, user: Any) -> dict[str, Any] | None:
    """What the new-case form's pin map needs (the pipes' address and extent, the tile
    URL when set, the codes of the repair kinds it is shown for), or None when no network
    is loaded or for a reader who may neither open cases nor read the network."""
    from django.conf import settings
    from django.urls import reverse

    from qingquan.tickets.models import CaseKind

    if not (can(user, "network.view") or can(user, "tickets.create")):
        return None
    box = features.current().pipe_box
    if not len(box):
        return None
    repair = Q(code="repair") | Q(parent__code="repair")
    return {
        "geojson": reverse("api:network_pin_map"),
        "bounds": [float(v) for v in (*box[:, :2].min(axis=0), *box[:, 2:].max(axis=0))],
        "tiles": getattr(settings, "NETWORK_TILE_URL", "") or None,
        "repair_kinds": list(CaseKind.objects.filter(repair).values_list("code", flat=True)),
    }


def outline(lons: np.ndarray, lats: np.ndarray) -> list[list[float]] | None:
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
    rings.append(("segment", outline(g.node_lon[seg_nodes], g.node_lat[seg_nodes])))
    for seg in iso.cut_off_segments[:MAX_OUTLINES]:
        nodes = g.seg_nodes.get(seg, [])
        rings.append(("cut_off", outline(g.node_lon[nodes], g.node_lat[nodes])))
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
