"""The hydraulic consequence of a plan as stored runs and GeoJSON."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.utils.translation import gettext as _

from qingquan.network import graph as network_graph
from qingquan.network import hydraulics
from qingquan.network.models import (
    HydraulicRun,
)
from qingquan.network.selectors.base import MAX_OUTLINES, NotFound
from qingquan.network.selectors.geojson import outline
from qingquan.network.selectors.plans import Plan
from qingquan.staff.access import check


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
        ring = outline(g.node_lon[members], g.node_lat[members])
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
