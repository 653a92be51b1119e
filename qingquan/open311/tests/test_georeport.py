"""Open311 GeoReport v2 conformance, written from the specification, in XML and JSON.

Every method (discovery, services, service definition, POST/GET requests, GET request,
tokens), every error case of each, jurisdiction_id, the 90-day / 1000 defaults, and the
datetime format (ISO 8601 with offset).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import time_machine
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.open311 import georeport
from qingquan.partners.models import PartnerCase
from qingquan.tickets import services as ticket_services
from qingquan.tickets.models import Ticket

pytestmark = pytest.mark.django_db

V2 = "/open311/v2"
FORMATS = ["json", "xml"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def parse(response: Any, fmt: str) -> Any:
    """The body as Python: JSON as is; XML as lists of dicts following the spec's shape."""
    if fmt == "json":
        assert response["Content-Type"].startswith("application/json")
        return json.loads(response.content)
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return to_python(ET.fromstring(response.content))


LISTS = {"services", "service_requests", "errors", "attributes", "values", "endpoints", "formats"}


def to_python(element: ET.Element) -> Any:
    if element.tag in LISTS:
        return [to_python(child) for child in element]
    children = list(element)
    if not children:
        return element.text or ""
    return {child.tag: to_python(child) for child in children}


def errors_of(response: Any, fmt: str, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.content
    body = parse(response, fmt)
    assert isinstance(body, list) and body
    for error in body:
        assert set(error) == {"code", "description"}
        assert str(error["code"]) == str(status)
        assert error["description"]
    return body


def submit(client: Client, fmt: str, **fields: Any) -> Any:
    return client.post(f"{V2}/requests.{fmt}", fields)


@pytest.fixture
def key(partner: tuple[Any, str]) -> str:
    return partner[1]


@pytest.fixture
def web() -> Client:
    return Client(enforce_csrf_checks=True)


# -- discovery and services --------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(web, fmt):
    response = web.get(f"/open311/discovery.{fmt}")
    assert response.status_code == 200
    body = parse(response, fmt)
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2/")
    assert endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_are_case_kinds(web, fmt):
    body = parse(web.get(f"{V2}/services.{fmt}"), fmt)
    by_code = {s["service_code"]: s for s in body}
    assert {"repair", "repair-burst", "bill", "complaint"} <= set(by_code)
    burst = by_code["repair-burst"]
    assert set(burst) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert burst["service_name"] == "爆管" and burst["group"] == "报修"
    assert burst["metadata"] == "true" and burst["type"] == "realtime"


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_has_attributes(web, fmt):
    body = parse(web.get(f"{V2}/services/repair-leak.{fmt}"), fmt)
    assert body["service_code"] == "repair-leak"
    attributes = {a["code"]: a for a in body["attributes"]}
    assert set(attributes) == {"account_number", "contact_preference"}
    for attribute in attributes.values():
        assert {
            "variable",
            "code",
            "datatype",
            "required",
            "datatype_description",
            "order",
            "description",
        } <= set(attribute)
    choice = attributes["contact_preference"]
    assert choice["datatype"] == "singlevaluelist"
    assert {v["key"] for v in choice["values"]} == {"phone", "sms", "none"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_service_code_is_404(web, fmt):
    errors_of(web.get(f"{V2}/services/no-such-thing.{fmt}"), fmt, 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_jurisdiction_id(web, fmt):
    ok = web.get(f"{V2}/services.{fmt}", {"jurisdiction_id": georeport.JURISDICTION})
    assert ok.status_code == 200
    errors_of(web.get(f"{V2}/services.{fmt}", {"jurisdiction_id": "chicago.gov"}), fmt, 404)


def test_unsupported_format_is_not_served(web):
    assert web.get(f"{V2}/services.yaml").status_code == 404


# -- POST requests -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_request_creates_a_case(web, key, inbox, fmt):
    response = submit(
        web,
        fmt,
        api_key=key,
        service_code="repair-leak",
        lat="29.8683",
        long="121.5440",
        address_string="海曙区中山西路 1 号",
        description="人行道下漏水\n已经两天",
        first_name="小明",
        last_name="王",
        phone="13800001111",
        email="wang@example.com",
        media_url="https://example.com/leak.jpg",
        **{"attribute[contact_preference]": "sms", "attribute[account_number]": ""},
    )
    assert response.status_code == 201, response.content
    created = parse(response, fmt)
    assert len(created) == 1
    request_id = created[0]["service_request_id"]
    # GeoReport v2: one or the other; the case exists at once, so the id and no token.
    assert set(created[0]) == {"service_request_id", "service_notice", "account_id"}
    ticket = Ticket.objects.get(number=request_id)
    assert ticket.owner == inbox and ticket.channel == "provincial"
    assert ticket.caller_name == "王 小明" and ticket.subject == "人行道下漏水"
    # The e-mail address is kept apart from the text, never appended to it.
    assert "wang@example.com" not in ticket.description
    partner_case = PartnerCase.objects.get(ticket=ticket)
    assert partner_case.submitter_email == "wang@example.com"
    assert partner_case.public_description == "人行道下漏水\n已经两天"
    assert partner_case.public_address == "海曙区中山西路 1 号"
    assert partner_case.source == "open311"
    assert partner_case.attributes == {"contact_preference": "sms"}
    assert ticket.caller_phone == "+8613800001111"  # stored E.164
    # The case's token still resolves to the request.
    token = partner_case.token
    assert parse(web.get(f"{V2}/tokens/{token}.{fmt}"), fmt) == [
        {"service_request_id": request_id, "token": token}
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_errors(web, key, make_client, fmt):
    base = {"api_key": key, "service_code": "repair-leak", "address_string": "中山西路 1 号"}

    def without(name: str) -> dict[str, Any]:
        return {k: v for k, v in base.items() if k != name}

    errors_of(submit(web, fmt, **without("api_key")), fmt, 403)
    errors_of(submit(web, fmt, **{**base, "api_key": "qq_bad_key"}), fmt, 403)
    _c, no_scope = make_client("reader", scopes=["cases:read"])
    errors_of(submit(web, fmt, **{**base, "api_key": no_scope}), fmt, 403)
    errors_of(submit(web, fmt, **without("service_code")), fmt, 400)
    errors_of(submit(web, fmt, **{**base, "service_code": "nope"}), fmt, 404)
    errors_of(submit(web, fmt, **without("address_string")), fmt, 400)
    errors_of(submit(web, fmt, **without("address_string"), lat="29.8"), fmt, 400)
    errors_of(submit(web, fmt, **without("address_string"), lat="x", long="1"), fmt, 400)
    errors_of(submit(web, fmt, **without("address_string"), lat="91", long="1"), fmt, 400)
    errors_of(submit(web, fmt, **{**base, "attribute[contact_preference]": "fax"}), fmt, 400)
    errors_of(submit(web, fmt, **{**base, "attribute[account_number]": "12a"}), fmt, 400)
    errors_of(submit(web, fmt, **{**base, "attribute[account_number]": "999999"}), fmt, 400)
    errors_of(submit(web, fmt, **{**base, "media_url": "ftp://x"}), fmt, 400)
    errors_of(submit(web, fmt, **{**base, "jurisdiction_id": "elsewhere"}), fmt, 404)
    assert not Ticket.objects.exists()
    # Location by address_id alone is enough.
    assert submit(web, fmt, **without("address_string"), address_id="NB-001").status_code == 201


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_is_rate_limited(web, make_client, fmt):
    _c, small = make_client("small", rate_limit_per_minute=1)
    fields = {"api_key": small, "service_code": "repair", "address_id": "A1"}
    assert submit(web, fmt, **fields).status_code == 201
    response = submit(web, fmt, **fields)
    errors_of(response, fmt, 429)
    assert int(response["Retry-After"]) >= 1


# -- GET requests ------------------------------------------------------------------------


def make_requests(web: Client, key: str, count: int, code: str = "repair-leak") -> list[str]:
    ids = []
    for i in range(count):
        response = submit(web, "json", api_key=key, service_code=code, address_id=f"A{i}")
        ids.append(json.loads(response.content)[0]["service_request_id"])
    return ids


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_request_fields_and_status(web, key, org, fmt):
    [request_id] = make_requests(web, key, 1)
    [item] = parse(web.get(f"{V2}/requests/{request_id}.{fmt}"), fmt)
    for name in (
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    ):
        assert name in item
    assert item["status"] == "open" and item["service_code"] == "repair-leak"
    assert ISO.match(item["requested_datetime"]) and ISO.match(item["expected_datetime"])
    ticket = Ticket.objects.get(number=request_id)
    ticket = ticket_services.ticket_dispatch(
        actor=SYSTEM, ticket=ticket, version=None, department=org["repair"]
    )
    ticket_services.ticket_resolve(
        actor=SYSTEM, ticket=ticket, version=None, resolution="阀门已更换"
    )
    [item] = parse(web.get(f"{V2}/requests/{request_id}.{fmt}"), fmt)
    assert item["status"] == "closed"
    assert item["status_notes"] == "阀门已更换"
    assert item["agency_responsible"] == org["repair"].name
    assert ISO.match(item["updated_datetime"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_unknown_request_is_404(web, fmt):
    errors_of(web.get(f"{V2}/requests/20990101-0001.{fmt}"), fmt, 404)
    errors_of(web.get(f"{V2}/tokens/deadbeef.{fmt}"), fmt, 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_filters(web, key, org, fmt):
    leaks = make_requests(web, key, 2)
    bursts = make_requests(web, key, 1, code="repair-burst")
    url = f"{V2}/requests.{fmt}"
    ids = lambda params: {r["service_request_id"] for r in parse(web.get(url, params), fmt)}  # noqa: E731
    assert ids({}) == {*leaks, *bursts}
    assert ids({"service_code": "repair-burst"}) == set(bursts)
    assert ids({"service_code": "repair-burst,repair-leak"}) == {*leaks, *bursts}
    assert ids({"service_request_id": f"{leaks[0]},{bursts[0]}"}) == {leaks[0], bursts[0]}
    # With ids, the other parameters are ignored.
    assert ids({"service_request_id": leaks[0], "service_code": "repair-burst"}) == {leaks[0]}
    ticket = Ticket.objects.get(number=leaks[1])
    ticket_services.ticket_resolve(actor=SYSTEM, ticket=ticket, version=None, resolution="好")
    assert ids({"status": "closed"}) == {leaks[1]}
    assert ids({"status": "open"}) == {leaks[0], *bursts}
    assert ids({"status": "open,closed"}) == {*leaks, *bursts}
    assert ids({"start_date": "2099-01-01T00:00:00+08:00"}) == set()
    assert ids({"end_date": "2000-01-01T00:00:00Z"}) == set()
    errors_of(web.get(url, {"status": "pending"}), fmt, 400)
    errors_of(web.get(url, {"start_date": "yesterday"}), fmt, 400)
    errors_of(web.get(url, {"start_date": "2026-01-01T00:00:00"}), fmt, 400)  # no offset
    errors_of(
        web.get(url, {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}),
        fmt,
        400,
    )
    errors_of(web.get(url, {"service_code": "nope"}), fmt, 404)


def test_get_requests_defaults_to_the_last_90_days(web, key):
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        [old] = make_requests(web, key, 1)
    [new] = make_requests(web, key, 1)
    listed = {r["service_request_id"] for r in json.loads(web.get(f"{V2}/requests.json").content)}
    assert new in listed and old not in listed
    # An explicit start_date reaches further back.
    listed = {
        r["service_request_id"]
        for r in json.loads(
            web.get(f"{V2}/requests.json", {"start_date": "2026-05-01T00:00:00+08:00"}).content
        )
    }
    assert {old, new} <= listed


def test_get_requests_returns_at_most_1000(web, key, monkeypatch):
    monkeypatch.setattr(georeport, "MAX_REQUESTS", 3)
    make_requests(web, key, 4)
    assert len(json.loads(web.get(f"{V2}/requests.json").content)) == 3


def test_only_open311_requests_are_public(web, partner, new_phone_case=None):
    from qingquan.partners import services
    from qingquan.tickets.models import CaseKind

    pc, _ = services.partner_case_create(
        client=partner[0], kind=CaseKind.objects.get(code="bill"), subject="API case"
    )
    assert json.loads(web.get(f"{V2}/requests.json").content) == []
    errors_of(web.get(f"{V2}/requests/{pc.ticket.number}.json"), "json", 404)


def test_methods_not_allowed(web):
    assert web.post(f"{V2}/services.json").status_code == 405
    assert web.delete(f"{V2}/requests.json").status_code == 405
