"""The counter (issue 19 item 9): staff take a walk-in customer's case at a named location
with the customer's signature (a canvas PNG) when needed; counts by location."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.test import Client

from qingquan.portal.models import CounterCase, LocationKind, ServiceLocation
from qingquan.tickets.models import Contact, Ticket

pytestmark = pytest.mark.django_db

# A 1 × 1 PNG, as a canvas's toDataURL gives it.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture
def halls(db: Any) -> list[ServiceLocation]:
    return [
        ServiceLocation.objects.create(
            name="海曙营业厅", kind=LocationKind.HALL, address="药行街1号"
        ),
        ServiceLocation.objects.create(
            name="市行政服务中心水务窗口", kind=LocationKind.GOV_CENTRE, address="宁穿路1901号"
        ),
    ]


def form(location: ServiceLocation, **extra: Any) -> dict[str, Any]:
    return {
        "location": location.pk,
        "kind": "bill-amount",
        "subject": "水费比上月高",
        "caller_name": "王建国",
        "caller_phone": "13811112222",
        **extra,
    }


def test_a_walk_in_case_with_a_signature(client: Client, agent: Any, halls: Any) -> None:
    client.force_login(agent)
    r = client.post("/counter/", form(halls[1], needs_signature="1", signature=DATA_URL))
    assert r.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "counter" and ticket.address == "宁穿路1901号"
    row = CounterCase.objects.get(ticket=ticket)
    assert row.location == halls[1] and row.taken_by == agent
    assert row.signature.read() == PNG
    contact = Contact.objects.get(tickets=ticket)
    assert contact.channel == "counter" and contact.note == "市行政服务中心水务窗口"
    picture = client.get(f"/counter/signatures/{row.pk}.png")
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"


def test_a_needed_signature_that_is_missing_or_not_a_png_is_refused(
    client: Client, agent: Any, halls: Any
) -> None:
    client.force_login(agent)
    r = client.post("/counter/", form(halls[0], needs_signature="1"))
    assert r.status_code == 200 and "签名" in r.content.decode()
    fake = "data:image/png;base64," + base64.b64encode(b"GIF89a....").decode()
    r = client.post("/counter/", form(halls[0], signature=fake))
    assert r.status_code == 200
    r = client.post("/counter/", form(halls[0], signature="data:image/png;base64,!!!"))
    assert r.status_code == 200
    r = client.post("/counter/", {**form(halls[0]), "location": "x"})
    assert r.status_code == 200
    assert not Ticket.objects.exists() and not CounterCase.objects.exists()
    # Without a signature when none is needed: fine.
    assert client.post("/counter/", form(halls[0])).status_code == 302
    assert CounterCase.objects.get().signature.name == ""


def test_counts_by_location(client: Client, agent: Any, supervisor: Any, halls: Any) -> None:
    client.force_login(agent)
    for hall in (halls[0], halls[0], halls[1]):
        assert client.post("/counter/", form(hall)).status_code == 302
    assert client.get("/counter/by-location/").status_code == 403
    client.force_login(supervisor)
    page = client.get("/counter/by-location/").content.decode()
    assert page.index("海曙营业厅") < page.index("市行政服务中心水务窗口")
    assert 'data-testid="counter-total">3<' in page
    empty = client.get("/counter/by-location/?start=2020-01-01&end=2020-01-31").content.decode()
    assert 'data-testid="counter-total">0<' in empty


def test_only_staff_who_take_cases_use_the_counter(
    client: Client, make_user: Any, halls: Any
) -> None:
    client.force_login(make_user("crew"))
    assert client.post("/counter/", form(halls[0])).status_code == 403
    assert not Ticket.objects.exists()
