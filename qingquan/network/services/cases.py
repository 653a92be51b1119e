"""Repair cases placed on the network (item 7 of issue 16): each repair case's point (a
map pin dropped on intake, its premise, or a premise with its address) matched to the
nearest pipe and that pipe's segment, kept in `CaseLocation` (one-to-one with the case,
so that `tickets` knows nothing of the network), and the one-click merge (并单) of a new
report into the open incident whose isolated area it lies in, through the tickets merge
service."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.audit import audit_record
from qingquan.customers.models import Premise
from qingquan.network import graph as network_graph
from qingquan.network.models import CaseLocation, LocationSource, Pipe
from qingquan.network.services.base import NetworkError
from qingquan.staff.access import check

REPAIR = "repair"
MATCH_MAX_M = 150.0  # as `selectors.SNAP_MAX_M`: farther, the case has no pipe


def is_repair(ticket: Any) -> bool:
    """True for a repair case (报修: the repair kind or one of its sub-kinds)."""
    kind = ticket.kind
    return kind.code == REPAIR or (kind.parent_id is not None and kind.parent.code == REPAIR)


def _premise_point(ticket: Any) -> tuple[float, float, str] | None:
    """The case's point from its premise (or its account's), else from a premise whose
    full address is the address typed on the case."""
    premise = ticket.premise
    if premise is None and ticket.account_id is not None:
        premise = ticket.account.premise
    if premise is not None and premise.longitude is not None and premise.latitude is not None:
        return premise.longitude, premise.latitude, LocationSource.PREMISE
    address = (ticket.address or "").strip()
    if address:
        found = (
            Premise.objects.filter(address=address)
            .exclude(longitude=None)
            .exclude(latitude=None)
            .order_by("pk")
            .values_list("longitude", "latitude")
            .first()
        )
        if found is not None and found[0] is not None and found[1] is not None:
            return found[0], found[1], LocationSource.ADDRESS
    return None


def match_point(lon: float, lat: float) -> tuple[int | None, int | None, float | None]:
    """The pipe (pk) nearest a point, its segment and the distance in metres; no pipe
    (None, None, distance) when the point is farther than `MATCH_MAX_M` from every pipe,
    and (None, None, None) without a network."""
    g = network_graph.current()
    if g.empty:
        return None, None, None
    index, distance = g.snap(lon, lat)
    if distance > MATCH_MAX_M:
        return None, None, round(distance, 1)
    return int(g.pipe_pk[index]), int(g.pipe_seg[index]), round(distance, 1)


def _check_point(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise NetworkError(_("The pin is not a longitude and a latitude."))


def pin_parse(*, lon: str, lat: str) -> tuple[float, float] | None:
    """A map pin from a form's two fields (longitude, latitude), or None when both are
    empty; one missing, not a number or out of range is refused (`NetworkError`)."""
    lon, lat = (lon or "").strip(), (lat or "").strip()
    if not lon and not lat:
        return None
    try:
        point = float(lon), float(lat)
    except ValueError:
        point = (999.0, 999.0)
    if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
        raise NetworkError(_("The map pin needs a longitude (-180…180) and a latitude (-90…90)."))
    return point


@transaction.atomic
def case_locate(
    *, actor: Any, ticket: Any, lon: float | None = None, lat: float | None = None
) -> CaseLocation | None:
    """Place a repair case on the network: at a map pin (`lon`, `lat`, dropped on intake)
    or else at its premise or address; matched to the nearest pipe and its segment. A pin
    replaces any earlier point and is audited (`network.caselocation.update`); a point
    derived from the premise is derived data (written with the case's creation). Returns
    the location, or None for a case that is not a repair or has no point."""
    if not is_repair(ticket):
        return None
    if lon is not None and lat is not None:
        _check_point(lon, lat)
        point: tuple[float, float, str] | None = (lon, lat, LocationSource.PIN)
    else:
        point = _premise_point(ticket)
    if point is None:
        return None
    x, y, source = point
    before = _point_of(ticket) if source == LocationSource.PIN else None
    location = _store(ticket, x, y, source, match_point(x, y))
    if source == LocationSource.PIN:
        audit_record(
            actor=actor,
            action="network.caselocation.update",
            obj=location,
            before=before,
            after={"ticket": ticket.number, "lon": x, "lat": y, "pipe": location.pipe_id},
        )
    return location


def _point_of(ticket: Any) -> dict[str, Any] | None:
    row = (
        CaseLocation.objects.filter(ticket=ticket)
        .values_list("longitude", "latitude", "pipe_id", "source")
        .first()
    )
    if row is None:
        return None
    return {"ticket": ticket.number, "lon": row[0], "lat": row[1], "pipe": row[2], "by": row[3]}


def _store(
    ticket: Any, x: float, y: float, source: str, match: tuple[int | None, int | None, float | None]
) -> CaseLocation:
    pipe, segment, distance = match
    location, _created = CaseLocation.objects.update_or_create(
        ticket=ticket,
        defaults={
            "longitude": x,
            "latitude": y,
            "source": source,
            "pipe_id": pipe,
            "segment": segment,
            "distance_m": distance,
            "located_at": clock.now(),
        },
    )
    return location


@transaction.atomic
def case_place_set(*, actor: Any, ticket: Any, lon: float, lat: float) -> CaseLocation:
    """Set or move a repair case's pin after intake (a dispatcher or a crew on site:
    `PUT /api/v1/network/cases/{number}/place`): the point is matched again to its nearest
    pipe and segment, and audited (`network.caselocation.update`, the point before and
    after). For holders of `network.view` who may see the case
    (`tickets.selectors.tickets_visible_to`; else `selectors.NotFound`, as for a case that
    does not exist). Refused: a case that is not a repair and a network not loaded
    (`NetworkError`), a point farther than `MATCH_MAX_M` from every pipe
    (`selectors.TooFar`, with the distance: nothing is written)."""
    from qingquan.network.selectors.base import NotFound, TooFar
    from qingquan.tickets.selectors import tickets_visible_to

    check(actor, "network.view")
    if not tickets_visible_to(actor).filter(pk=ticket.pk).exists():
        raise NotFound(_("No case %(number)s that you may see.") % {"number": ticket.number})
    if not is_repair(ticket):
        raise NetworkError(
            _("Case %(number)s is not a repair: it has no place on the network.")
            % {"number": ticket.number}
        )
    _check_point(lon, lat)
    pipe, _segment, distance = match_point(lon, lat)
    if distance is None:
        raise NetworkError(_("No pipe network has been imported yet."))
    if pipe is None:
        raise TooFar(distance)
    location = case_locate(actor=actor, ticket=ticket, lon=lon, lat=lat)
    assert location is not None  # a repair with a pin
    return location


def case_locations_refresh() -> int:
    """After the segments moved (a valve changed, a pipe laid, an import): each located
    case takes its pipe's new segment, in one UPDATE. Cases whose pipe a re-import removed
    keep no pipe until read (`selectors.case_place` matches their point again)."""
    segment = Pipe.objects.filter(pk=OuterRef("pipe_id")).values("segment")[:1]
    return CaseLocation.objects.exclude(pipe=None).update(segment=Subquery(segment))


@transaction.atomic
def case_merge_into_incident(*, actor: Any, ticket: Any, version: int | None, incident: str) -> Any:
    """Merge (并单) a new repair report into the open incident it was offered (the offer
    is checked again: the incident must still cover the case's place within the window),
    with the tickets merge service (`tickets.services.ticket_merge`: its rules decide
    who may merge)."""
    from qingquan.network.selectors.cases import offered_incident
    from qingquan.tickets.services import ticket_merge

    parent = offered_incident(ticket=ticket, number=incident)
    if parent is None:
        raise NetworkError(
            _("Case %(number)s is no longer an open incident covering this place.")
            % {"number": incident}
        )
    note = _("Inside the isolated area of incident %(number)s.") % {"number": parent.number}
    return ticket_merge(actor=actor, ticket=ticket, version=version, parent=parent, note=note)


def case_locations_rematch() -> int:
    """After an import: every open repair case without a place is placed (cases received
    before any network was loaded), and every located case whose pipe the file removed or
    moved is matched again from its point. Derived data, not audited; returns how many
    cases were placed or matched again."""
    from qingquan.tickets.models import Ticket

    open_repairs = (
        Ticket.objects.open()
        .filter(Q(kind__code=REPAIR) | Q(kind__parent__code=REPAIR))
        .select_related("kind", "kind__parent", "premise", "account__premise")
    )
    done = 0
    for ticket in open_repairs.filter(network_location__isnull=True).iterator(chunk_size=500):
        done += case_locate(actor=None, ticket=ticket) is not None
    for location in CaseLocation.objects.filter(ticket__in=open_repairs).iterator(chunk_size=500):
        pipe, segment, distance = match_point(location.longitude, location.latitude)
        if (pipe, segment, distance) != (location.pipe_id, location.segment, location.distance_m):
            location.pipe_id, location.segment, location.distance_m = pipe, segment, distance
            location.save(update_fields=["pipe", "segment", "distance_m"])
            done += 1
    return done
