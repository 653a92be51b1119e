"""Valve changes: open, close, report inoperable, fit a new one; the segments follow."""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from qingquan.core.audit import audit_record
from qingquan.network.graph import M_PER_DEG
from qingquan.network.models import (
    Node,
    Pipe,
    Valve,
    ValveSource,
    ValveState,
)
from qingquan.network.services.base import BATCH, NetworkError, bump_version, segments_recompute
from qingquan.staff.access import check

VALVE_OFFSET_M = 12.0


# Valves ----------------------------------------------------------------------------------
def valve_point(
    node: tuple[float, float], toward: tuple[float, float], length: float
) -> tuple[float, float]:
    """A point on the pipe a few metres from its node (where the valve is drawn)."""
    kx = M_PER_DEG * math.cos(math.radians(node[1]))
    dx, dy = (toward[0] - node[0]) * kx, (toward[1] - node[1]) * M_PER_DEG
    span = math.hypot(dx, dy)
    if span == 0:
        return node
    step = min(VALVE_OFFSET_M, 0.25 * span, 0.25 * length if length else span)
    return (
        round(node[0] + dx / span * step / kx, 7),
        round(node[1] + dy / span * step / M_PER_DEG, 7),
    )


def toward(pipe: Pipe, node: Node, other: Node) -> tuple[float, float]:
    vertices = pipe.vertices or []
    if vertices:
        first = vertices[0] if node.pk == pipe.start_id else vertices[-1]
        return (first[0], first[1])
    return (other.longitude, other.latitude)


@transaction.atomic
def valve_set_state(*, actor: Any, valve: Valve, state: str) -> Valve:
    """Open, close or report inoperable a valve; the segments follow."""
    check(actor, "network.manage")
    if state not in ValveState.values:
        raise NetworkError(_("Unknown valve state %(state)s.") % {"state": state})
    valve = Valve.objects.select_for_update().get(pk=valve.pk)
    before = valve.state
    if before == state:
        return valve
    valve.state = state
    valve.save(update_fields=["state"])
    segments_recompute()
    bump_version()
    audit_record(
        actor=actor,
        action="network.valve.update",
        obj=valve,
        before={"state": before},
        after={"state": state},
    )
    return valve


@transaction.atomic
def valves_set_state(*, actor: Any, valve_ids: list[int], state: str) -> int:
    """Set many valves' state at once (a survey's findings); one recomputation of the
    segments and one audit event per valve changed. Returns how many changed."""
    check(actor, "network.manage")
    if state not in ValveState.values:
        raise NetworkError(_("Unknown valve state %(state)s.") % {"state": state})
    valves = list(Valve.objects.select_for_update().filter(pk__in=valve_ids).exclude(state=state))
    for valve in valves:
        before, valve.state = valve.state, state
        audit_record(
            actor=actor,
            action="network.valve.update",
            obj=valve,
            before={"state": before},
            after={"state": state},
        )
    Valve.objects.bulk_update(valves, ["state"], batch_size=BATCH)
    if valves:
        segments_recompute()
        bump_version()
    return len(valves)


@transaction.atomic
def valve_add(
    *, actor: Any, pipe: Pipe, node: Node, eid: str = "", state: str = ValveState.OPEN
) -> Valve:
    """A valve fitted on `pipe` next to `node` (one of its ends); the segments follow."""
    check(actor, "network.manage")
    if node.pk not in (pipe.start_id, pipe.end_id):
        raise NetworkError(
            _("Node %(node)s is not an end of pipe %(pipe)s.") % {"node": node, "pipe": pipe}
        )
    if state not in ValveState.values:
        raise NetworkError(_("Unknown valve state %(state)s.") % {"state": state})
    if Valve.objects.filter(pipe=pipe, node=node).exists():
        raise NetworkError(_("This pipe already has a valve next to that node."))
    eid = (eid or f"V-{pipe.eid}-{node.eid}")[:60]
    if Valve.objects.filter(eid=eid).exists():
        raise NetworkError(_("Valve id %(eid)s is taken.") % {"eid": eid})
    other = Node.objects.get(pk=pipe.end_id if node.pk == pipe.start_id else pipe.start_id)
    lon, lat = valve_point(
        (node.longitude, node.latitude), toward(pipe, node, other), pipe.length_m
    )
    valve = Valve.objects.create(
        eid=eid,
        pipe=pipe,
        node=node,
        state=state,
        source=ValveSource.MANUAL,
        longitude=lon,
        latitude=lat,
    )
    segments_recompute()
    bump_version()
    audit_record(actor=actor, action="network.valve.create", obj=valve, after={"state": state})
    return valve
