"""Shared by the network's writes: the refusal, the version bump, the segments."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from qingquan.network.graph import forget
from qingquan.network.models import (
    NetworkState,
    Node,
    Pipe,
    Valve,
    ValveState,
)
from qingquan.network.segments import label_segments

BATCH = 2000


class NetworkError(Exception):
    """A change the network refuses (400/422 in the API, a form error on pages)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


def connection_max_m() -> float:
    """How far a premise may be from its junction to be attached (metres)."""
    return float(getattr(settings, "NETWORK_CONNECTION_MAX_M", 500))


def bump_version() -> None:
    stamp = uuid.uuid4().hex
    updated = NetworkState.objects.filter(pk=1).update(version=F("version") + 1, stamp=stamp)
    if not updated:
        NetworkState.objects.create(pk=1, version=1, stamp=stamp)
    transaction.on_commit(forget)


# Segments --------------------------------------------------------------------------------
def segments_recompute() -> int:
    """Label every node and pipe with its valve-bounded segment (`segments.py`); writes
    only the rows whose label moved and returns how many did."""
    nodes = list(Node.objects.order_by("pk").values_list("pk", "segment"))
    pipes = list(Pipe.objects.order_by("pk").values_list("pk", "segment", "start_id", "end_id"))
    at = {pk: i for i, (pk, _s) in enumerate(nodes)}
    pipe_at = {pk: i for i, (pk, *_r) in enumerate(pipes)}
    valves = list(
        Valve.objects.exclude(state=ValveState.INOPERABLE).values_list("pipe_id", "node_id")
    )
    node_labels, pipe_labels = label_segments(
        node_pks=[pk for pk, _s in nodes],
        link_pks=[row[0] for row in pipes],
        link_start=[at[row[2]] for row in pipes],
        link_end=[at[row[3]] for row in pipes],
        valve_link=[pipe_at[p] for p, _n in valves],
        valve_node=[at[n] for _p, n in valves],
    )
    moved_nodes = [
        Node(pk=pk, segment=int(new))
        for (pk, old), new in zip(nodes, node_labels.tolist(), strict=True)
        if old != new
    ]
    moved_pipes = [
        Pipe(pk=row[0], segment=int(new))
        for row, new in zip(pipes, pipe_labels.tolist(), strict=True)
        if row[1] != new
    ]
    Node.objects.bulk_update(moved_nodes, ["segment"], batch_size=BATCH)
    Pipe.objects.bulk_update(moved_pipes, ["segment"], batch_size=BATCH)
    if moved_pipes:
        from qingquan.network.services.cases import case_locations_refresh

        case_locations_refresh()
    return len(moved_nodes) + len(moved_pipes)
