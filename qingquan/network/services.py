"""Network writes: the import of an EPANET file, valve changes, the segments they move,
and the premises' connections. Every write runs in one transaction and raises the
network's version (`NetworkState`) so that each process reloads its graph."""

from __future__ import annotations

import itertools
import math
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from qingquan.core import clock
from qingquan.core.actors import require_actor
from qingquan.core.audit import audit_record
from qingquan.customers.models import Premise
from qingquan.network import hydraulics, inp
from qingquan.network.graph import M_PER_DEG, forget
from qingquan.network.models import (
    HydraulicRun,
    NetworkImport,
    NetworkState,
    Node,
    NodeKind,
    Pipe,
    PremiseConnection,
    PressureZone,
    RunStatus,
    Valve,
    ValveSource,
    ValveState,
)
from qingquan.network.segments import label_segments
from qingquan.staff.access import check

BATCH = 2000
VALVE_OFFSET_M = 12.0


class NetworkError(Exception):
    """A change the network refuses (400/422 in the API, a form error on pages)."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = str(message)


def connection_max_m() -> float:
    """How far a premise may be from its junction to be attached (metres)."""
    return float(getattr(settings, "NETWORK_CONNECTION_MAX_M", 500))


def _bump_version() -> None:
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
    return len(moved_nodes) + len(moved_pipes)


# Premises --------------------------------------------------------------------------------
_tree_lock = threading.Lock()
_tree: tuple[str, Any, list[int], float] | None = None


def _junction_tree() -> tuple[Any, list[int], float] | None:
    """A k-d tree of the junctions in metres (cached per network version)."""
    from scipy.spatial import cKDTree

    global _tree
    version = NetworkState.objects.values_list("stamp", flat=True).first() or ""
    with _tree_lock:
        if _tree is not None and _tree[0] == version:
            return _tree[1], _tree[2], _tree[3]
    rows = list(
        Node.objects.filter(kind=NodeKind.JUNCTION).values_list("pk", "longitude", "latitude")
    )
    if not rows:
        return None
    lat0 = sum(r[2] for r in rows) / len(rows)
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    tree = cKDTree(np.array([(r[1] * kx, r[2] * M_PER_DEG) for r in rows]))
    pks = [r[0] for r in rows]
    with _tree_lock:
        _tree = (version, tree, pks, kx)
    return tree, pks, kx


def premises_connect(*, premise_ids: list[int] | None = None) -> int:
    """Attach premises (all, or the ones named) to their nearest junction within
    `connection_max_m()`; a premise without coordinates or farther away is detached.
    Derived data: written with the change that caused it (an import, a premise saved),
    not audited on its own. Returns how many premises are attached."""
    found = _junction_tree()
    premises = Premise.objects.exclude(latitude=None).exclude(longitude=None)
    stale = PremiseConnection.objects.all()
    if premise_ids is not None:
        premises = premises.filter(pk__in=premise_ids)
        stale = stale.filter(premise_id__in=premise_ids)
    stale.delete()
    if found is None:
        return 0
    tree, pks, kx = found
    limit = connection_max_m()
    attached = 0
    rows = premises.order_by("pk").values_list("pk", "latitude", "longitude")
    chunk: list[tuple[int, Any, Any]] = []

    def flush() -> int:
        if not chunk:
            return 0
        points = np.array([(lon * kx, lat * M_PER_DEG) for _pk, lat, lon in chunk])
        distances, index = tree.query(points, distance_upper_bound=limit)
        made = [
            PremiseConnection(premise_id=pk, node_id=pks[int(i)], distance_m=round(float(d), 1))
            for (pk, _la, _lo), d, i in zip(chunk, distances, index, strict=True)
            if math.isfinite(d)
        ]
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


# Valves ----------------------------------------------------------------------------------
def _valve_point(
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


def _toward(pipe: Pipe, node: Node, other: Node) -> tuple[float, float]:
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
    _bump_version()
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
        _bump_version()
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
    lon, lat = _valve_point(
        (node.longitude, node.latitude), _toward(pipe, node, other), pipe.length_m
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
    _bump_version()
    audit_record(actor=actor, action="network.valve.create", obj=valve, after={"state": state})
    return valve


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
    bends = [_point(v, _("A vertex")) for v in (vertices or [])]
    start_node = Node.objects.filter(eid=start).first()
    if start_node is None:
        raise NetworkError(_("There is no node %(eid)s.") % {"eid": start})
    created: Node | None = None
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
        end_node = created
    else:
        found = Node.objects.filter(eid=end).first()
        if found is None:
            raise NetworkError(_("There is no node %(eid)s.") % {"eid": end})
        end_node = found
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
    _bump_version()
    if created is not None:
        reach = connection_max_m() / M_PER_DEG
        wide = reach / max(math.cos(math.radians(created.latitude)), 0.1)
        nearby = list(
            Premise.objects.filter(
                longitude__gte=created.longitude - wide,
                longitude__lte=created.longitude + wide,
                latitude__gte=created.latitude - reach,
                latitude__lte=created.latitude + reach,
            ).values_list("pk", flat=True)
        )
        if nearby:
            premises_connect(premise_ids=nearby)
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


# Hydraulic consequence -------------------------------------------------------------------
STALE_PENDING_S = 600  # a run waiting this long lost its task: it is queued again


@transaction.atomic
def hydraulic_request(*, actor: Any, pipe: str) -> HydraulicRun:
    """Ask for the hydraulic simulation of the isolation plan of `pipe` (a network id):
    the run of that plan's inputs if there is one (finished or under way), else a new
    one queued for `tasks.hydraulic_simulate`. A failed run, or one whose task was lost,
    is queued again."""
    from qingquan.network import graph, tasks

    check(actor, "network.view")
    g = graph.current()
    index = g.pipe_index.get(pipe)
    if index is None:
        raise NetworkError(_("There is no pipe %(pipe)s.") % {"pipe": pipe})
    plan = graph.isolation(g, index)
    if not plan.valves_to_close:
        raise NetworkError(_("No valve isolates this pipe: there is nothing to simulate."))
    valves = sorted(v.eid for v in plan.valves_to_close)
    threshold = hydraulics.low_pressure_m()
    now = clock.now()
    run, created = HydraulicRun.objects.get_or_create(
        key=hydraulics.plan_key(g.version, valves, threshold),
        defaults={
            "network_stamp": g.version,
            "pipe": g.pipe_eid[index],
            "segment": plan.segment,
            "closed_valves": valves,
            "threshold_m": threshold,
            "requested_at": now,
        },
    )
    lost = (
        run.status == RunStatus.PENDING
        and (now - run.requested_at).total_seconds() > STALE_PENDING_S
    )
    if not created and run.status != RunStatus.FAILED and not lost:
        return run
    if not created:
        run = HydraulicRun.objects.select_for_update().get(pk=run.pk)
        run.status, run.progress, run.error, run.requested_at = RunStatus.PENDING, 0, "", now
        run.save(update_fields=["status", "progress", "error", "requested_at"])
    audit_record(
        actor=actor,
        action="network.hydraulicrun.create",
        obj=run,
        after={"pipe": run.pipe, "valves": valves, "threshold_m": threshold},
    )
    run_id = run.pk
    transaction.on_commit(lambda: tasks.hydraulic_simulate.enqueue(run_id=run_id), robust=True)
    return run


# Import ----------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What an import did (printed by the command, stored on `NetworkImport.report`)."""

    file_name: str
    placement: str
    valve_source: str
    added: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    changed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    removed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    segments: int = 0
    zones: int = 0
    premises: int = 0
    record: NetworkImport | None = None

    def counts(self) -> dict[str, dict[str, int]]:
        kinds = ("nodes", "pipes", "valves")
        return {
            what: {k: len(getattr(self, what).get(k, [])) for k in kinds}
            for what in ("added", "changed", "removed")
        }

    def lines(self, listed: int = 10) -> list[str]:
        out = [
            f"file: {self.file_name}",
            f"placement: {self.placement}",
            f"valves from: {self.valve_source} ({ValveSource(self.valve_source).label})",
        ]
        for what in ("added", "changed", "removed"):
            for kind in ("nodes", "pipes", "valves"):
                ids = getattr(self, what).get(kind, [])
                if not ids:
                    out.append(f"{what} {kind}: 0")
                    continue
                more = f" … (+{len(ids) - listed})" if len(ids) > listed else ""
                out.append(f"{what} {kind}: {len(ids)}: {', '.join(ids[:listed])}{more}")
        out.append(f"pressure zones: {self.zones}; segments: {self.segments}")
        out.append(f"premises attached: {self.premises}")
        return out


def _zones(parsed: inp.ParsedNetwork) -> dict[str, str]:
    """Node eid -> zone code: the parts joined by pipes alone (pumps and control valves
    separate pressure zones), numbered by size."""
    parent = {n.eid: n.eid for n in parsed.nodes}

    def root(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for link in parsed.links:
        if link.kind == "pipe":
            ra, rb = root(link.start), root(link.end)
            if ra != rb:
                parent[ra] = rb
    parts: dict[str, list[str]] = defaultdict(list)
    for node in parsed.nodes:
        parts[root(node.eid)].append(node.eid)
    ordered = sorted(parts.values(), key=lambda members: (-len(members), members[0]))
    return {eid: f"Z{i:02d}" for i, members in enumerate(ordered, 1) for eid in members}


def _choose_valves(
    parsed: inp.ParsedNetwork,
    *,
    valves: str,
    valve_csv: Path | None,
    per_node: int,
    seed: int,
) -> tuple[str, list[inp.RawValve]]:
    if valves == "auto":
        valves = "csv" if valve_csv else ("file" if parsed.file_valves else "strategic")
    if valves == "csv":
        if valve_csv is None:
            raise inp.ImportRefused([inp.Problem("--valves csv needs --valve-csv FILE")])
        return ValveSource.CSV, inp.read_valve_csv(valve_csv, parsed)
    if valves == "strategic":
        return ValveSource.STRATEGIC, inp.strategic_valves(parsed, per_node=per_node, seed=seed)
    if valves == "file":
        return ValveSource.FILE, parsed.file_valves
    raise inp.ImportRefused([inp.Problem(f"unknown valve source {valves!r}")])


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def network_import(
    *,
    actor: Any,
    path: Path,
    place_at: tuple[float, float] | None = None,
    extent_km: float | None = None,
    metres_per_unit: float | None = None,
    control_points: Path | None = None,
    valves: str = "auto",
    valve_csv: Path | None = None,
    per_node: int = 1,
    seed: int = 0,
    allow_disconnected: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import (or re-import) an EPANET file: elements are matched by id, so a revised
    file updates, adds and removes. Everything or nothing is written (one transaction);
    a refused file raises `inp.ImportRefused` naming line and section."""
    check(actor, "network.manage")
    require_actor(actor)
    model = inp.load_model(path)
    parsed = inp.extract(model)
    transform: inp.Transform | None = None
    if control_points is not None:
        transform = inp.control_points(control_points)
    elif place_at is not None:
        transform = inp.place_at(
            [(n.x, n.y) for n in parsed.nodes],
            lon=place_at[0],
            lat=place_at[1],
            extent_km=extent_km,
            metres_per_unit=metres_per_unit,
        )
    inp.place(parsed, transform)
    if not allow_disconnected:
        problems = inp.disconnected_parts(parsed)
        if problems:
            raise inp.ImportRefused(problems)
    source, raw_valves = _choose_valves(
        parsed, valves=valves, valve_csv=valve_csv, per_node=per_node, seed=seed
    )
    report = ImportReport(file_name=path.name, placement=parsed.placement, valve_source=source)
    with transaction.atomic():
        _write(parsed, raw_valves, source, report)
        report.segments = len(
            set(Node.objects.values_list("segment", flat=True))
            | set(Pipe.objects.values_list("segment", flat=True))
        )
        report.premises = premises_connect()
        record = NetworkImport.objects.create(
            at=clock.now(),
            source_text=path.read_text(encoding="utf-8-sig", errors="replace"),
            file_name=path.name[:255],
            valve_source=source,
            transform=parsed.placement[:255],
            counts=report.counts(),
            report="\n".join(report.lines()),
        )
        report.record = record
        audit_record(
            actor=actor,
            action="network.networkimport.create",
            obj=record,
            after={"counts": report.counts(), "valves": source},
        )
        if dry_run:
            transaction.set_rollback(True)
    if dry_run:
        forget()
    return report


def _write(
    parsed: inp.ParsedNetwork,
    raw_valves: list[inp.RawValve],
    source: str,
    report: ImportReport,
) -> None:
    zone_of = _zones(parsed)
    zones = {z.code: z for z in PressureZone.objects.all()}
    for code in sorted(set(zone_of.values())):
        if code not in zones:
            zones[code] = PressureZone.objects.create(code=code)
    # Nodes.
    existing = {n.eid: n for n in Node.objects.all()}
    new_nodes: list[Node] = []
    changed_nodes: list[Node] = []
    wanted_nodes = set()
    for raw in parsed.nodes:
        wanted_nodes.add(raw.eid)
        zone = zones[zone_of[raw.eid]]
        node = existing.get(raw.eid)
        if node is None:
            new_nodes.append(
                Node(
                    eid=raw.eid,
                    kind=raw.kind,
                    longitude=raw.lon,
                    latitude=raw.lat,
                    elevation=raw.elevation,
                    zone=zone,
                )
            )
            report.added["nodes"].append(raw.eid)
            continue
        same = (
            node.kind == raw.kind
            and _close(node.longitude, raw.lon)
            and _close(node.latitude, raw.lat)
            and _close(node.elevation, raw.elevation)
        )
        if not same:
            report.changed["nodes"].append(raw.eid)
        if not same or node.zone_id != zone.pk:
            node.kind, node.longitude, node.latitude = raw.kind, raw.lon, raw.lat
            node.elevation, node.zone = raw.elevation, zone
            changed_nodes.append(node)
    Node.objects.bulk_create(new_nodes, batch_size=BATCH)
    Node.objects.bulk_update(
        changed_nodes, ["kind", "longitude", "latitude", "elevation", "zone"], batch_size=BATCH
    )
    nodes = {n.eid: n for n in Node.objects.all()}
    # Pipes (every link).
    existing_pipes = {p.eid: p for p in Pipe.objects.all()}
    new_pipes: list[Pipe] = []
    changed_pipes: list[Pipe] = []
    wanted_pipes = set()
    fields = ["kind", "start_id", "end_id", "diameter_mm", "length_m", "material", "status"]
    for link in parsed.links:
        wanted_pipes.add(link.eid)
        start, end = nodes[link.start], nodes[link.end]
        lons = [start.longitude, end.longitude, *(v[0] for v in link.vertices)]
        lats = [start.latitude, end.latitude, *(v[1] for v in link.vertices)]
        values: dict[str, Any] = {
            "kind": link.kind,
            "start_id": start.pk,
            "end_id": end.pk,
            "diameter_mm": link.diameter_mm,
            "length_m": link.length_m,
            "material": link.material,
            "status": link.status,
            "roughness": link.roughness,
            "vertices": link.vertices,
            "min_lon": min(lons),
            "max_lon": max(lons),
            "min_lat": min(lats),
            "max_lat": max(lats),
        }
        pipe = existing_pipes.get(link.eid)
        if pipe is None:
            new_pipes.append(Pipe(eid=link.eid, **values))
            report.added["pipes"].append(link.eid)
            continue
        differs = (
            any(
                (not _close(getattr(pipe, f), values[f]))
                if isinstance(values[f], float)
                else getattr(pipe, f) != values[f]
                for f in [*fields, "roughness"]
            )
            or [list(map(float, v)) for v in pipe.vertices or []] != link.vertices
        )
        if differs or not all(_close(getattr(pipe, f), values[f]) for f in ("min_lon", "min_lat")):
            for name, value in values.items():
                setattr(pipe, name, value)
            changed_pipes.append(pipe)
            if differs:
                report.changed["pipes"].append(link.eid)
    # Removals first where ids move between elements: valves, then links, then nodes.
    wanted_valves = {v.eid for v in raw_valves}
    gone_valves = (
        Valve.objects.exclude(eid__in=wanted_valves) if wanted_valves else Valve.objects.all()
    )
    report.removed["valves"] = sorted(gone_valves.values_list("eid", flat=True))
    gone_valves.delete()
    gone_pipes = [eid for eid in existing_pipes if eid not in wanted_pipes]
    report.removed["pipes"] = sorted(gone_pipes)
    for i in range(0, len(gone_pipes), BATCH):
        Pipe.objects.filter(eid__in=gone_pipes[i : i + BATCH]).delete()
    Pipe.objects.bulk_create(new_pipes, batch_size=BATCH)
    Pipe.objects.bulk_update(
        changed_pipes,
        [*fields, "roughness", "vertices", "min_lon", "max_lon", "min_lat", "max_lat"],
        batch_size=BATCH,
    )
    gone_nodes = [eid for eid in existing if eid not in wanted_nodes]
    report.removed["nodes"] = sorted(gone_nodes)
    for i in range(0, len(gone_nodes), BATCH):
        Node.objects.filter(eid__in=gone_nodes[i : i + BATCH]).delete()
    PressureZone.objects.exclude(code__in=set(zone_of.values())).delete()
    report.zones = len(set(zone_of.values()))
    # Valves.
    pipes = {p.eid: p for p in Pipe.objects.all()}
    nodes = {n.eid: n for n in Node.objects.all()}
    by_pk = {n.pk: n for n in nodes.values()}
    existing_valves = {v.eid: v for v in Valve.objects.all()}
    new_valves: list[Valve] = []
    changed_valves: list[Valve] = []
    for rv in raw_valves:
        pipe, node = pipes[rv.link], nodes[rv.node]
        other = by_pk[pipe.end_id if node.pk == pipe.start_id else pipe.start_id]
        lon, lat = _valve_point(
            (node.longitude, node.latitude), _toward(pipe, node, other), pipe.length_m
        )
        valve = existing_valves.get(rv.eid)
        if valve is None:
            new_valves.append(
                Valve(
                    eid=rv.eid,
                    pipe=pipe,
                    node=node,
                    state=rv.state or ValveState.OPEN,
                    source=source,
                    longitude=lon,
                    latitude=lat,
                )
            )
            report.added["valves"].append(rv.eid)
            continue
        state = rv.state or valve.state
        if (valve.pipe_id, valve.node_id, valve.state, valve.source) != (
            pipe.pk,
            node.pk,
            state,
            source,
        ) or not (_close(valve.longitude, lon) and _close(valve.latitude, lat)):
            if (valve.pipe_id, valve.node_id, valve.state) != (pipe.pk, node.pk, state):
                report.changed["valves"].append(rv.eid)
            valve.pipe, valve.node, valve.state, valve.source = pipe, node, state, source
            valve.longitude, valve.latitude = lon, lat
            changed_valves.append(valve)
    Valve.objects.bulk_update(
        changed_valves,
        ["pipe", "node", "state", "source", "longitude", "latitude"],
        batch_size=BATCH,
    )
    Valve.objects.bulk_create(new_valves, batch_size=BATCH)
    segments_recompute()
    _bump_version()
