"""The map's GeoJSON served from fragments serialised once per network version
(selectors/features.py): the same features as built from the rows, each viewport a mask
over the pipes' boxes, and serialised again when the network changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qingquan.core.actors import SYSTEM
from qingquan.network import selectors, services
from qingquan.network.models import Node, NodeKind, Pipe, Valve
from qingquan.network.selectors import features
from qingquan.network.tests.helpers import import_small

pytestmark = pytest.mark.django_db


def _expected(bbox: tuple[float, float, float, float] | None = None) -> list[dict[str, Any]]:
    """The features built the plain way, from model instances."""
    found: list[dict[str, Any]] = []
    for p in Pipe.objects.select_related("start", "end").order_by("pk"):
        if bbox and not (
            p.min_lon <= bbox[2]
            and p.max_lon >= bbox[0]
            and p.min_lat <= bbox[3]
            and p.max_lat >= bbox[1]
        ):
            continue
        line = [[p.start.longitude, p.start.latitude], *p.vertices]
        line.append([p.end.longitude, p.end.latitude])
        properties = {"layer": "pipe", "id": p.eid, "diameter_mm": p.diameter_mm}
        properties |= {"material": p.material, "status": p.status, "kind": p.kind}
        geometry = {"type": "LineString", "coordinates": line}
        found.append({"type": "Feature", "geometry": geometry, "properties": properties})

    def inside(lon: float, lat: float) -> bool:
        return not bbox or (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3])

    for v in Valve.objects.select_related("pipe").order_by("pk"):
        if inside(v.longitude, v.latitude):
            properties = {"layer": "valve", "id": v.eid, "state": v.state, "pipe": v.pipe.eid}
            geometry = {"type": "Point", "coordinates": [v.longitude, v.latitude]}
            found.append({"type": "Feature", "geometry": geometry, "properties": properties})
    for n in Node.objects.exclude(kind=NodeKind.JUNCTION).order_by("pk"):
        if inside(n.longitude, n.latitude):
            properties = {"layer": "source", "id": n.eid, "kind": n.kind}
            geometry = {"type": "Point", "coordinates": [n.longitude, n.latitude]}
            found.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return found


@pytest.fixture
def network(tmp_path: Any) -> None:
    import_small(tmp_path)
    # A pipe with a bend and a material that needs escaping in JSON.
    services.pipe_add(
        actor=SYSTEM,
        eid="P11",
        start="J4",
        end=services.NewJunction("J9", 121.556, 29.87, 12.0),
        diameter_mm=110.5,
        vertices=[[121.555, 29.8702]],
        material='球墨铸铁 "DI"\\K9',
        install_year=2024,
    )


@pytest.mark.parametrize(
    "bbox", [None, (121.5502, 29.869, 121.5512, 29.8705), (121.5545, 29.869, 121.557, 29.871)]
)
def test_the_served_bytes_are_the_features_of_the_rows(network, bbox):
    served = json.loads(selectors.network_geojson(user=SYSTEM, bbox=bbox))
    assert served["type"] == "FeatureCollection" and served["truncated"] is False
    assert served["features"] == _expected(bbox)
    bent = [f for f in served["features"] if f["properties"]["id"] == "P11"]
    if bbox is None or bbox[0] > 121.554:
        assert bent[0]["geometry"]["coordinates"][1] == [121.555, 29.8702]


def test_limit_truncates_the_pipes(network):
    served = json.loads(selectors.network_geojson(user=SYSTEM, limit=3))
    pipes = [f for f in served["features"] if f["properties"]["layer"] == "pipe"]
    assert len(pipes) == 3 and served["truncated"] is True
    assert [f["properties"]["id"] for f in pipes] == ["P1", "P2", "P3"]


def test_serialised_again_when_the_network_changes(network, administrator):
    before = selectors.network_geojson(user=SYSTEM)
    assert features.current() is features.current()  # kept while the network stays
    services.valve_set_state(actor=administrator, valve=Valve.objects.get(eid="VD"), state="closed")
    after = json.loads(selectors.network_geojson(user=SYSTEM))
    [vd] = [f for f in after["features"] if f["properties"]["id"] == "VD"]
    assert vd["properties"]["state"] == "closed" and before != after
    assert after["features"] == _expected()


def test_no_network_is_an_empty_collection(db):
    served = json.loads(selectors.network_geojson(user=SYSTEM))
    assert served == {"type": "FeatureCollection", "features": [], "truncated": False}
    assert json.loads(selectors.pin_map_geojson(user=SYSTEM))["features"] == []
