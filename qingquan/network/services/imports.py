"""The import of an EPANET file: added, changed and removed elements, in one transaction."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from qingquan.core import clock
from qingquan.core.actors import require_actor
from qingquan.core.audit import audit_record
from qingquan.network import inp
from qingquan.network.graph import forget
from qingquan.network.models import (
    NetworkImport,
    Node,
    Pipe,
    PressureZone,
    Valve,
    ValveSource,
    ValveState,
)
from qingquan.network.services.base import BATCH, bump_version, segments_recompute
from qingquan.network.services.cases import case_locations_rematch
from qingquan.network.services.premises import premises_connect
from qingquan.network.services.valves import toward, valve_point
from qingquan.staff.access import check


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
        case_locations_rematch()
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
    """Write a parsed file over the stored network (in the caller's transaction): nodes,
    then links, the removals (valves, links, nodes, in the order ids may move), then the
    valves; the segments are recomputed and the version raised."""
    zone_of = _zones(parsed)
    existing, wanted_nodes = _write_nodes(parsed, zone_of, report)
    existing_pipes, wanted_pipes, new_pipes, changed_pipes = _diff_pipes(parsed, report)
    _remove_links(raw_valves, report, [eid for eid in existing_pipes if eid not in wanted_pipes])
    Pipe.objects.bulk_create(new_pipes, batch_size=BATCH)
    Pipe.objects.bulk_update(
        changed_pipes,
        [*PIPE_FIELDS, "roughness", "vertices", "min_lon", "max_lon", "min_lat", "max_lat"],
        batch_size=BATCH,
    )
    _remove_nodes(report, [eid for eid in existing if eid not in wanted_nodes])
    PressureZone.objects.exclude(code__in=set(zone_of.values())).delete()
    report.zones = len(set(zone_of.values()))
    _write_valves(raw_valves, source, report)
    segments_recompute()
    bump_version()


PIPE_FIELDS = ["kind", "start_id", "end_id", "diameter_mm", "length_m", "material", "status"]


def _write_nodes(
    parsed: inp.ParsedNetwork, zone_of: dict[str, str], report: ImportReport
) -> tuple[dict[str, Node], set[str]]:
    """Nodes added and changed (their zones first); returns the nodes there were and the
    ids the file has."""
    zones = {z.code: z for z in PressureZone.objects.all()}
    for code in sorted(set(zone_of.values())):
        if code not in zones:
            zones[code] = PressureZone.objects.create(code=code)
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
    return existing, wanted_nodes


def _diff_pipes(
    parsed: inp.ParsedNetwork, report: ImportReport
) -> tuple[dict[str, Pipe], set[str], list[Pipe], list[Pipe]]:
    """The links there were, the ids the file has, and the links to add and to change."""
    nodes = {n.eid: n for n in Node.objects.all()}
    existing_pipes = {p.eid: p for p in Pipe.objects.all()}
    new_pipes: list[Pipe] = []
    changed_pipes: list[Pipe] = []
    wanted_pipes = set()
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
                for f in [*PIPE_FIELDS, "roughness"]
            )
            or [list(map(float, v)) for v in pipe.vertices or []] != link.vertices
        )
        if differs or not all(_close(getattr(pipe, f), values[f]) for f in ("min_lon", "min_lat")):
            for name, value in values.items():
                setattr(pipe, name, value)
            changed_pipes.append(pipe)
            if differs:
                report.changed["pipes"].append(link.eid)
    return existing_pipes, wanted_pipes, new_pipes, changed_pipes


def _remove_links(raw_valves: list[inp.RawValve], report: ImportReport, gone: list[str]) -> None:
    """Valves the file no longer has, then links (before links are added: ids may move
    between elements)."""
    wanted_valves = {v.eid for v in raw_valves}
    gone_valves = (
        Valve.objects.exclude(eid__in=wanted_valves) if wanted_valves else Valve.objects.all()
    )
    report.removed["valves"] = sorted(gone_valves.values_list("eid", flat=True))
    gone_valves.delete()
    report.removed["pipes"] = sorted(gone)
    for i in range(0, len(gone), BATCH):
        Pipe.objects.filter(eid__in=gone[i : i + BATCH]).delete()


def _remove_nodes(report: ImportReport, gone: list[str]) -> None:
    """Nodes the file no longer has (after the links that ended at them moved)."""
    report.removed["nodes"] = sorted(gone)
    for i in range(0, len(gone), BATCH):
        Node.objects.filter(eid__in=gone[i : i + BATCH]).delete()


def _write_valves(raw_valves: list[inp.RawValve], source: str, report: ImportReport) -> None:
    """The file's valves (or the chosen valve layer's) added and changed."""
    pipes = {p.eid: p for p in Pipe.objects.all()}
    nodes = {n.eid: n for n in Node.objects.all()}
    by_pk = {n.pk: n for n in nodes.values()}
    existing_valves = {v.eid: v for v in Valve.objects.all()}
    new_valves: list[Valve] = []
    changed_valves: list[Valve] = []
    for rv in raw_valves:
        pipe, node = pipes[rv.link], nodes[rv.node]
        other = by_pk[pipe.end_id if node.pk == pipe.start_id else pipe.start_id]
        lon, lat = valve_point(
            (node.longitude, node.latitude), toward(pipe, node, other), pipe.length_m
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
