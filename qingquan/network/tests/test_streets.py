"""Each premise attached to the nearest junction on its own street (issue 16, item 1).

Streets (街道) have no outline, so a junction's street is voted by the premises around it
(`services.premises.junction_streets_assign`). On the hand-made network J1 and J2 are
about 96 m apart: premises of street A crowd J1, premises of street B crowd J2.
"""

from __future__ import annotations

from typing import Any

import pytest

from qingquan.network.models import ConnectionMatch, Node, PremiseConnection
from qingquan.network.tests.helpers import import_small

pytestmark = pytest.mark.django_db

J1 = (121.551, 29.870)
J2 = (121.552, 29.870)


@pytest.fixture
def streets(tmp_path: Any) -> dict[str, Any]:
    from qingquan.areas.models import District
    from qingquan.customers.tests.factories import premise
    from qingquan.network.services import premises_connect

    import_small(tmp_path)
    premise()  # seeds the areas
    district = District.objects.get(name="海曙区")
    a, b, c = district.streets.order_by("name")[:3]

    def at(street: Any, lon: float, lat: float) -> Any:
        return premise(
            district=district, street=street, community=None, longitude=lon, latitude=lat
        )

    for i in range(6):
        at(a, J1[0] + 0.00002 * i, J1[1] + 0.00003)
        at(b, J2[0] + 0.00002 * i, J2[1] + 0.00003)
    premises_connect()  # a full attachment votes the junctions' streets first
    return {"a": a, "b": b, "c": c, "at": at}


def _connection(p: Any) -> PremiseConnection:
    return PremiseConnection.objects.select_related("node").get(premise=p)


def test_junctions_take_the_street_of_the_premises_around_them(streets):
    assert Node.objects.get(eid="J1").street == streets["a"]
    assert Node.objects.get(eid="J2").street == streets["b"]
    assert Node.objects.get(eid="R1").street is None  # sources are not junctions


def test_a_premise_prefers_a_junction_on_its_own_street(streets):
    # Street A, nearer J2 (about 29 m) than J1 (about 67 m): attached to J1.
    own = streets["at"](streets["a"], 121.5517, 29.870)
    connection = _connection(own)
    assert connection.node.eid == "J1" and connection.match == ConnectionMatch.STREET
    assert 60 < connection.distance_m < 75
    # Street B next to J1: attached to J2, its street's junction.
    other = streets["at"](streets["b"], 121.5511, 29.870)
    assert _connection(other).node.eid == "J2"
    assert _connection(other).match == ConnectionMatch.STREET


def test_else_the_nearest_junction(streets):
    from qingquan.customers.tests.factories import premise

    no_junction = streets["at"](streets["c"], 121.5519, 29.870)  # street C has none
    connection = _connection(no_junction)
    assert connection.node.eid == "J2" and connection.match == ConnectionMatch.NEAREST
    no_street = premise(street=None, community=None, longitude=121.5511, latitude=29.870)
    assert _connection(no_street).node.eid == "J1"
    assert _connection(no_street).match == ConnectionMatch.NEAREST


def test_the_street_junction_only_within_the_limit(streets, settings):
    settings.NETWORK_CONNECTION_MAX_M = 50
    # Street A 29 m from J2 and 67 m from J1: J1 is out of reach, so J2 (nearest).
    far = streets["at"](streets["a"], 121.5517, 29.870)
    connection = _connection(far)
    assert connection.node.eid == "J2" and connection.match == ConnectionMatch.NEAREST
