"""Repair cases on the network: a case's place (its point, nearest pipe, segment and the
customers that segment's isolation affects), the open incidents whose isolated area
covers a place, the merge (并单) offers for a new report, and the screen pop's line "this
address is inside the isolated area of incident X".

An incident is an open case that is not itself merged and is either a repair case or a
case other cases were merged into, with a located point on a pipe. Its isolated area is
the isolation plan of its segment: the segment itself and the segments that plan cuts off
from every source (`graph.isolation`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse

from qingquan.core import clock
from qingquan.network import graph as network_graph
from qingquan.network.models import CaseLocation, PremiseConnection
from qingquan.network.selectors.plans import Plan, plan_of
from qingquan.staff.access import can, check

MAX_INCIDENTS = 200  # open incidents considered (newest first)
REPAIR = Q(ticket__kind__code="repair") | Q(ticket__kind__parent__code="repair")


def merge_window_hours() -> float:
    """How recent an open incident must be for a new report inside it to be offered for
    merging (`NETWORK_MERGE_WINDOW_HOURS`, hours)."""
    return float(getattr(settings, "NETWORK_MERGE_WINDOW_HOURS", 12))


@dataclass
class IncidentHit:
    """An open incident whose isolated area covers a place; `where` is "segment" (the
    place is in the incident's own segment) or "cut_off" (in a segment its isolation
    cuts off from every source)."""

    ticket_id: int
    number: str
    subject: str
    address: str
    created_at: dt.datetime
    merged: int
    pipe: str
    segment: int
    where: str

    @property
    def in_segment(self) -> bool:
        return self.where == "segment"


def _incident_rows(*, since: dt.datetime | None, exclude: int | None) -> list[tuple[Any, ...]]:
    from qingquan.tickets.models import OPEN_STATES

    qs = (
        CaseLocation.objects.filter(ticket__state__in=OPEN_STATES, ticket__parent=None)
        .exclude(segment=None)
        .exclude(pipe=None)
        .annotate(merged=Count("ticket__children"))
        .filter(REPAIR | Q(merged__gt=0))
    )
    if since is not None:
        qs = qs.filter(ticket__created_at__gte=since)
    if exclude is not None:
        qs = qs.exclude(ticket_id=exclude)
    return list(
        qs.order_by("-ticket__created_at").values_list(
            "ticket_id",
            "ticket__number",
            "ticket__subject",
            "ticket__address",
            "ticket__created_at",
            "merged",
            "pipe__eid",
            "segment",
        )[:MAX_INCIDENTS]
    )


def incidents_covering(
    segments: set[int], *, since: dt.datetime | None = None, exclude: int | None = None
) -> dict[int, list[IncidentHit]]:
    """For each of `segments`, the open incidents (created since `since`, other than case
    pk `exclude`) whose isolated area covers it: own segment first, then the most merged,
    then the oldest (the first report of an event is its incident). No access check:
    callers check."""
    found: dict[int, list[IncidentHit]] = {}
    if not segments:
        return found
    g = network_graph.current()
    areas: dict[int, dict[int, str]] = {}
    for row in _incident_rows(since=since, exclude=exclude):
        segment = int(row[7])
        if segment not in areas:
            pipes = g.seg_pipes.get(segment)
            area = {segment: "segment"}
            if pipes:
                iso = network_graph.isolation(g, pipes[0])
                area.update(dict.fromkeys(iso.cut_off_segments, "cut_off"))
                area[segment] = "segment"
            areas[segment] = area
        area = areas[segment]
        for s in segments & area.keys():
            hit = IncidentHit(
                ticket_id=row[0],
                number=row[1],
                subject=row[2],
                address=row[3],
                created_at=row[4],
                merged=row[5],
                pipe=row[6],
                segment=segment,
                where=area[s],
            )
            found.setdefault(s, []).append(hit)
    for hits in found.values():
        hits.sort(key=lambda h: (not h.in_segment, -h.merged, h.created_at))
    return found


def merge_offers(*, user: Any, ticket: Any) -> list[IncidentHit]:
    """The open incidents created within `merge_window_hours()` whose isolated area holds
    this repair case's place: what the case page offers to merge it into with one click.
    Only while the reader may merge the case (`tickets.rules`: an open, unmerged case with
    nothing merged into it, its owner)."""
    from qingquan.tickets.services import allowed_actions

    if "merge" not in allowed_actions(user, ticket):
        return []
    return _offers(ticket)


def _offers(ticket: Any) -> list[IncidentHit]:
    location = CaseLocation.objects.filter(ticket=ticket).first()
    if location is None or location.segment is None or ticket.parent_id is not None:
        return []
    since = clock.now() - dt.timedelta(hours=merge_window_hours())
    hits = incidents_covering({location.segment}, since=since, exclude=ticket.pk)
    return hits.get(location.segment, [])


def offered_incident(*, ticket: Any, number: str) -> Any:
    """The incident `number` if it is (still) offered for merging this case, else None
    (the merge service checks who may merge)."""
    from qingquan.tickets.models import Ticket

    for hit in _offers(ticket):
        if hit.number == number:
            return Ticket.objects.get(pk=hit.ticket_id)
    return None


def incidents_at_premises(*, user: Any, premise_ids: list[int]) -> dict[int, list[IncidentHit]]:
    """For the screen pop: each premise (of the caller's accounts) that lies in the
    isolated area of an open incident, with those incidents. For agents (`console.use`)
    and the network's readers (`network.view`); nothing for others."""
    if not premise_ids or not (can(user, "console.use") or can(user, "network.view")):
        return {}
    segment_of = dict(
        PremiseConnection.objects.filter(premise_id__in=premise_ids).values_list(
            "premise_id", "node__segment"
        )
    )
    covering = incidents_covering(set(segment_of.values()))
    return {
        premise: covering[segment] for premise, segment in segment_of.items() if segment in covering
    }


@dataclass
class CasePlace:
    """A repair case on the network, as its page and the API show it."""

    location: CaseLocation
    pipe: str | None
    segment: int | None
    distance_m: float | None
    plan: Plan | None
    map_url: str = ""
    incidents: list[IncidentHit] = field(default_factory=list)
    offers: list[IncidentHit] = field(default_factory=list)

    @property
    def matched(self) -> bool:
        return self.pipe is not None


def case_place(*, user: Any, ticket: Any, counts: bool = True) -> CasePlace | None:
    """Where a case is on the network for a reader who may see the case (callers check
    that): its point, its pipe and segment (a case whose pipe a re-import removed is
    matched again, in memory), the isolation plan of that pipe with its affected
    customers (names as the reader may see them), the open incidents covering it and
    the merge offers. None for a case never located."""
    from qingquan.network.services.cases import match_point

    location = CaseLocation.objects.select_related("pipe").filter(ticket_id=ticket.pk).first()
    if location is None:
        return None
    g = network_graph.current()
    pipe = location.pipe.eid if location.pipe is not None else None
    segment, distance = location.segment, location.distance_m
    if pipe is None and not g.empty:
        pk, segment, distance = match_point(location.longitude, location.latitude)
        at = {int(p): i for i, p in enumerate(g.pipe_pk.tolist())}
        pipe = g.pipe_eid[at[pk]] if pk is not None else None
    place = CasePlace(location, pipe, segment, distance, plan=None)
    index = g.pipe_index.get(pipe) if pipe is not None else None
    if index is not None:
        place.segment = int(g.pipe_seg[index])
        place.plan = plan_of(g, index, user=user, counts=counts)
        place.incidents = incidents_covering({place.segment}, exclude=ticket.pk).get(
            place.segment, []
        )
        place.offers = merge_offers(user=user, ticket=ticket)
        if can(user, "network.view"):
            place.map_url = f"{reverse('network:map')}?pipe={pipe}"
    return place


def case_place_checked(*, user: Any, number: str) -> tuple[Any, CasePlace | None]:
    """The API's read: a case the reader may see (`tickets.selectors.tickets_visible_to`)
    and `network.view`; raises `LookupError` for a case they may not see."""
    from qingquan.tickets.selectors import tickets_visible_to

    check(user, "network.view")
    ticket = tickets_visible_to(user).filter(number=number).first()
    if ticket is None:
        raise LookupError(number)
    return ticket, case_place(user=user, ticket=ticket)


@dataclass
class PopLine:
    """One line of the screen pop: a caller's address inside an incident's isolated area
    (the first incident by `incidents_covering`'s order; `others`: how many more open
    incidents cover it)."""

    account: str
    address: str
    incident: IncidentHit
    others: int = 0


def incidents_at_accounts(*, user: Any, account_ids: list[int]) -> list[PopLine]:
    """The screen pop's lines for the caller's accounts (`incidents_at_premises`), one
    per account inside an open incident's area."""
    from qingquan.customers.models import Account

    if not account_ids:
        return []
    accounts = list(
        Account.objects.filter(pk__in=account_ids)
        .order_by("pk")
        .values_list("premise_id", "number", "premise__address")
    )
    hits = incidents_at_premises(user=user, premise_ids=[a[0] for a in accounts])
    return [
        PopLine(number, address, hits[premise][0], len(hits[premise]) - 1)
        for premise, number, address in accounts
        if hits.get(premise)
    ]
