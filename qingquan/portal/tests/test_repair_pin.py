"""The repair report's map pin (issue 19 item 3): optional beside the typed address,
checked on the server against the service area (the pipes' extent with a margin, the
configured box, or the city's), refused outside it with a clear message in both
languages and nothing written; a pin inside places the repair on the network as the
staff's form does. The public map gets the service area's outline, never the pipes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from qingquan.network.models import CaseLocation, LocationSource
from qingquan.network.selectors import in_service_area, public_pin_config, service_area
from qingquan.network.tests.helpers import import_small
from qingquan.tickets.models import Ticket

pytestmark = pytest.mark.django_db
ON_P2 = (121.5515, 29.87002)
BEIJING = (116.40, 39.90)


def report(client: Client, lon: float | str, lat: float | str, **extra: Any) -> Any:
    data = {"kind": "repair-burst", "address": "", "longitude": lon, "latitude": lat}
    return client.post("/portal/repair/", {**data, **extra})


def config_of(page: str) -> dict[str, Any]:
    found = re.search(r'<script id="pin-config" type="application/json">(.*?)</script>', page)
    assert found
    return dict(json.loads(found.group(1)))


def test_a_pin_outside_the_service_area_is_refused_in_both_languages(
    resident_client: Client,
) -> None:
    r = report(resident_client, *BEIJING)
    assert r.status_code == 200 and "超出" in r.content.decode()
    resident_client.cookies["django_language"] = "en"
    r = report(resident_client, *BEIJING)
    assert "outside our service area" in r.content.decode()
    assert not Ticket.objects.exists()
    # Not a number / out of range: refused by the form or the service, nothing written.
    assert report(resident_client, "abc", "29.8").status_code == 200
    assert report(resident_client, 500, 29.8).status_code == 200
    assert not Ticket.objects.exists()


def test_a_pin_inside_is_enough_without_an_address(resident_client: Client) -> None:
    assert service_area() == (120.88, 28.85, 122.30, 30.55)  # no network: the city's box
    r = report(resident_client, 121.5497, 29.8642, description="路边冒水")
    assert r.status_code == 302
    ticket = Ticket.objects.get()
    assert "29.864200" in ticket.description and ticket.address == ""
    location = CaseLocation.objects.get(ticket=ticket)
    assert location.source == LocationSource.PIN and location.pipe is None


def test_with_a_network_the_pin_is_placed_on_the_nearest_pipe(
    resident_client: Client, tmp_path: Any
) -> None:
    import_small(tmp_path)
    w, s, e, n = service_area()
    assert w < ON_P2[0] < e and s < ON_P2[1] < n and e - w < 0.2
    assert not in_service_area(121.0, 29.5)  # in Ningbo, far from every pipe
    assert report(resident_client, 121.0, 29.5).status_code == 200
    assert not Ticket.objects.exists()
    r = report(resident_client, *ON_P2, address="解放南路")
    assert r.status_code == 302
    location = CaseLocation.objects.get(ticket=Ticket.objects.get())
    assert location.pipe is not None and location.pipe.eid == "P2"
    # The resident's map: the service area's outline, never the pipes.
    page = resident_client.get("/portal/repair/").content.decode()
    cfg = config_of(page)
    assert cfg["geojson"] is None and cfg["area"] == [w, s, e, n]
    assert 'data-testid="pin-map"' in page and "network_pin_map" not in page
    assert cfg == json.loads(json.dumps(public_pin_config()))


def test_the_configured_service_area(resident_client: Client, settings: Any) -> None:
    settings.QINGQUAN_SERVICE_AREA = (121.4, 29.7, 121.7, 30.0)
    assert report(resident_client, 121.2, 29.8).status_code == 200
    assert report(resident_client, 121.55, 29.87).status_code == 302
    assert Ticket.objects.count() == 1
