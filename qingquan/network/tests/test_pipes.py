"""Pipes laid outside an import (`pipe_add`, the API) re-segment the network at once, and
`network_connect` attaches premises written in bulk (which fire no signal)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.core.models import AuditEvent
from qingquan.network import hydraulics, selectors, services
from qingquan.network.models import Node, Pipe, PremiseConnection
from qingquan.network.tests.helpers import import_small
from qingquan.staff.roles import Role

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _close(pipe: str) -> list[str]:
    plan = selectors.isolation_plan(user=SYSTEM, pipe=pipe)
    return sorted(v.eid for v in plan.valves_to_close)


def test_a_pipe_joining_two_segments_merges_them(tmp_path):
    import_small(tmp_path)
    assert _close("P4") == ["VD"]
    pipe = services.pipe_add(actor=SYSTEM, eid="P10", start="J4", end="J5", diameter_mm=100)
    # J4–J5 ties the dead end to the loop: VD is inside now, VC and VE close.
    assert _close("P4") == ["VC", "VE"] and _close("P10") == ["VC", "VE"]
    assert pipe.length_m == pytest.approx(222.9, abs=0.5)  # measured: 193 m west, 111 m north
    assert pipe.segment == Pipe.objects.get(eid="P4").segment
    event = AuditEvent.objects.get(action="network.pipe.create")
    assert event.after["start"] == "J4" and event.after["end"] == "J5"


def test_a_pipe_to_a_new_junction_reattaches_the_premises_near_it(tmp_path):
    from qingquan.customers.tests.factories import premise

    import_small(tmp_path)
    far_east = premise(longitude=121.5559, latitude=29.8701)
    assert PremiseConnection.objects.get(premise=far_east).node.eid == "J4"
    services.pipe_add(
        actor=SYSTEM,
        eid="P11",
        start="J4",
        end=services.NewJunction("J9", 121.556, 29.87, 12.0),
        diameter_mm=100,
        vertices=[[121.555, 29.8702]],
        material="PE",
        install_year=2024,
    )
    j9 = Node.objects.get(eid="J9")
    assert j9.kind == "junction" and j9.zone_id == Node.objects.get(eid="J4").zone_id
    connection = PremiseConnection.objects.get(premise=far_east)
    assert connection.node == j9 and connection.distance_m < 20
    assert _close("P11") == ["VD"]  # the dead end grew: P4, J4, P11, J9
    p11 = Pipe.objects.get(eid="P11")
    assert p11.vertices == [[121.555, 29.8702]] and p11.max_lon == 121.556
    # The hydraulic model carries the new pipe and junction.
    model = hydraulics.build_model()
    assert "P11" in model.link_name_list and "J9" in model.junction_name_list


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"eid": "P1"}, "is taken"),
        ({"eid": "has space"}, "without spaces"),
        ({"start": "J99"}, "no node J99"),
        ({"end": "J1"}, "two different nodes"),
        ({"diameter_mm": 0}, "diameter"),
        ({"install_year": 1700}, "not plausible"),
        ({"vertices": [["east", 1]]}, "not a longitude"),
        ({"end": services.NewJunction("J1", 121.55, 29.87)}, "taken or not valid"),
    ],
)
def test_bad_pipes_are_refused_and_nothing_is_written(tmp_path, kwargs, words):
    from django.utils import translation

    import_small(tmp_path)
    params: dict[str, Any] = {"eid": "P10", "start": "J1", "end": "J4", "diameter_mm": 100}
    params.update(kwargs)
    with translation.override("en"), pytest.raises(services.NetworkError) as refused:
        services.pipe_add(actor=SYSTEM, **params)
    assert words in refused.value.message
    assert Pipe.objects.count() == 7 and Node.objects.count() == 7


def test_the_api(tmp_path, make_user):
    import_small(tmp_path)
    dispatcher = _client(make_user(Role.DISPATCHER))
    body = {"id": "P10", "start": "J4", "end": "J5", "diameter_mm": 100, "material": "PE"}
    made = dispatcher.post("/api/v1/network/pipes", body, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["segment"] == Pipe.objects.get(eid="P4").segment
    plan = dispatcher.get("/api/v1/network/isolation", {"pipe": "P4"}).json()
    assert [v["id"] for v in plan["valves_to_close"]] == ["VC", "VE"]
    again = dispatcher.post("/api/v1/network/pipes", body, content_type="application/json")
    assert again.status_code == 422 and "P10" in again.json()["detail"]
    both = {**body, "id": "P12", "new_junction": {"id": "J12", "lon": 121.556, "lat": 29.87}}
    assert (
        dispatcher.post("/api/v1/network/pipes", both, content_type="application/json").status_code
        == 422
    )
    new = {k: v for k, v in both.items() if k != "end"}
    made = dispatcher.post("/api/v1/network/pipes", new, content_type="application/json")
    assert made.status_code == 201 and made.json()["end"] == "J12"
    bad = {**body, "id": "P13", "diameter_mm": -1}
    assert (
        dispatcher.post("/api/v1/network/pipes", bad, content_type="application/json").status_code
        == 422
    )
    crew = _client(make_user(Role.CREW))
    denied = crew.post("/api/v1/network/pipes", {**body, "id": "P14"}, "application/json")
    assert denied.status_code == 403


def test_network_connect_attaches_premises_written_in_bulk(tmp_path, capsys):
    from qingquan.areas.models import District
    from qingquan.customers.models import Premise
    from qingquan.customers.tests.factories import premise

    import_small(tmp_path)
    model = premise(longitude=121.5541, latitude=29.8701)  # attached on save
    rows = [
        Premise(
            district=model.district,
            road=f"解放南路{i}号",
            address=f"宁波市海曙区解放南路{i}号",
            longitude=lon,
            latitude=29.8701,
        )
        for i, lon in enumerate([121.5511, 121.5521, 121.60, None], start=1)
    ]
    Premise.objects.bulk_create(rows)  # no post_save: not attached
    assert PremiseConnection.objects.count() == 1
    call_command("network_connect", "--unattached")
    out = capsys.readouterr().out
    assert "premises considered: 4" in out and "attached: 2" in out
    assert "farther than 500 m from every junction: 1" in out
    assert "without coordinates: 1" in out and "premises attached in all: 3" in out
    call_command("network_connect", "--district", "海曙区")
    assert "premises considered: 5" in capsys.readouterr().out
    assert District.objects.filter(name="海曙区").exists()
    with pytest.raises(CommandError):
        call_command("network_connect", "--district", "火星区")
