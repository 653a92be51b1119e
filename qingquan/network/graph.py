"""The network as arrays in memory, for isolation plans in milliseconds.

`current()` loads nodes, pipes and valves once per process and keeps them until the
network's version (`NetworkState`, raised by every service that changes the network)
moves on. `isolation(graph, pipe_index)` works on the segment graph: segments are its
vertices, open operable valves between two segments its edges; sources are the segments
holding a tank or reservoir.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qingquan.network.models import (
    SOURCE_KINDS,
    NetworkState,
    Node,
    Pipe,
    Valve,
    ValveState,
)

M_PER_DEG = 111_320.0


@dataclass(frozen=True)
class ValveInfo:
    pk: int
    eid: str
    state: str
    lon: float
    lat: float
    pipe_eid: str
    node_eid: str


@dataclass
class NetworkGraph:
    version: str
    node_pk: np.ndarray
    node_eid: list[str]
    node_seg: np.ndarray
    node_lon: np.ndarray
    node_lat: np.ndarray
    node_source: np.ndarray
    pipe_pk: np.ndarray
    pipe_eid: list[str]
    pipe_seg: np.ndarray
    pipe_length: np.ndarray
    pipe_start: np.ndarray  # index of each pipe's start node
    pipe_end: np.ndarray
    valves: list[ValveInfo]
    seg_nodes: dict[int, list[int]]
    seg_pipes: dict[int, list[int]]
    adjacent: dict[int, list[tuple[int, int]]]  # segment -> (valve index, other segment)
    closed: dict[int, list[int]]  # segment -> closed valves on its boundary
    inoperable: dict[int, list[int]]  # segment -> inoperable valves inside it
    source_segments: set[int]
    unfed: set[int]  # segments no source reaches even with every valve as it is
    pipe_index: dict[str, int]
    # Snapping: each straight piece of every pipe, in metres around the network's centre.
    kx: float = 1.0
    piece_pipe: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    piece_a: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    piece_b: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def empty(self) -> bool:
        return len(self.pipe_pk) == 0

    def metres(self, lon: float, lat: float) -> tuple[float, float]:
        return lon * self.kx, lat * M_PER_DEG

    def snap(self, lon: float, lat: float) -> tuple[int, float]:
        """The pipe nearest to a point and the distance to it in metres."""
        p = np.array(self.metres(lon, lat))
        ab = self.piece_b - self.piece_a
        lengths = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", p - self.piece_a, ab) / np.maximum(lengths, 1e-9), 0, 1)
        nearest = self.piece_a + ab * t[:, None]
        d = np.hypot(nearest[:, 0] - p[0], nearest[:, 1] - p[1])
        i = int(np.argmin(d))
        return int(self.piece_pipe[i]), float(d[i])


def _reach(graph: NetworkGraph, without: int | None) -> set[int]:
    """Segments a source reaches through open valves, with segment `without` closed."""
    start = [s for s in graph.source_segments if s != without]
    seen = set(start)
    queue = deque(start)
    while queue:
        seg = queue.popleft()
        for _valve, other in graph.adjacent.get(seg, ()):
            if other != without and other not in seen:
                seen.add(other)
                queue.append(other)
    return seen


def load() -> NetworkGraph:
    version = NetworkState.objects.values_list("stamp", flat=True).first() or ""
    nodes = list(
        Node.objects.order_by("pk").values_list(
            "pk", "eid", "segment", "longitude", "latitude", "kind"
        )
    )
    pipes = list(
        Pipe.objects.order_by("pk").values_list(
            "pk", "eid", "segment", "length_m", "start_id", "end_id", "vertices"
        )
    )
    valves = list(
        Valve.objects.order_by("pk").values_list(
            "pk", "eid", "state", "longitude", "latitude", "pipe_id", "node_id"
        )
    )
    return build(version, nodes, pipes, valves)


def build(
    version: str,
    nodes: list[tuple[Any, ...]],
    pipes: list[tuple[Any, ...]],
    valves: list[tuple[Any, ...]],
) -> NetworkGraph:
    """The graph from rows (what `load` reads; tests build one without the database):
    nodes (pk, eid, segment, lon, lat, kind), pipes (pk, eid, segment, length, start pk,
    end pk, vertices), valves (pk, eid, state, lon, lat, pipe pk, node pk). Long because
    most of it is the one constructor call naming every array."""
    node_at = {row[0]: i for i, row in enumerate(nodes)}
    node_seg = np.array([r[2] for r in nodes], dtype=np.int64)
    node_lon = np.array([r[3] for r in nodes], dtype=float)
    node_lat = np.array([r[4] for r in nodes], dtype=float)
    pipe_seg = np.array([r[2] for r in pipes], dtype=np.int64)
    pipe_at = {row[0]: i for i, row in enumerate(pipes)}
    seg_nodes: dict[int, list[int]] = defaultdict(list)
    for i, seg in enumerate(node_seg.tolist()):
        seg_nodes[seg].append(i)
    seg_pipes: dict[int, list[int]] = defaultdict(list)
    for i, seg in enumerate(pipe_seg.tolist()):
        seg_pipes[seg].append(i)
    infos: list[ValveInfo] = []
    adjacent: dict[int, list[tuple[int, int]]] = defaultdict(list)
    closed: dict[int, list[int]] = defaultdict(list)
    inoperable: dict[int, list[int]] = defaultdict(list)
    for k, (pk, eid, state, lon, lat, pipe_id, node_id) in enumerate(valves):
        pi, ni = pipe_at[pipe_id], node_at[node_id]
        infos.append(ValveInfo(pk, eid, state, lon, lat, pipes[pi][1], nodes[ni][1]))
        a, b = int(pipe_seg[pi]), int(node_seg[ni])
        if state == ValveState.INOPERABLE:
            inoperable[a].append(k)
        elif a != b:
            if state == ValveState.OPEN:
                adjacent[a].append((k, b))
                adjacent[b].append((k, a))
            else:
                closed[a].append(k)
                closed[b].append(k)
    sources = {int(node_seg[i]) for i, r in enumerate(nodes) if r[5] in SOURCE_KINDS}
    lat0 = float(node_lat.mean()) if len(nodes) else 30.0
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    piece_pipe: list[int] = []
    piece_a: list[tuple[float, float]] = []
    piece_b: list[tuple[float, float]] = []
    for i, (_pk, _eid, _seg, _len, start, end, vertices) in enumerate(pipes):
        s, e = node_at[start], node_at[end]
        line = [
            (node_lon[s], node_lat[s]),
            *[(v[0], v[1]) for v in vertices or []],
            (node_lon[e], node_lat[e]),
        ]
        for (x1, y1), (x2, y2) in itertools.pairwise(line):
            piece_pipe.append(i)
            piece_a.append((x1 * kx, y1 * M_PER_DEG))
            piece_b.append((x2 * kx, y2 * M_PER_DEG))
    graph = NetworkGraph(
        version=version,
        node_pk=np.array([r[0] for r in nodes], dtype=np.int64),
        node_eid=[r[1] for r in nodes],
        node_seg=node_seg,
        node_lon=node_lon,
        node_lat=node_lat,
        node_source=np.array([r[5] in SOURCE_KINDS for r in nodes], dtype=bool),
        pipe_pk=np.array([r[0] for r in pipes], dtype=np.int64),
        pipe_eid=[r[1] for r in pipes],
        pipe_seg=pipe_seg,
        pipe_length=np.array([r[3] for r in pipes], dtype=float),
        pipe_start=np.array([node_at[r[4]] for r in pipes], dtype=np.int64),
        pipe_end=np.array([node_at[r[5]] for r in pipes], dtype=np.int64),
        valves=infos,
        seg_nodes=dict(seg_nodes),
        seg_pipes=dict(seg_pipes),
        adjacent=dict(adjacent),
        closed=dict(closed),
        inoperable=dict(inoperable),
        source_segments=sources,
        unfed=set(),
        pipe_index={r[1]: i for i, r in enumerate(pipes)},
        kx=kx,
        piece_pipe=np.array(piece_pipe, dtype=np.int64),
        piece_a=np.array(piece_a, dtype=float).reshape(-1, 2),
        piece_b=np.array(piece_b, dtype=float).reshape(-1, 2),
    )
    every = set(seg_nodes) | set(seg_pipes)
    graph.unfed = every - _reach(graph, None)
    return graph


_lock = threading.Lock()
_cached: NetworkGraph | None = None


def current() -> NetworkGraph:
    """This process's graph of the network, reloaded when the network changed."""
    global _cached
    version = NetworkState.objects.values_list("stamp", flat=True).first() or ""
    with _lock:
        if _cached is None or _cached.version != version:
            _cached = load()
        return _cached


def forget() -> None:
    global _cached
    with _lock:
        _cached = None


@dataclass
class Isolation:
    """What closing a pipe's segment does: the valves to close, what is inside, and what
    is cut off from every source as a consequence."""

    pipe: int
    segment: int
    valves_to_close: list[ValveInfo]
    already_closed: list[ValveInfo]
    inoperable: list[ValveInfo]
    segment_pipes: list[int]
    segment_nodes: list[int]
    cut_off_segments: list[int]
    cut_off_pipes: list[int]
    cut_off_nodes: list[int]
    contains_source: bool

    @property
    def affected_segments(self) -> list[int]:
        return [self.segment, *self.cut_off_segments]

    @property
    def affected_nodes(self) -> list[int]:
        return self.segment_nodes + self.cut_off_nodes


def isolation(graph: NetworkGraph, pipe: int) -> Isolation:
    """The isolation plan of pipe index `pipe` (see the module's docstring)."""
    seg = int(graph.pipe_seg[pipe])
    to_close = sorted(
        {k for k, _other in graph.adjacent.get(seg, ())}, key=lambda k: graph.valves[k].eid
    )
    reached = _reach(graph, seg)
    every = set(graph.seg_nodes) | set(graph.seg_pipes)
    cut = sorted(every - reached - graph.unfed - {seg})
    cut_pipes: list[int] = []
    cut_nodes: list[int] = []
    for s in cut:
        cut_pipes.extend(graph.seg_pipes.get(s, ()))
        cut_nodes.extend(graph.seg_nodes.get(s, ()))
    return Isolation(
        pipe=pipe,
        segment=seg,
        valves_to_close=[graph.valves[k] for k in to_close],
        already_closed=[graph.valves[k] for k in sorted(set(graph.closed.get(seg, ())))],
        inoperable=[graph.valves[k] for k in graph.inoperable.get(seg, ())],
        segment_pipes=list(graph.seg_pipes.get(seg, ())),
        segment_nodes=list(graph.seg_nodes.get(seg, ())),
        cut_off_segments=cut,
        cut_off_pipes=cut_pipes,
        cut_off_nodes=cut_nodes,
        contains_source=seg in graph.source_segments,
    )
