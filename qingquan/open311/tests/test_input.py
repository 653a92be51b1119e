"""Open311 input: the platform's rules (core.validation) in the spec's error format, the
api_key in the body or the query string, and a property test over every GET and POST:
whatever is sent, the answer is never a 5xx and an error is always the spec's body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingquan.partners.models import PartnerCase
from qingquan.tickets.models import Ticket

pytestmark = pytest.mark.django_db

V2 = "/open311/v2"
BASE = {"service_code": "repair-leak", "address_string": "中山西路 1 号"}


@pytest.fixture
def web() -> Client:
    return Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def key(make_client: Any) -> str:
    # A limit no property test reaches (429 is a fine answer, but would hide the rest).
    return make_client("fuzz", rate_limit_per_minute=100_000)[1]


def error(response: Any, status: int, *words: str) -> str:
    assert response.status_code == status, response.content
    body = json.loads(response.content)
    assert isinstance(body, list) and body and set(body[0]) == {"code", "description"}
    assert body[0]["code"] == status
    for word in words:
        assert word in body[0]["description"], body[0]["description"]
    return str(body[0]["description"])


def submit(web: Client, **fields: Any) -> Any:
    return web.post(f"{V2}/requests.json", fields)


@pytest.mark.parametrize(
    "query",
    [
        "start_date=9999-12-31T23:59:59-14:00",
        "end_date=9999-12-31T23:59:59%2B14:00",
        "start_date=0001-01-01T00:00:00%2B14:00",
        "start_date=2026-13-45T00:00:00%2B08:00",
        "end_date=1900-01-01T00:00:00%2B08:00",
    ],
)
def test_far_or_impossible_dates_are_a_400(web: Client, query: str) -> None:
    error(web.get(f"{V2}/requests.json?{query}"), 400)
    assert web.get(f"{V2}/requests.xml?{query}").status_code == 400


def test_api_key_in_the_query_string_is_accepted(web: Client, key: str) -> None:
    response = web.post(f"{V2}/requests.json?api_key={key}", BASE)
    assert response.status_code == 201, response.content
    created = json.loads(response.content)
    # GeoReport v2: one or the other; the case exists at once, so its id and no token.
    assert set(created[0]) == {"service_request_id", "service_notice", "account_id"}
    assert Ticket.objects.filter(number=created[0]["service_request_id"]).exists()
    error(web.post(f"{V2}/requests.json?api_key=qq_bad", BASE), 403)


def test_a_description_over_4000_characters_is_a_400(web: Client, key: str) -> None:
    error(submit(web, api_key=key, **BASE, description="x" * 4001), 400, "description", "4000")
    error(submit(web, api_key=key, **BASE, description="x" * 1_000_000), 400, "description")
    assert not Ticket.objects.exists()
    text = "第一行\n" + "x" * 3996
    assert submit(web, api_key=key, **BASE, description=text).status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.description == text and ticket.subject == "第一行"


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("media_url", "https://example.com/" + "x" * 500, ("media_url", "500")),
        ("email", "not-an-email", ("email",)),
        ("email", "a@b", ("email",)),
        ("phone", "abc", ("phone",)),
        ("phone", "1" * 21, ("phone",)),
        ("phone", "<b>13800138000</b>", ("phone",)),
        ("description", "a\x00b", ("description", "control")),
        ("first_name", "名" * 61, ("first_name", "60")),
        ("address_string", "路" * 201, ("address_string", "200")),
        ("address_id", "a" * 101, ("address_id", "100")),
    ],
)
def test_bad_fields_are_a_400_naming_them(
    web: Client, key: str, field: str, value: str, words: tuple[str, ...]
) -> None:
    error(submit(web, api_key=key, **{**BASE, field: value}), 400, *words)
    assert not Ticket.objects.exists()


def test_full_width_phone_is_stored_e164_and_a_long_first_line_is_shortened_visibly(
    web: Client, key: str
) -> None:
    line = "长" * 250
    response = submit(web, api_key=key, **BASE, phone="１３８００１３８０００", description=line)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.caller_phone == "+8613800138000"
    assert ticket.description.startswith(line)  # the description itself is whole
    assert len(ticket.subject) == 200 and ticket.subject.endswith("…")


# -- the property test ---------------------------------------------------------------------

# What a hostile or careless client sends: any text (no lone surrogates: form encoding is
# UTF-8), control characters, huge numbers, far dates, long strings.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
NASTY = st.sampled_from(
    [
        "",
        "\x00",
        "a\x1bb",
        "9" * 30,
        "-1",
        "1e400",
        "nan",
        "inf",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "2026-11-28T09:00:00+08:00",
        "2026-02-30T09:00:00+08:00",
        "x" * 5000,
        "open,closed",
        "repair,repair-leak",
        ",".join(["repair"] * 200),
        "１３８００１３８０００",
        "<b>13800138000</b>",
        "a@b",
        "https://example.com/a.jpg",
    ]
)
VALUE = st.one_of(ANY_TEXT, NASTY)
GET_PARAMS = ["service_request_id", "service_code", "start_date", "end_date", "status"]
POST_PARAMS = [
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
    "attribute[account_number]",
    "attribute[contact_preference]",
    "jurisdiction_id",
]
FORMAT = st.sampled_from(["json", "xml"])
PATH_PART = st.from_regex(r"\A[-\w]{1,40}\Z")
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


def no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert response.content.lstrip(b"\n").startswith((b"[", b"<?xml")), response.content


@PROPERTY
@given(
    fmt=FORMAT,
    params=st.dictionaries(st.sampled_from([*GET_PARAMS, "jurisdiction_id"]), VALUE),
    part=PATH_PART,
)
def test_gets_never_answer_5xx(web: Client, key: str, fmt: str, params: Any, part: str) -> None:
    for url in (
        f"{V2}/requests.{fmt}",
        f"{V2}/requests/{part}.{fmt}",
        f"{V2}/tokens/{part}.{fmt}",
        f"{V2}/services/{part}.{fmt}",
        f"{V2}/services.{fmt}",
        f"/open311/discovery.{fmt}",
    ):
        no_server_error(web.get(url, params))


@PROPERTY
@given(
    fmt=FORMAT,
    fields=st.dictionaries(st.sampled_from(POST_PARAMS), VALUE),
    key_in_query=st.booleans(),
)
def test_posts_never_answer_5xx(
    web: Client, key: str, fmt: str, fields: dict[str, str], key_in_query: bool
) -> None:
    url = f"{V2}/requests.{fmt}" + (f"?api_key={key}" if key_in_query else "")
    body = {**BASE, **fields} if fields.get("service_code") == "" else {**fields}
    if not key_in_query:
        body["api_key"] = key
    before = PartnerCase.objects.count()
    response = web.post(url, body)
    no_server_error(response)
    if response.status_code == 201:
        assert PartnerCase.objects.count() == before + 1
        ticket = PartnerCase.objects.latest("pk").ticket
        # Nothing cut: what was described is stored whole.
        assert body.get("description", "").strip() in ticket.description
