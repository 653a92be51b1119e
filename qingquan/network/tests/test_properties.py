"""Property tests (hypothesis) on generated networks, without the database.

- every node is in exactly one segment, and the segments are WNTR's `valve_segments`;
- closing a plan's valves (with the valves already closed) cuts off exactly the plan's
  segment, and leaves dry exactly its junctions and the cut-off ones;
- on the networks WNTR ships (Net1, Net3), with strategic and random valve layers, our
  segments equal WNTR's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingquan.network import graph as network_graph
from qingquan.network.segments import label_segments


@dataclass
class Generated:
    nodes: int
    sources: list[int]
    links: list[tuple[int, int]]
    valves: list[tuple[int, int, str]]  # (link, node, state)


@st.composite
def networks(draw: Any) -> Generated:
    """A connected network of 2–14 nodes: a random spanning tree plus extra links (some
    parallel), one or two sources, and valves (open, closed, inoperable) on link ends."""
    n = draw(st.integers(2, 14))
    links = [(draw(st.integers(0, i - 1)), i) for i in range(1, n)]
    extra = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n))
    links += [(a, b) for a, b in extra if a != b]
    sources = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2, unique=True))
    ends = [(k, node) for k, (a, b) in enumerate(links) for node in (a, b)]
    chosen = draw(st.lists(st.sampled_from(ends), unique=True, max_size=len(ends)))
    states = st.sampled_from(["open", "open", "open", "closed", "inoperable"])
    valves = [(k, node, draw(states)) for k, node in chosen]
    return Generated(n, sources, links, valves)


def _labels(net: Generated) -> tuple[Any, Any]:
    operable = [(k, node) for k, node, state in net.valves if state != "inoperable"]
    return label_segments(
        node_pks=list(range(1, net.nodes + 1)),
        link_pks=list(range(1, len(net.links) + 1)),
        link_start=[a for a, _b in net.links],
        link_end=[b for _a, b in net.links],
        valve_link=[k for k, _n in operable],
        valve_node=[node for _k, node in operable],
    )


def _graph(net: Generated) -> network_graph.NetworkGraph:
    node_labels, link_labels = _labels(net)
    nodes = [
        (i + 1, f"n{i}", int(node_labels[i]), 121.5 + i * 1e-3, 29.8, "junction")
        for i in range(net.nodes)
    ]
    for s in net.sources:
        nodes[s] = (*nodes[s][:5], "reservoir")
    pipes: list[tuple[Any, ...]] = [
        (k + 1, f"l{k}", int(link_labels[k]), 1.0, a + 1, b + 1, [])
        for k, (a, b) in enumerate(net.links)
    ]
    valves = [
        (v + 1, f"v{v}", state, 121.5, 29.8, k + 1, node + 1)
        for v, (k, node, state) in enumerate(net.valves)
    ]
    return network_graph.build("generated", nodes, pipes, valves)


def _partition(names: list[str], labels: Any, prefix: str, into: dict[Any, set[str]]) -> None:
    for name, label in zip(names, labels, strict=True):
        into[label].add(prefix + name)


def _same_as_wntr(
    node_names: list[str],
    link_names: list[str],
    ends: list[tuple[str, str]],
    layer: pd.DataFrame,
    ours_nodes: Any,
    ours_links: Any,
) -> None:
    import wntr

    G = nx.MultiDiGraph()
    G.add_nodes_from(node_names)
    for name, (a, b) in zip(link_names, ends, strict=True):
        G.add_edge(a, b, key=name)
    node_seg, link_seg, _sizes = wntr.metrics.valve_segments(G, layer)
    theirs: dict[Any, set[str]] = defaultdict(set)
    _partition(node_names, [int(node_seg[n]) for n in node_names], "n:", theirs)
    _partition(link_names, [int(link_seg[n]) for n in link_names], "l:", theirs)
    ours: dict[Any, set[str]] = defaultdict(set)
    _partition(node_names, ours_nodes.tolist(), "n:", ours)
    _partition(link_names, ours_links.tolist(), "l:", ours)
    assert sorted(map(sorted, ours.values())) == sorted(map(sorted, theirs.values()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_every_node_in_one_segment_as_wntr_says(net: Generated) -> None:
    g = _graph(net)
    listed = sorted(i for members in g.seg_nodes.values() for i in members)
    assert listed == list(range(net.nodes))  # each node exactly once
    listed_pipes = sorted(i for members in g.seg_pipes.values() for i in members)
    assert listed_pipes == list(range(len(net.links)))
    operable = [(k, node) for k, node, state in net.valves if state != "inoperable"]
    layer = pd.DataFrame([(f"l{k}", f"n{node}") for k, node in operable], columns=["link", "node"])
    node_labels, link_labels = _labels(net)
    _same_as_wntr(
        [f"n{i}" for i in range(net.nodes)],
        [f"l{k}" for k in range(len(net.links))],
        [(f"n{a}", f"n{b}") for a, b in net.links],
        layer,
        node_labels,
        link_labels,
    )


def _bipartite(net: Generated, cuts: set[tuple[int, int]]) -> nx.Graph:
    """Node vertices ('n', i) and link vertices ('l', k); a valve in `cuts` separates
    its link from its node."""
    G = nx.Graph()
    G.add_nodes_from(("n", i) for i in range(net.nodes))
    for k, (a, b) in enumerate(net.links):
        G.add_node(("l", k))
        for node in (a, b):
            if (k, node) not in cuts:
                G.add_edge(("l", k), ("n", node))
    return G


def _fed(G: nx.Graph, sources: list[int], without: set[Any]) -> set[Any]:
    """The vertices (nodes and links) connected to a source, leaving out `without`."""
    H = G.subgraph(v for v in G if v not in without)
    fed: set[Any] = set()
    for s in sources:
        if ("n", s) in H:
            fed |= nx.node_connected_component(H, ("n", s))
    return fed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.data())
def test_closing_a_plans_valves_cuts_off_exactly_its_segment(net: Generated, data: Any) -> None:
    g = _graph(net)
    pipe = data.draw(st.integers(0, len(net.links) - 1))
    plan = network_graph.isolation(g, pipe)
    by_eid = {f"v{v}": (k, node) for v, (k, node, _s) in enumerate(net.valves)}
    closed = {(k, node) for k, node, state in net.valves if state == "closed"}
    to_close = {by_eid[v.eid] for v in plan.valves_to_close}
    assert not to_close & closed
    assert all(state == "open" for k, node, state in net.valves if (k, node) in to_close)
    G = _bipartite(net, closed | to_close)
    inside = nx.node_connected_component(G, ("l", pipe))
    assert {v[1] for v in inside if v[0] == "l"} == set(plan.segment_pipes)
    assert {v[1] for v in inside if v[0] == "n"} == set(plan.segment_nodes)
    # Dry once closed: the segment's nodes, and the cut-off ones (fed before, not after).
    before = _fed(_bipartite(net, closed), net.sources, set())
    dry = (set(G) - _fed(G, net.sources, inside)) & before - inside
    assert set(plan.cut_off_nodes) == {v[1] for v in dry if v[0] == "n"}
    assert set(plan.cut_off_pipes) == {v[1] for v in dry if v[0] == "l"}
    assert plan.contains_source == any(s in plan.segment_nodes for s in net.sources)


def _library(name: str) -> Any:
    import wntr

    from qingquan.network.demo import library_file

    return wntr.network.WaterNetworkModel(str(library_file(name)))


@pytest.mark.parametrize("name", ["Net1", "Net3"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layer_kind=st.sampled_from(["strategic", "random"]),
    per_node=st.integers(0, 2),
    seed=st.integers(0, 10_000),
)
def test_segments_equal_wntr_valve_segments_on_the_networks_wntr_ships(
    name: str, layer_kind: str, per_node: int, seed: int
) -> None:
    import wntr

    model = _library(name)
    if layer_kind == "strategic":
        layer = wntr.network.generate_valve_layer(model, "strategic", per_node, seed=seed)
    else:
        count = 1 + seed % model.num_links
        layer = wntr.network.generate_valve_layer(model, "random", count, seed=seed)
    nodes = list(model.node_name_list)
    links = list(model.link_name_list)
    at = {n: i for i, n in enumerate(nodes)}
    link_at = {n: i for i, n in enumerate(links)}
    ends = [(model.get_link(n).start_node_name, model.get_link(n).end_node_name) for n in links]
    ours_nodes, ours_links = label_segments(
        node_pks=list(range(1, len(nodes) + 1)),
        link_pks=list(range(1, len(links) + 1)),
        link_start=[at[a] for a, _b in ends],
        link_end=[at[b] for _a, b in ends],
        valve_link=[link_at[r.link] for r in layer.itertuples()],
        valve_node=[at[r.node] for r in layer.itertuples()],
    )
    _same_as_wntr(nodes, links, ends, layer, ours_nodes, ours_links)
