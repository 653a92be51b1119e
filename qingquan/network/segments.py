"""Valve-bounded segments, computed without the database (numpy and scipy).

A segment is what closing valves can cut off: the pipes and junctions reachable from one
another without passing a valve. Like WNTR's `wntr.metrics.valve_segments`, the graph has
a vertex per node and a vertex per link; a link's vertex touches its two end nodes except
where a valve sits on that link next to that node. Its connected components are the
segments. An inoperable valve cannot be closed, so it is left out of the valve list and
its segment merges with the next one. `tests/test_properties.py` checks the result equals
WNTR's on the networks WNTR ships.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def label_segments(
    *,
    node_pks: Sequence[int],
    link_pks: Sequence[int],
    link_start: Sequence[int],
    link_end: Sequence[int],
    valve_link: Sequence[int],
    valve_node: Sequence[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Segment labels of every node and link (arrays in the order given).

    `link_start`/`link_end` and `valve_node` are indexes into `node_pks`, `valve_link`
    an index into `link_pks`; the valves are the ones that can be closed. A segment's
    label is the smallest pk of its links, or minus the smallest pk of its nodes when it
    has no link, so that labels stay the same across a recomputation for every segment
    a change did not touch.
    """
    nodes = np.asarray(node_pks, dtype=np.int64)
    links = np.asarray(link_pks, dtype=np.int64)
    n, m = len(nodes), len(links)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    start = np.asarray(link_start, dtype=np.int64)
    end = np.asarray(link_end, dtype=np.int64)
    cut = set(zip(np.asarray(valve_link).tolist(), np.asarray(valve_node).tolist(), strict=True))
    index = np.arange(m, dtype=np.int64)
    keep_start = np.fromiter(
        ((i, s) not in cut for i, s in zip(index.tolist(), start.tolist(), strict=True)),
        dtype=bool,
        count=m,
    )
    keep_end = np.fromiter(
        ((i, e) not in cut for i, e in zip(index.tolist(), end.tolist(), strict=True)),
        dtype=bool,
        count=m,
    )
    rows = np.concatenate([n + index[keep_start], n + index[keep_end]])
    cols = np.concatenate([start[keep_start], end[keep_end]])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n + m, n + m))
    count, comp = connected_components(graph, directed=False)
    big = np.iinfo(np.int64).max
    link_min = np.full(count, big, dtype=np.int64)
    np.minimum.at(link_min, comp[n:], links)
    node_min = np.full(count, big, dtype=np.int64)
    np.minimum.at(node_min, comp[:n], nodes)
    label = np.where(link_min < big, link_min, -node_min)
    return label[comp[:n]], label[comp[n:]]
