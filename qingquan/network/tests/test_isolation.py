"""Isolation plans on the hand-made network (answers worked out by hand in helpers.py);
test_properties.py checks them on generated networks and against WNTR's `valve_segments`."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from qingquan.core.actors import SYSTEM
from qingquan.network import selectors, services
from qingquan.network.models import Valve, ValveState
from qingquan.network.tests.helpers import import_small

pytestmark = pytest.mark.django_db


def _plan(pipe: str) -> selectors.Plan:
    return selectors.isolation_plan(user=SYSTEM, pipe=pipe)


def _names(plan: selectors.Plan) -> dict[str, Any]:
    g, iso = plan.graph, plan.isolation
    return {
        "close": sorted(v.eid for v in iso.valves_to_close),
        "pipes": sorted(g.pipe_eid[i] for i in iso.segment_pipes),
        "nodes": sorted(g.node_eid[i] for i in iso.segment_nodes),
        "cut_nodes": sorted(g.node_eid[i] for i in iso.cut_off_nodes),
        "cut_pipes": sorted(g.pipe_eid[i] for i in iso.cut_off_pipes),
    }


def test_a_pipe_between_two_valves_of_a_loop(tmp_path):
    import_small(tmp_path)
    assert _names(_plan("P3")) == {
        "close": ["VB", "VC"],
        "pipes": ["P3"],
        "nodes": [],
        "cut_nodes": [],  # the loop through J5 and J6 still feeds J3 and J4
        "cut_pipes": [],
    }


def test_a_dead_end(tmp_path):
    import_small(tmp_path)
    assert _names(_plan("P4")) == {
        "close": ["VD"],
        "pipes": ["P4"],
        "nodes": ["J4"],
        "cut_nodes": [],
        "cut_pipes": [],
    }


def test_closing_near_the_source_cuts_off_everything_downstream(tmp_path):
    import_small(tmp_path)
    names = _names(_plan("P2"))
    assert names["close"] == ["VA", "VB", "VE"]
    assert names["pipes"] == ["P2"] and names["nodes"] == ["J2"]
    assert names["cut_nodes"] == ["J3", "J4", "J5", "J6"]
    assert names["cut_pipes"] == ["P3", "P4", "P5", "P6", "P7"]


def test_a_second_source_keeps_the_far_side_in_water(tmp_path):
    import_small(tmp_path, with_tank=True)
    names = _names(_plan("P2"))
    assert names["close"] == ["VA", "VB", "VE"]
    assert names["cut_nodes"] == []


def test_a_source_behind_a_closed_valve_does_not_count(tmp_path):
    import_small(tmp_path, with_tank=True, states={"VF": "closed"})
    names = _names(_plan("P2"))
    assert names["cut_nodes"] == ["J3", "J4", "J5", "J6"]
    assert "VF" not in names["close"]


def test_an_inoperable_valve_widens_the_segment_to_the_next_valves(tmp_path):
    import_small(tmp_path)
    valve = Valve.objects.get(eid="VD")
    services.valve_set_state(actor=SYSTEM, valve=valve, state=ValveState.INOPERABLE)
    plan = _plan("P4")
    names = _names(plan)
    assert names["close"] == ["VC", "VE"]
    assert names["pipes"] == ["P4", "P5", "P6", "P7"]
    assert names["nodes"] == ["J3", "J4", "J5", "J6"]
    assert [v.eid for v in plan.isolation.inoperable] == ["VD"]
    # Repaired: back to the dead end alone.
    services.valve_set_state(actor=SYSTEM, valve=valve, state=ValveState.OPEN)
    assert _names(_plan("P4"))["close"] == ["VD"]


def test_a_pipe_with_no_valve_to_its_source_shuts_the_whole_zone(tmp_path):
    import_small(tmp_path)
    plan = _plan("P1")
    assert plan.isolation.contains_source and plan.whole_zone
    assert _names(plan)["close"] == ["VA"]


def test_a_point_snaps_to_the_nearest_pipe_or_is_refused_with_the_distance(tmp_path):
    import_small(tmp_path)
    # Halfway along P4 (x 3.5), 20 m north of it.
    plan = selectors.isolation_plan(user=SYSTEM, lon=121.5535, lat=29.87 + 20 / 111_320)
    assert plan.pipe == "P4" and 19 < plan.snapped_m < 21
    with translation.override("en"), pytest.raises(selectors.TooFar) as far:
        selectors.isolation_plan(user=SYSTEM, lon=121.60, lat=29.87)
    assert far.value.distance_m > 4000
    assert far.value.message.startswith(f"The point is {round(far.value.distance_m)} m from")


def test_premises_and_accounts_without_water_counted_by_area(tmp_path):
    from qingquan.customers.tests.factories import account, customer, premise

    import_small(tmp_path)
    near_j4 = premise(longitude=121.5541, latitude=29.8701, room="0401")
    near_j1 = premise(longitude=121.5511, latitude=29.8701, room="0101")
    care = customer(name="张阿婆", phones=("13900001111",), elderly_or_impaired=True)
    account(cust=care, premise=near_j4)
    account(premise=near_j4)
    account(premise=near_j1)
    plan = _plan("P4")
    assert (plan.premises, plan.accounts, plan.care_customers) == (1, 2, 1)
    assert [(a.district, a.premises, a.accounts) for a in plan.by_area] == [("海曙区", 1, 2)]
    rows, total = selectors.affected_accounts(user=SYSTEM, plan=plan)
    assert total == 2 and {r.address for r in rows} == {near_j4.address}
    # Cutting the whole line from the reservoir leaves J4's premise dry too, J1's not.
    assert _plan("P2").accounts == 2
    # A premise moved next to J1 is attached there at once.
    near_j4.longitude, near_j4.latitude = 121.5511, 29.8701
    near_j4.save()
    assert _plan("P4").accounts == 0
