"""The service area: where the utility's pipes are, the extent a resident's map pin must
fall in (the online hall's repair report). It is `QINGQUAN_SERVICE_AREA` (west, south,
east, north in degrees) when set, else the pipes' extent with a margin, else the city's
outline box (Ningbo). The public pin map gets this box only: never the pipes."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from qingquan.network.selectors import features

# Ningbo's municipal area (WGS-84, rounded outwards), for a platform without a network.
CITY_BOX = (120.88, 28.85, 122.30, 30.55)
MARGIN = 0.02  # degrees (about 2 km) around the pipes


def service_area() -> tuple[float, float, float, float]:
    """West, south, east and north of the service area."""
    configured = getattr(settings, "QINGQUAN_SERVICE_AREA", None)
    if configured:
        w, s, e, n = (float(v) for v in configured)
        return w, s, e, n
    box = features.current().pipe_box
    if len(box):
        w, s = (float(v) for v in box[:, :2].min(axis=0))
        e, n = (float(v) for v in box[:, 2:].max(axis=0))
        return w - MARGIN, s - MARGIN, e + MARGIN, n + MARGIN
    return CITY_BOX


def in_service_area(lon: float, lat: float) -> bool:
    w, s, e, n = service_area()
    return w <= lon <= e and s <= lat <= n


def public_pin_config() -> dict[str, Any]:
    """What the public pin map (`network/pin.js`) needs: the service area as the extent
    and outline, the tile URL when set; no pipes (`geojson` None) and no kind filter."""
    area = list(service_area())
    return {
        "geojson": None,
        "bounds": area,
        "area": area,
        "tiles": getattr(settings, "NETWORK_TILE_URL", "") or None,
        "repair_kinds": None,
    }
