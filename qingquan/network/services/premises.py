"""Premises attached to the network: each to a junction (nearest, preferring its own
street), one premise on its save, all after an import, or in bulk by chunks."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q

from qingquan.customers.models import Premise
from qingquan.network.graph import M_PER_DEG
from qingquan.network.models import (
    ConnectionMatch,
    NetworkState,
    Node,
    NodeKind,
    PremiseConnection,
)
from qingquan.network.services.base import BATCH, bump_version, connection_max_m

STREET_VOTE_M = 150.0  # premises this close to a junction vote for its street
STREET_VOTERS = 12  # … the nearest this many of them

_tree_lock = threading.Lock()
_tree: tuple[str, Junctions] | None = None


@dataclass
class Junctions:
    """The junctions as k-d trees in metres: all of them, and each street's own (the
    junctions whose `Node.street` it is)."""

    tree: Any
    pks: list[int]
    kx: float
    streets: dict[int, tuple[Any, list[int]]]


def _junction_tree() -> Junctions | None:
    """The junctions' trees (cached per network version)."""
    from scipy.spatial import cKDTree

    global _tree
    version = NetworkState.objects.values_list("stamp", flat=True).first() or ""
    with _tree_lock:
        if _tree is not None and _tree[0] == version:
            return _tree[1]
    rows = list(
        Node.objects.filter(kind=NodeKind.JUNCTION).values_list(
            "pk", "longitude", "latitude", "street_id"
        )
    )
    if not rows:
        return None
    lat0 = sum(r[2] for r in rows) / len(rows)
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    points = np.array([(r[1] * kx, r[2] * M_PER_DEG) for r in rows])
    by_street: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        if row[3] is not None:
            by_street.setdefault(row[3], []).append(i)
    found = Junctions(
        tree=cKDTree(points),
        pks=[r[0] for r in rows],
        kx=kx,
        streets={
            street: (cKDTree(points[members]), [rows[i][0] for i in members])
            for street, members in by_street.items()
        },
    )
    with _tree_lock:
        _tree = (version, found)
    return found


def junction_streets_assign() -> int:
    """Give each junction the street (街道) it lies on. Streets have no outline in
    `areas` (only their district and name), so a junction's street is the street most of
    the premises around it belong to: the nearest `STREET_VOTERS` premises with a street
    within `STREET_VOTE_M` vote (ties: the nearest premise's street); a junction with no
    such premise has none. Writes the junctions whose street moved and raises the
    network's version when any did; returns how many moved."""
    from scipy.spatial import cKDTree

    rows = [
        (lon, lat, street)
        for lon, lat, street in Premise.objects.exclude(street=None).values_list(
            "longitude", "latitude", "street_id"
        )
        if lon is not None and lat is not None
    ]
    junctions = list(
        Node.objects.filter(kind=NodeKind.JUNCTION).values_list(
            "pk", "longitude", "latitude", "street_id"
        )
    )
    if not junctions:
        return 0
    new: dict[int, int | None] = {pk: None for pk, *_r in junctions}
    if rows:
        lat0 = sum(r[1] for r in junctions) / len(junctions)
        kx = M_PER_DEG * math.cos(math.radians(lat0))
        tree = cKDTree(np.array([(r[0] * kx, r[1] * M_PER_DEG) for r in rows]))
        points = np.array([(r[1] * kx, r[2] * M_PER_DEG) for r in junctions])
        k = min(STREET_VOTERS, len(rows))
        distances, index = tree.query(points, k=k, distance_upper_bound=STREET_VOTE_M)
        distances, index = distances.reshape(len(junctions), k), index.reshape(len(junctions), k)
        for (pk, *_r), ds, ix in zip(junctions, distances, index, strict=True):
            votes: dict[int, int] = {}
            for d, i in zip(ds.tolist(), ix.tolist(), strict=True):
                if math.isfinite(d):
                    street = rows[i][2]
                    votes[street] = votes.get(street, 0) + 1
            if votes:
                best = max(votes.values())
                new[pk] = next(s for s, n in votes.items() if n == best)
    moved = [Node(pk=pk, street_id=new[pk]) for pk, *_r, old in junctions if new[pk] != old]
    Node.objects.bulk_update(moved, ["street"], batch_size=BATCH)
    if moved:
        bump_version()
    return len(moved)


def _nearest(
    found: Junctions, rows: list[tuple[int, Any, Any, Any]], limit: float
) -> list[PremiseConnection]:
    """Each premise's junction: the nearest on its own street within `limit`, else the
    nearest within it (rows: pk, lat, lon, street pk)."""
    points = np.array([(lon * found.kx, lat * M_PER_DEG) for _pk, lat, lon, _s in rows])
    distances, index = found.tree.query(points, distance_upper_bound=limit)
    node = [
        found.pks[int(i)] if math.isfinite(d) else None
        for d, i in zip(distances, index, strict=True)
    ]
    match = [ConnectionMatch.NEAREST] * len(rows)
    by_street: dict[int, list[int]] = {}
    for k, row in enumerate(rows):
        if row[3] is not None and row[3] in found.streets:
            by_street.setdefault(row[3], []).append(k)
    for street, members in by_street.items():
        tree, pks = found.streets[street]
        ds, ix = tree.query(points[members], distance_upper_bound=limit)
        for k, d, i in zip(members, ds.tolist(), ix.tolist(), strict=True):
            if math.isfinite(d):
                distances[k], node[k], match[k] = d, pks[int(i)], ConnectionMatch.STREET
    return [
        PremiseConnection(premise_id=row[0], node_id=n, distance_m=round(float(d), 1), match=m)
        for row, d, n, m in zip(rows, distances, node, match, strict=True)
        if n is not None
    ]


def premises_connect(*, premise_ids: list[int] | None = None) -> int:
    """Attach premises (all, or the ones named) to the nearest junction on their own
    street within `connection_max_m()` (a junction's street: `junction_streets_assign`,
    run first when all premises are attached), else to the nearest junction within it
    (`PremiseConnection.match` says which); a premise without coordinates or farther
    away is detached. Derived data: written with the change that caused it (an import, a
    premise saved), not audited on its own. Returns how many premises are attached."""
    if premise_ids is None:
        junction_streets_assign()
    found = _junction_tree()
    premises = Premise.objects.exclude(latitude=None).exclude(longitude=None)
    stale = PremiseConnection.objects.all()
    if premise_ids is not None:
        premises = premises.filter(pk__in=premise_ids)
        stale = stale.filter(premise_id__in=premise_ids)
    stale.delete()
    if found is None:
        return 0
    limit = connection_max_m()
    attached = 0
    rows = premises.order_by("pk").values_list("pk", "latitude", "longitude", "street_id")
    chunk: list[tuple[int, Any, Any, Any]] = []

    def flush() -> int:
        if not chunk:
            return 0
        made = _nearest(found, chunk, limit)
        PremiseConnection.objects.bulk_create(made, batch_size=BATCH)
        chunk.clear()
        return len(made)

    for row in rows.iterator(chunk_size=BATCH):
        chunk.append(row)
        if len(chunk) >= 20_000:
            attached += flush()
    attached += flush()
    return attached


@dataclass
class ConnectCounts:
    """What a bulk attachment did (printed by `network_connect`)."""

    considered: int
    attached: int
    too_far: int
    no_coordinates: int
    total_attached: int


def premises_connect_bulk(
    *, unattached: bool = False, district: Any = None, chunk: int = 20_000
) -> ConnectCounts:
    """Attach premises in bulk (all, only those without a junction, or one district's),
    a chunk of ids per transaction so that a million premises never sit in one. Derived
    data, as `premises_connect`: not audited."""
    premises = Premise.objects.all()
    if district is not None:
        premises = premises.filter(district=district)
    if unattached:
        premises = premises.filter(network_connection__isnull=True)
    no_coordinates = premises.filter(Q(latitude=None) | Q(longitude=None)).count()
    ids = list(premises.order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        junction_streets_assign()
    attached = 0
    for i in range(0, len(ids), chunk):
        with transaction.atomic():
            attached += premises_connect(premise_ids=ids[i : i + chunk])
    return ConnectCounts(
        considered=len(ids),
        attached=attached,
        too_far=len(ids) - no_coordinates - attached,
        no_coordinates=no_coordinates,
        total_attached=PremiseConnection.objects.count(),
    )
