"""Crews (list, position, status), the board as GeoJSON, and referrals to referral
partners (R-REP-3) (registered on the router when imported)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Status

from qingquan.dispatch import selectors, services
from qingquan.dispatch.api.answers import (
    _crew,
    _refused,
)
from qingquan.dispatch.api.jobs import (
    router,
)
from qingquan.dispatch.api.schemas import (
    ERRORS,
    BoardParams,
    CrewOut,
    OkOut,
    PartnerOut,
    PositionIn,
    ReferralIn,
    ReferralOut,
    StatusIn,
)
from qingquan.dispatch.errors import DispatchError
from qingquan.dispatch.models import ReferralPartner
from qingquan.staff.access import check


@router.get("/crews", url_name="dispatch_crews", response=list[CrewOut], summary="Crews")
def crews(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": r.crew.team.code,
            "name": r.crew.team.name,
            "status": r.crew.status,
            "status_label": r.crew.get_status_display(),
            "on_shift": r.on_shift,
            "load": r.load,
            "skills": r.crew.skills,
            "vehicle": r.crew.vehicle,
            "lon": r.crew.position[0],
            "lat": r.crew.position[1],
            "at_depot": r.crew.at_depot,
            "members": [m.get_full_name() or m.username for m in r.members],
        }
        for r in selectors.crews(user=request.user)
    ]


@router.post(
    "/crews/{code}/position",
    url_name="dispatch_position",
    response={200: OkOut, **ERRORS},
    summary="The crew app's position while on duty",
)
def position(request: HttpRequest, code: str, body: PositionIn) -> Status:
    try:
        services.crew_position(actor=request.user, crew=_crew(code), lon=body.lon, lat=body.lat)
    except DispatchError as error:
        return _refused(error)
    return Status(200, {"ok": True})


@router.post(
    "/crews/{code}/status",
    url_name="dispatch_crew_status",
    response={200: OkOut, **ERRORS},
    summary="Mark a crew available or off duty",
)
def crew_status(request: HttpRequest, code: str, body: StatusIn) -> Status:
    try:
        services.crew_set_status(actor=request.user, crew=_crew(code), status=body.status)
    except DispatchError as error:
        return _refused(error)
    return Status(200, {"ok": True})


@router.get(
    "/board/geojson",
    url_name="dispatch_geojson",
    response=dict[str, Any],
    summary="Open jobs and crews as GeoJSON",
)
def board_geojson(request: HttpRequest, params: Query[BoardParams]) -> dict[str, Any]:
    rows = selectors.board(
        user=request.user, district=params.district, state=params.state, limit=1000
    )
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [r.job.longitude, r.job.latitude]},
            "properties": {
                "layer": "job",
                "number": r.job.number,
                "state": r.job.state,
                "state_label": r.job.get_state_display(),
                "kind_label": r.job.get_kind_display(),
                "priority": r.job.priority,
                "colour": (r.arrive if r.job.arrived_at is None else r.restore).colour,
                "calls": r.calls,
                "address": r.job.address,
            },
        }
        for r in rows
    ]
    for c in selectors.crews(user=request.user):
        lon, lat = c.crew.position
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "layer": "crew",
                    "code": c.crew.team.code,
                    "name": c.crew.team.name,
                    "status": c.crew.status,
                    "status_label": c.crew.get_status_display(),
                    "on_shift": c.on_shift,
                    "load": c.load,
                    "at_depot": c.crew.at_depot,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get(
    "/referral-partners",
    url_name="dispatch_referral_partners",
    response=list[PartnerOut],
    summary="Companies cases may be referred to",
)
def referral_partners(request: HttpRequest) -> list[dict[str, Any]]:
    check(request.user, "tickets.view")
    return [
        {"id": p.pk, "name": p.name, "service": p.service, "phone": p.phone}
        for p in ReferralPartner.objects.filter(is_active=True)
    ]


@router.post(
    "/referrals",
    url_name="dispatch_referral",
    response={201: ReferralOut, **ERRORS},
    summary="Refer a case to a referral partner (help beyond duty)",
)
def referral(request: HttpRequest, body: ReferralIn) -> Status:
    from qingquan.tickets.selectors import visible_case

    check(request.user, "tickets.view")
    ticket = visible_case(user=request.user, number=body.case)
    partner = ReferralPartner.objects.filter(pk=body.partner).first()
    if ticket is None or partner is None:
        return Status(404, {"detail": "No such case or referral partner."})
    try:
        made = services.referral_make(
            actor=request.user, ticket=ticket, partner=partner, note=body.note
        )
    except DispatchError as error:
        return _refused(error)
    return Status(
        201, {"case": ticket.number, "partner": partner.name, "created_at": made.created_at}
    )
