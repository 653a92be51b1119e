"""Where a job is and what it may take: the repair policy, the place (pipe, segment,
isolation plan) from the network or the case's premise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from qingquan.dispatch.errors import InvalidInput
from qingquan.dispatch.models import (
    JobKind,
    RepairPolicy,
)
from qingquan.dispatch.services.base import (
    DISPATCH,
    KIND_OF_CASE,
)


def policy_for(kind: str, diameter_mm: float) -> RepairPolicy:
    """The policy of `kind` with the largest minimum diameter not above `diameter_mm` (the
    kind "other"'s when the kind has none)."""
    for k in (kind, JobKind.OTHER):
        found = (
            RepairPolicy.objects.filter(kind=k, min_diameter_mm__lte=max(diameter_mm, 0))
            .order_by("-min_diameter_mm")
            .first()
        )
        if found is not None:
            return found
    raise InvalidInput(_("No repair time policy applies: add one in the management screens."))


def _premise_point(ticket: Any) -> tuple[float, float] | None:
    for premise in (ticket.premise, ticket.account.premise if ticket.account_id else None):
        if premise is not None and premise.longitude is not None and premise.latitude is not None:
            return premise.longitude, premise.latitude
    return None


@dataclass
class Place:
    lon: float
    lat: float
    pipe: Any = None
    pipe_eid: str = ""
    diameter_mm: float = 0.0
    segment: int | None = None
    valves: list[dict[str, Any]] | None = None
    premises: int = 0


def _place(
    actor: Any, *, ticket: Any, pipe: str | None, lon: float | None, lat: float | None
) -> Place:
    """Where the job is: an explicit pipe or point, else the case's premise; with the pipe,
    segment and isolation plan when a network is loaded and a pipe is near."""
    from qingquan.network import selectors as network
    from qingquan.network.models import Pipe

    if pipe is None and (lon is None or lat is None):
        point = _premise_point(ticket)
        if point is None:
            raise InvalidInput(
                _(
                    "Case %(number)s has no location (no premise with coordinates): give a point "
                    "or a pipe."
                )
                % {"number": ticket.number},
                field="location",
            )
        lon, lat = point
    if lon is not None and not (-180 <= lon <= 180 and -90 <= (lat or 0) <= 90):
        raise InvalidInput(_("The point is outside the map."), field="location")
    try:
        plan = network.isolation_plan(user=DISPATCH, pipe=pipe, lon=lon, lat=lat, counts=True)
    except network.NotFound as missing:
        if pipe is not None:
            raise InvalidInput(missing.message, field="pipe") from None
        assert lon is not None and lat is not None
        return Place(lon=lon, lat=lat)
    except network.TooFar:
        assert lon is not None and lat is not None
        return Place(lon=lon, lat=lat)
    g = plan.graph
    index = g.pipe_index[plan.pipe]
    if lon is None or lat is None:
        s, e = int(g.pipe_start[index]), int(g.pipe_end[index])
        lon = float((g.node_lon[s] + g.node_lon[e]) / 2)
        lat = float((g.node_lat[s] + g.node_lat[e]) / 2)
    valves = [
        {"eid": v.eid, "lon": v.lon, "lat": v.lat, "pipe": v.pipe_eid} for v in plan.valves_to_close
    ]
    return Place(
        lon=lon,
        lat=lat,
        pipe=Pipe.objects.filter(eid=plan.pipe).first(),
        pipe_eid=plan.pipe,
        diameter_mm=plan.pipe_diameter_mm,
        segment=plan.isolation.segment,
        valves=valves,
        premises=plan.premises,
    )


def _kind_of(ticket: Any) -> str:
    return KIND_OF_CASE.get(ticket.kind.code, JobKind.OTHER)
