"""Pipes laid outside an import (with a new junction or between two)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.customers.models import Premise
from qingquan.network.graph import M_PER_DEG
from qingquan.network.models import (
    Node,
    NodeKind,
    Pipe,
)
from qingquan.network.services.base import (
    NetworkError,
    bump_version,
    connection_max_m,
    segments_recompute,
)
from qingquan.network.services.premises import premises_connect
from qingquan.staff.access import check

# Pipes -----------------------------------------------------------------------------------
MAX_DIAMETER_MM = 5000.0


def _metres(points: list[tuple[float, float]]) -> float:
    """Length of a line of WGS84 points in metres (flat earth: a pipe is short)."""
    total = 0.0
    for (x1, y1), (x2, y2) in itertools.pairwise(points):
        kx = M_PER_DEG * math.cos(math.radians((y1 + y2) / 2))
        total += math.hypot((x2 - x1) * kx, (y2 - y1) * M_PER_DEG)
    return total


def _point(value: Any, what: str) -> tuple[float, float]:
    try:
        lon, lat = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        raise NetworkError(
            _("%(what)s is not a longitude and a latitude.") % {"what": what}
        ) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90 and math.isfinite(lon + lat)):
        raise NetworkError(_("%(what)s is not a longitude and a latitude.") % {"what": what})
    return lon, lat


@dataclass
class NewJunction:
    """A junction laid with a new pipe (its far end)."""

    eid: str
    lon: float
    lat: float
    elevation: float = 0.0


def _check_pipe(*, eid: str, diameter_mm: float, install_year: int | None, material: str) -> None:
    """A new pipe's own values, refused with the reason."""
    if not eid or len(eid) > 40 or any(c.isspace() for c in eid):
        raise NetworkError(_("A pipe's id is 1 to 40 characters without spaces."))
    if Pipe.objects.filter(eid=eid).exists():
        raise NetworkError(_("Pipe id %(eid)s is taken.") % {"eid": eid})
    if not (0 < float(diameter_mm) <= MAX_DIAMETER_MM):
        raise NetworkError(_("The diameter must be between 0 and 5000 mm."))
    if install_year is not None and not (1850 <= install_year <= clock.today().year + 1):
        raise NetworkError(
            _("The install year %(year)s is not plausible.") % {"year": install_year}
        )
    if len(material) > 40:
        raise NetworkError(_("The material is at most 40 characters."))


def _end_node(end: str | NewJunction, start_node: Node) -> tuple[Node, Node | None]:
    """The pipe's far end: an existing node, or a junction created now (also returned)."""
    if isinstance(end, NewJunction):
        if not end.eid or len(end.eid) > 40 or Node.objects.filter(eid=end.eid).exists():
            raise NetworkError(_("Node id %(eid)s is taken or not valid.") % {"eid": end.eid})
        lon, lat = _point((end.lon, end.lat), _("The new junction"))
        created = Node.objects.create(
            eid=end.eid,
            kind=NodeKind.JUNCTION,
            longitude=lon,
            latitude=lat,
            elevation=end.elevation,
            zone=start_node.zone,
        )
        return created, created
    found = Node.objects.filter(eid=end).first()
    if found is None:
        raise NetworkError(_("There is no node %(eid)s.") % {"eid": end})
    return found, None


def _attach_near(junction: Node) -> None:
    """Premises within reach of a new junction attached again (it may be nearer)."""
    reach = connection_max_m() / M_PER_DEG
    wide = reach / max(math.cos(math.radians(junction.latitude)), 0.1)
    nearby = list(
        Premise.objects.filter(
            longitude__gte=junction.longitude - wide,
            longitude__lte=junction.longitude + wide,
            latitude__gte=junction.latitude - reach,
            latitude__lte=junction.latitude + reach,
        ).values_list("pk", flat=True)
    )
    if nearby:
        premises_connect(premise_ids=nearby)


@transaction.atomic
def pipe_add(
    *,
    actor: Any,
    eid: str,
    start: str,
    end: str | NewJunction,
    diameter_mm: float,
    length_m: float | None = None,
    material: str = "",
    install_year: int | None = None,
    vertices: list[Any] | None = None,
) -> Pipe:
    """A pipe laid outside an import, from junction `start` to junction `end` (a network
    id) or to a new junction (`NewJunction`); the segments are recomputed (the new pipe
    joins the segments at its ends), premises near a new junction are attached again to
    their nearest junction, and each process reloads its graph. Without `length_m` the
    length is measured along the vertices. The next import of a file without this pipe
    removes it (the file is the reference)."""
    check(actor, "network.manage")
    eid = (eid or "").strip()
    _check_pipe(eid=eid, diameter_mm=diameter_mm, install_year=install_year, material=material)
    bends = [_point(v, _("A vertex")) for v in (vertices or [])]
    start_node = Node.objects.filter(eid=start).first()
    if start_node is None:
        raise NetworkError(_("There is no node %(eid)s.") % {"eid": start})
    end_node, created = _end_node(end, start_node)
    if end_node.pk == start_node.pk:
        raise NetworkError(_("A pipe joins two different nodes."))
    line = [(start_node.longitude, start_node.latitude), *bends]
    line.append((end_node.longitude, end_node.latitude))
    if length_m is None:
        length_m = round(max(_metres(line), 1.0), 1)
    elif not (0 < float(length_m) <= 100_000):
        raise NetworkError(_("The length must be between 0 and 100 km."))
    pipe = Pipe.objects.create(
        eid=eid,
        start=start_node,
        end=end_node,
        diameter_mm=float(diameter_mm),
        length_m=float(length_m),
        material=material,
        install_year=install_year,
        roughness=100.0,
        vertices=[[x, y] for x, y in bends],
        min_lon=min(x for x, _y in line),
        max_lon=max(x for x, _y in line),
        min_lat=min(y for _x, y in line),
        max_lat=max(y for _x, y in line),
    )
    segments_recompute()
    bump_version()
    if created is not None:
        _attach_near(created)
    audit_record(
        actor=actor,
        action="network.pipe.create",
        obj=pipe,
        after={
            "start": start_node.eid,
            "end": end_node.eid,
            "diameter_mm": pipe.diameter_mm,
            "length_m": pipe.length_m,
            "new_junction": created.eid if created else None,
        },
    )
    pipe.refresh_from_db()
    return pipe
