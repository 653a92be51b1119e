"""Reading an EPANET input file for the import: WNTR parses it; this module first checks
its structure line by line (so that a problem is named by line and section, which WNTR
does not always do, and duplicate ids WNTR would silently overwrite are refused), then
takes nodes, links and the file's valves from WNTR's model and places them over Ningbo.

Nothing here touches the database (`services.network_import` writes).
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# EPANET's sections (WNTR's list, plus [END]).
SECTIONS = {
    "TITLE", "JUNCTIONS", "RESERVOIRS", "TANKS", "PIPES", "PUMPS", "VALVES", "EMITTERS",
    "CURVES", "PATTERNS", "ENERGY", "STATUS", "CONTROLS", "RULES", "DEMANDS", "QUALITY",
    "REACTIONS", "SOURCES", "MIXING", "OPTIONS", "TIMES", "REPORT", "COORDINATES",
    "VERTICES", "LABELS", "BACKDROP", "TAGS", "END",
}  # fmt: skip
NODE_SECTIONS = {"JUNCTIONS": 2, "RESERVOIRS": 2, "TANKS": 6}  # section -> fields needed
LINK_SECTIONS = {"PIPES": 6, "PUMPS": 4, "VALVES": 6}
NUMERIC = {
    "JUNCTIONS": (1,),
    "RESERVOIRS": (1,),
    "TANKS": (1, 2, 3, 4, 5),
    "PIPES": (3, 4, 5),
    "VALVES": (3,),
    "COORDINATES": (1, 2),
    "VERTICES": (1, 2),
}
MAX_LISTED = 8
WGS84_M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where (line, section) and what."""

    message: str
    line: int | None = None
    section: str = ""

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.section:
            where.append(f"[{self.section}]" if self.section.isupper() else self.section)
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ImportRefused(Exception):
    """The file cannot be imported; `problems` name every line found wrong."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class RawNode:
    eid: str
    kind: str
    x: float
    y: float
    elevation: float
    lon: float = 0.0
    lat: float = 0.0


@dataclass
class RawLink:
    eid: str
    kind: str
    start: str
    end: str
    diameter_mm: float
    length_m: float
    roughness: float
    status: str
    material: str
    vertices_xy: list[tuple[float, float]] = field(default_factory=list)
    vertices: list[list[float]] = field(default_factory=list)


@dataclass
class RawValve:
    eid: str
    link: str
    node: str
    state: str | None = None  # None: keep the state an existing valve has (else open)


@dataclass
class ParsedNetwork:
    nodes: list[RawNode]
    links: list[RawLink]
    file_valves: list[RawValve]
    model: Any  # the wntr WaterNetworkModel
    placement: str = ""


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_structure(text: str) -> list[Problem]:
    """Problems WNTR would report without a line, or not at all: unknown sections, too
    few fields, numbers that are not numbers, duplicate ids, links to unknown nodes,
    coordinates of unknown nodes, nodes without coordinates. One pass over the lines
    with a check per section kept together. Long because the sections share the
    line counter and the ids seen so far."""
    problems: list[Problem] = []
    section = ""
    node_line: dict[str, tuple[int, str]] = {}
    link_line: dict[str, tuple[int, str]] = {}
    link_ends: list[tuple[int, str, str, str]] = []
    coordinates: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            match = re.fullmatch(r"\[([A-Za-z_]+)\]", line)
            name = match.group(1).upper() if match else line
            if name not in SECTIONS:
                problems.append(Problem(f"unknown section {line}", number, name.strip("[]")))
                section = "?"
            else:
                section = name
            continue
        if section in ("", "?"):
            if not section:
                problems.append(Problem("text before the first section", number))
            continue
        fields = line.split()
        needed = NODE_SECTIONS.get(section) or LINK_SECTIONS.get(section) or 0
        if section in ("COORDINATES", "VERTICES"):
            needed = 3
        if len(fields) < needed:
            problems.append(
                Problem(f"{len(fields)} fields where {needed} are needed", number, section)
            )
            continue
        for position in NUMERIC.get(section, ()):
            if position < len(fields) and not _number(fields[position]):
                problems.append(Problem(f"{fields[position]!r} is not a number", number, section))
        eid = fields[0]
        if section in NODE_SECTIONS:
            if eid in node_line:
                first, where = node_line[eid]
                problems.append(
                    Problem(
                        f"duplicate node id {eid} (first at line {first}, [{where}])",
                        number,
                        section,
                    )
                )
            else:
                node_line[eid] = (number, section)
        elif section in LINK_SECTIONS:
            if eid in link_line:
                first, where = link_line[eid]
                problems.append(
                    Problem(
                        f"duplicate link id {eid} (first at line {first}, [{where}])",
                        number,
                        section,
                    )
                )
            else:
                link_line[eid] = (number, section)
            link_ends.append((number, section, fields[1], fields[2]))
        elif section == "COORDINATES":
            if eid in coordinates:
                problems.append(Problem(f"second coordinates for node {eid}", number, section))
            coordinates[eid] = number
    for number, section, start, end in link_ends:
        for node in (start, end):
            if node not in node_line:
                problems.append(Problem(f"unknown node {node}", number, section))
    for eid, number in coordinates.items():
        if eid not in node_line:
            problems.append(Problem(f"coordinates for unknown node {eid}", number, "COORDINATES"))
    missing = [eid for eid in node_line if eid not in coordinates]
    if missing:
        for eid in missing[:MAX_LISTED]:
            number, where = node_line[eid]
            problems.append(Problem(f"node {eid} has no coordinates", number, where))
        if len(missing) > MAX_LISTED:
            problems.append(
                Problem(f"… and {len(missing) - MAX_LISTED} more nodes without coordinates")
            )
    if not node_line:
        problems.append(Problem("the file has no junctions, tanks or reservoirs"))
    return problems


def _section_of_line(text: str, wanted: int) -> str:
    section = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.split(";", 1)[0].strip()
        if stripped.startswith("["):
            section = stripped.strip("[]").upper()
        if number == wanted:
            break
    return section


def load_model(path: Path) -> Any:
    """WNTR's model of the file, or ImportRefused naming the line and section."""
    import wntr

    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as error:
        raise ImportRefused([Problem(f"cannot read {path}: {error.strerror}")]) from error
    problems = check_structure(text)
    if problems:
        raise ImportRefused(problems)
    try:
        return wntr.network.WaterNetworkModel(str(path))
    except Exception as error:  # WNTR raises many kinds; each becomes a refusal
        message = str(error).replace("\n", " ").strip() or type(error).__name__
        found = re.search(r"line (\d+)", message)
        line = int(found.group(1)) if found else None
        section = _section_of_line(text, line) if line else ""
        raise ImportRefused([Problem(f"WNTR: {message}", line, section)]) from error


def extract(model: Any) -> ParsedNetwork:
    """Nodes, links (SI units: mm, m) and the file's own valves from WNTR's model."""
    nodes: list[RawNode] = []
    for name, node in model.nodes():
        kind = {"Junction": "junction", "Tank": "tank", "Reservoir": "reservoir"}[node.node_type]
        x, y = node.coordinates
        elevation = float(getattr(node, "elevation", None) or getattr(node, "base_head", 0) or 0)
        nodes.append(RawNode(str(name), kind, float(x), float(y), elevation))
    links: list[RawLink] = []
    valves: list[RawValve] = []
    for name, link in model.links():
        kind = {"Pipe": "pipe", "Pump": "pump", "Valve": "valve"}.get(link.link_type, "pipe")
        status = "open"
        if kind == "pipe" and getattr(link, "check_valve", False):
            status = "cv"
        elif int(getattr(link, "initial_status", 1)) == 0:
            status = "closed"
        diameter = float(getattr(link, "diameter", 0) or 0) * 1000
        links.append(
            RawLink(
                eid=str(name),
                kind=kind,
                start=str(link.start_node_name),
                end=str(link.end_node_name),
                diameter_mm=round(diameter, 1),
                length_m=round(float(getattr(link, "length", 0) or 0), 2),
                roughness=float(getattr(link, "roughness", 0) or 0),
                status=status,
                material=str(link.tag or "")[:40],
                vertices_xy=[(float(a), float(b)) for a, b in (link.vertices or [])],
            )
        )
        if kind == "valve":
            valves.append(RawValve(eid=str(name), link=str(name), node=str(link.start_node_name)))
    return ParsedNetwork(nodes=nodes, links=links, file_valves=valves, model=model)


# Placement -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transform:
    """lon = a·x + b·y + c; lat = d·x + e·y + f."""

    a: float
    b: float
    c: float
    d: float
    e: float
    f: float
    label: str

    def apply(self, x: float, y: float) -> tuple[float, float]:
        return (
            round(self.a * x + self.b * y + self.c, 7),
            round(self.d * x + self.e * y + self.f, 7),
        )


def place_at(
    points: list[tuple[float, float]],
    *,
    lon: float,
    lat: float,
    extent_km: float | None = None,
    metres_per_unit: float | None = None,
) -> Transform:
    """Centre the drawing's bounding box on (lon, lat) and scale it: `metres_per_unit`, or
    so that its longer side is `extent_km` (default: coordinates are metres)."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = metres_per_unit or ((extent_km * 1000 / span) if extent_km else 1.0)
    per_lat = scale / WGS84_M_PER_DEG
    per_lon = scale / (WGS84_M_PER_DEG * math.cos(math.radians(lat)))
    label = f"place-at {lon},{lat}, {scale:.3g} m per unit"
    return Transform(per_lon, 0.0, lon - cx * per_lon, 0.0, per_lat, lat - cy * per_lat, label)


def control_points(path: Path) -> Transform:
    """An affine transform fitted (least squares) to a CSV of `x,y,lon,lat` rows; with
    two points, a similarity (scale, rotation, shift)."""
    problems: list[Problem] = []
    rows: list[tuple[float, float, float, float]] = []
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ImportRefused([Problem(f"cannot read {path}: {error.strerror}")]) from error
    with handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().lower() in ("x", "#"):
                continue
            try:
                x, y, lon, lat = (float(v) for v in row[:4])
            except ValueError:
                problems.append(Problem("expected x,y,lon,lat numbers", number, "control points"))
                continue
            rows.append((x, y, lon, lat))
    if len(rows) < 2 and not problems:
        problems.append(Problem("at least two control points are needed", None, "control points"))
    if problems:
        raise ImportRefused(problems)
    label = f"control points ({len(rows)}) from {path.name}"
    if len(rows) == 2:
        (x1, y1, lo1, la1), (x2, y2, lo2, la2) = rows
        z1, z2, w1, w2 = complex(x1, y1), complex(x2, y2), complex(lo1, la1), complex(lo2, la2)
        if z1 == z2:
            raise ImportRefused(
                [Problem("the two control points coincide", None, "control points")]
            )
        k = (w2 - w1) / (z2 - z1)
        t = w1 - k * z1
        return Transform(k.real, -k.imag, t.real, k.imag, k.real, t.imag, label)
    matrix = np.array([[x, y, 1.0] for x, y, _, _ in rows])
    (a, b, c), *_ = np.linalg.lstsq(matrix, np.array([r[2] for r in rows]), rcond=None)
    (d, e, f), *_ = np.linalg.lstsq(matrix, np.array([r[3] for r in rows]), rcond=None)
    return Transform(float(a), float(b), float(c), float(d), float(e), float(f), label)


def place(parsed: ParsedNetwork, transform: Transform | None) -> None:
    """Set every node's and vertex's WGS84 position. Without a transform the file's
    coordinates must already be longitude/latitude."""
    if transform is None:
        outside = [n.eid for n in parsed.nodes if not (-180 <= n.x <= 180 and -90 <= n.y <= 90)]
        if outside:
            raise ImportRefused(
                [
                    Problem(
                        "coordinates are not longitude/latitude (e.g. node "
                        f"{outside[0]}): give --place-at LON,LAT or --control-points FILE",
                        None,
                        "COORDINATES",
                    )
                ]
            )
        transform = Transform(1, 0, 0, 0, 1, 0, "as in the file (WGS84)")
    for node in parsed.nodes:
        node.lon, node.lat = transform.apply(node.x, node.y)
    for link in parsed.links:
        link.vertices = [list(transform.apply(x, y)) for x, y in link.vertices_xy]
    parsed.placement = transform.label


def disconnected_parts(parsed: ParsedNetwork) -> list[Problem]:
    """Parts of the network that no tank or reservoir feeds, each named by a few nodes."""
    parent: dict[str, str] = {n.eid: n.eid for n in parsed.nodes}

    def root(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for link in parsed.links:
        ra, rb = root(link.start), root(link.end)
        if ra != rb:
            parent[ra] = rb
    parts: dict[str, list[str]] = defaultdict(list)
    fed: set[str] = set()
    for node in parsed.nodes:
        r = root(node.eid)
        parts[r].append(node.eid)
        if node.kind != "junction":
            fed.add(r)
    problems = []
    for r, members in parts.items():
        if r in fed:
            continue
        names = ", ".join(members[:MAX_LISTED]) + (" …" if len(members) > MAX_LISTED else "")
        problems.append(
            Problem(f"a part of {len(members)} nodes not connected to any source: {names}")
        )
    return problems


def read_valve_csv(path: Path, parsed: ParsedNetwork) -> list[RawValve]:
    """A valve layer: CSV rows `id,link,node[,state]` (header first); each valve must sit
    on an existing link next to one of its two end nodes."""
    ends = {link.eid: (link.start, link.end) for link in parsed.links}
    problems: list[Problem] = []
    valves: list[RawValve] = []
    seen: dict[str, int] = {}
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise ImportRefused([Problem(f"cannot read {path}: {error.strerror}")]) from error
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"id", "link", "node"} <= set(reader.fieldnames):
            raise ImportRefused([Problem("the header must name id,link,node", 1, "valve layer")])
        for row in reader:
            number = reader.line_num
            eid = (row.get("id") or "").strip()
            link = (row.get("link") or "").strip()
            node = (row.get("node") or "").strip()
            state = (row.get("state") or "").strip().lower() or None
            if not eid:
                problems.append(Problem("a valve without an id", number, "valve layer"))
                continue
            if eid in seen:
                problems.append(
                    Problem(
                        f"duplicate valve id {eid} (first at line {seen[eid]})",
                        number,
                        "valve layer",
                    )
                )
                continue
            seen[eid] = number
            if link not in ends:
                problems.append(Problem(f"unknown link {link!r}", number, "valve layer"))
                continue
            if node not in ends[link]:
                problems.append(
                    Problem(f"node {node!r} is not an end of link {link}", number, "valve layer")
                )
                continue
            if state not in (None, "open", "closed", "inoperable"):
                problems.append(Problem(f"unknown state {state!r}", number, "valve layer"))
                continue
            valves.append(RawValve(eid=eid, link=link, node=node, state=state))
    if problems:
        raise ImportRefused(problems)
    return valves


def strategic_valves(parsed: ParsedNetwork, *, per_node: int, seed: int) -> list[RawValve]:
    """WNTR's strategic valve layer: N-1 valves (`per_node` = 1) or N valves per junction
    (`wntr.network.generate_valve_layer`)."""
    import wntr

    layer = wntr.network.generate_valve_layer(parsed.model, "strategic", per_node, seed=seed)
    return [
        RawValve(eid=f"V-{row.link}-{row.node}", link=str(row.link), node=str(row.node))
        for row in layer.itertuples(index=False)
    ]
