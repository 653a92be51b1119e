"""Repair cases on the network over HTTP: /api/v1/network/cases/{number}/place (mounted
by `network.api`). GET: where a case is, its pipe, segment and who its isolation leaves
without water; PUT: set or move its pin (the point matched again to its nearest pipe).
`network.view` and a case the caller may see (404 otherwise); a point too far from every
pipe or bad input 422, with ``detail``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema
from ninja.errors import HttpError

from qingquan.network import selectors, services
from qingquan.network.api import AreaOut, CriticalOut
from qingquan.staff.access import check

router: Router = Router(tags=["network"])


class IncidentOut(Schema):
    number: str
    subject: str
    created_at: str
    merged: int = Field(description="Cases merged into it")
    pipe: str
    segment: int
    where: str = Field(
        description="segment: in the incident's own segment; cut_off: in a segment its "
        "isolation cuts off from every source"
    )


class CasePlaceOut(Schema):
    number: str
    lon: float
    lat: float
    source: str = Field(description="pin (a map pin on intake), premise or address")
    pipe: str | None = Field(description="The nearest pipe (none farther than 150 m)")
    segment: int | None
    distance_m: float | None = Field(description="From the point to that pipe")
    valves_to_close: list[str]
    premises: int = Field(description="Premises the isolation of that segment leaves dry")
    accounts: int
    critical_customers_count: int
    critical_customers: list[CriticalOut] = Field(description="Names masked without customers.view")
    by_area: list[AreaOut]
    incidents: list[IncidentOut] = Field(
        description="Other open incidents whose isolated area covers the case"
    )
    merge_offers: list[IncidentOut] = Field(
        description="Incidents opened within NETWORK_MERGE_WINDOW_HOURS the reader may merge "
        "the case into (POST /network/cases/{number}/merge/ on the pages)"
    )


def _incident(hit: selectors.IncidentHit) -> dict[str, Any]:
    return {
        "number": hit.number,
        "subject": hit.subject,
        "created_at": hit.created_at.isoformat(),
        "merged": hit.merged,
        "pipe": hit.pipe,
        "segment": hit.segment,
        "where": hit.where,
    }


@router.get(
    "/{number}/place",
    url_name="network_case_place",
    response=CasePlaceOut,
    summary="Where a repair case is on the network",
)
def case_place(
    request: HttpRequest, number: str = Path(..., max_length=40, description="Case number")
) -> dict[str, Any]:
    """A repair case's point (a pin on intake, its premise or address), nearest pipe and
    segment, who that segment's isolation leaves without water, the open incidents
    covering it and the merge offers. `network.view` and a case the caller may see (404
    otherwise, as for a case never located)."""
    check(request.user, "network.view")
    try:
        _ticket, place = selectors.case_place_checked(user=request.user, number=number)
    except LookupError:
        raise HttpError(404, f"No case {number} that you may see.") from None
    if place is None:
        raise HttpError(404, f"Case {number} has no place on the network.")
    plan = place.plan
    location = place.location
    return {
        "number": number,
        "lon": location.longitude,
        "lat": location.latitude,
        "source": location.source,
        "pipe": place.pipe,
        "segment": place.segment,
        "distance_m": place.distance_m,
        "valves_to_close": [v.eid for v in plan.valves_to_close] if plan else [],
        "premises": plan.premises if plan else 0,
        "accounts": plan.accounts if plan else 0,
        "critical_customers_count": plan.critical_count if plan else 0,
        "critical_customers": [vars(c) for c in plan.critical] if plan else [],
        "by_area": [vars(a) for a in plan.by_area] if plan else [],
        "incidents": [_incident(h) for h in place.incidents],
        "merge_offers": [_incident(h) for h in place.offers],
    }


class CasePinIn(Schema):
    longitude: float = Field(..., ge=-180, le=180)
    latitude: float = Field(..., ge=-90, le=90)


@router.put(
    "/{number}/place",
    url_name="network_case_place_set",
    response=CasePlaceOut,
    summary="Set or move a repair case's pin",
)
def case_place_set(
    request: HttpRequest,
    body: CasePinIn,
    number: str = Path(..., max_length=40, description="Case number"),
) -> dict[str, Any]:
    """The case's point set to `longitude`, `latitude` (a dispatcher correcting an
    intake, a crew on site), matched again to its nearest pipe and segment; answers the
    case's place as GET does. Audited (`network.caselocation.update`). 422 for a point
    farther than 150 m from every pipe (the distance is in ``detail``), for a case that
    is not a repair and when no network is loaded; 404 for a case the caller may not see."""
    check(request.user, "network.view")
    from qingquan.tickets.selectors import tickets_visible_to

    ticket = tickets_visible_to(request.user).filter(number=number).first()
    if ticket is None:
        raise HttpError(404, f"No case {number} that you may see.")
    try:
        services.case_place_set(
            actor=request.user, ticket=ticket, lon=body.longitude, lat=body.latitude
        )
    except selectors.NotFound as missing:
        raise HttpError(404, missing.message) from None
    except (selectors.TooFar, services.NetworkError) as refused:
        raise HttpError(422, refused.message) from None
    return case_place(request, number)
