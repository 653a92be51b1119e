"""Fixtures for the dispatch tests: the case tests' organisation, people and helpers, plus
crews with depots and a small network."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from qingquan.staff.roles import Role
from qingquan.tickets.tests.conftest import (  # noqa: F401  (fixtures shared with the case tests)
    at,
    commit_hooks,
    english,
    immediate_tasks,
    kind,
    new_case,
    org,
    people,
)


@pytest.fixture
def crews(
    org: dict[str, Any],  # noqa: F811 (the imported fixture, requested)
    people: dict[str, Any],  # noqa: F811
    make_user: Callable[..., Any],
) -> dict[str, Any]:
    """Two crews: 海曙 (large mains, valves; depot near the test premises) and 江北 (meters,
    night; depot about 5 km north), each with a member."""
    from qingquan.dispatch.models import Crew

    haishu = Crew.objects.create(
        team=org["crew"],
        skills=["large_mains", "valves"],
        vehicle="浙B·A1234",
        depot_longitude=121.551,
        depot_latitude=29.861,
    )
    jiangbei = Crew.objects.create(
        team=org["crew2"],
        skills=["meters", "night"],
        vehicle="浙B·B5678",
        depot_longitude=121.55,
        depot_latitude=29.905,
    )
    member2 = make_user(Role.CREW, department=org["repair"], team=org["crew2"])
    return {"haishu": haishu, "jiangbei": jiangbei, "member": people["crew"], "member2": member2}


@pytest.fixture
def located_case(new_case: Callable[..., Any]) -> Callable[..., Any]:  # noqa: F811
    """A repair case at a premise with coordinates (the small network's area)."""
    from qingquan.customers.tests.factories import premise

    def make(
        code: str = "repair-burst", lon: float = 121.5515, lat: float = 29.8701, **kwargs: Any
    ) -> Any:
        place = premise(longitude=lon, latitude=lat)
        return new_case(code, premise=place, address=place.address, **kwargs)

    return make
