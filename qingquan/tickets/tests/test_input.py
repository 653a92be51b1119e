"""Input at the staff edges (API and the HTML forms that open cases): refused with a 4xx
naming the field and its limit, never a 500 and never cut (core.validation)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.console import selectors as console_selectors
from qingquan.tickets.models import Contact, Ticket

from .conftest import sh

pytestmark = pytest.mark.django_db

CASE = {"kind": "repair-leak", "channel": "wechat", "subject": "漏水", "address": "天童南路1号"}


def client_for(user: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def create(client: Client, body: str) -> Any:
    return client.post("/api/v1/tickets/", body, content_type="application/json")


def refused(response: Any, *words: str) -> str:
    assert response.status_code == 422, response.content
    text = json.dumps(response.json(), ensure_ascii=False)
    for word in words:
        assert word in text, text
    return text


def test_a_lone_surrogate_in_the_subject_is_a_422_not_a_500(people: Any) -> None:
    api = client_for(people["agent"])
    # JSON may carry an escaped lone surrogate, which no database can store.
    body = json.dumps(CASE)[:-1] + ', "subject": "\\ud800"}'
    refused(create(api, body), "subject")
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("subject", "x" * 201, ("subject", "200")),
        ("caller_name", "名" * 61, ("caller_name", "60")),
        ("address", "路" * 201, ("address", "200")),
        ("description", "x" * 4001, ("description", "4000")),
        ("description", "x" * 1_000_000, ("description", "4000")),
        ("caller_phone", "1" * 41, ("caller_phone", "40")),
        ("subject", "a\x00b", ("subject", "control")),
        ("description", "a\x00b", ("description", "control")),
        ("caller_phone", "abc", ("caller_phone",)),
        ("caller_phone", "1" * 21, ("caller_phone",)),
        ("caller_phone", "<b>13800138000</b>", ("caller_phone",)),
    ],
)
def test_bad_case_input_is_refused_naming_the_field(
    people: Any, field: str, value: str, words: tuple[str, ...]
) -> None:
    api = client_for(people["agent"])
    refused(create(api, json.dumps({**CASE, field: value})), *words)
    assert not Ticket.objects.exists()


def test_input_at_its_limit_is_stored_whole_and_the_phone_as_e164(at: Any, people: Any) -> None:
    at(sh(2026, 3, 2, 9))
    api = client_for(people["supervisor"])
    payload = {
        **CASE,
        "subject": "主" * 200,
        "description": "第一行\n\t第二行" + "x" * 3990,
        "caller_phone": "１３８００１３８０００",
    }
    response = create(api, json.dumps(payload))
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.subject == "主" * 200 and ticket.description == payload["description"]
    assert ticket.caller_phone == "+8613800138000"
    # A supervisor sees the national form; the opening contact holds the same number.
    assert response.json()["caller_phone"] == "13800138000"
    assert Contact.objects.get().from_address == "+8613800138000"


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "offset=99999999999999999999999",
        "offset=-1",
        "offset=1000001",
        "limit=9223372036854775808",
        "created_from=9999-12-31T23:59:59-14:00",
        "created_to=0001-01-01T00:00:00%2B14:00",
        "q=a%00b",
    ],
)
def test_list_parameters_out_of_range_are_422(people: Any, query: str) -> None:
    response = client_for(people["agent"]).get(f"/api/v1/tickets/?{query}")
    assert response.status_code == 422, response.content


def test_other_lists_bound_their_paging(people: Any) -> None:
    api = client_for(people["supervisor"])
    for url in (
        "/api/v1/tickets/contacts?limit=9223372036854775808",
        "/api/v1/tickets/kpis?start=2026-01-01T00:00:00%2B08:00&end=9999-12-31T23:59:59-14:00",
    ):
        assert api.get(url).status_code == 422, url
    assert api.get("/api/v1/tickets/?offset=1000000").status_code == 200


def test_notes_and_reasons_follow_the_same_rules(people: Any, new_case: Any) -> None:
    case = new_case()
    api = client_for(people["agent"])
    url = f"/api/v1/tickets/{case.number}/remind"
    for note, word in (("x" * 4001, "4000"), ("\ud800", ""), ("a\x00", "control")):
        body = json.dumps({"version": case.version})[:-1] + ", " + json.dumps({"note": note})[1:]
        body = body.replace("\\\\ud800", "\\ud800")
        refused(api.post(url, body, content_type="application/json"), "note", word)


def test_staff_api_schema_and_docs_need_a_login(people: Any) -> None:
    for path in ("/api/v1/openapi.json", "/api/v1/docs"):
        response = Client().get(path)
        assert response.status_code == 302 and "/login/" in response["Location"], path
        assert client_for(people["agent"]).get(path).status_code == 200, path


def test_the_new_case_form_refuses_instead_of_cutting(people: Any) -> None:
    web = client_for(people["agent"])
    web.cookies["django_language"] = "en"  # pages ignore Accept-Language
    form = {**CASE, "channel": "phone"}
    response = web.post("/cases/new/", {**form, "subject": "x" * 201})
    assert response.status_code == 200 and "at most 200 characters" in response.content.decode()
    response = web.post("/cases/new/", {**form, "caller_phone": "abc"})
    assert "caller_phone" in response.content.decode()
    assert not Ticket.objects.exists()
    response = web.post("/cases/new/", {**form, "caller_phone": "0574-87654321"})
    assert response.status_code == 302
    assert Ticket.objects.get().caller_phone == "+8657487654321"


def test_cases_stored_e164_are_found_by_the_callers_number(people: Any, new_case: Any) -> None:
    mobile = new_case(caller_phone="13912345678")
    landline = new_case(caller_phone="0574-87654321")
    old = new_case(caller_phone="13700001111")
    # A row from before the input rules holds the national digits: still found.
    Ticket.objects.filter(pk=old.pk).update(caller_phone="13700001111")
    agent = people["agent"]
    for text, case in (
        ("13912345678", mobile),
        ("057487654321", landline),
        ("87654321", landline),
        ("13700001111", old),
    ):
        found = list(console_selectors.case_search(user=agent, text=text))
        assert case in found, text
    pop = console_selectors.screen_pop(user=agent, query="13912345678")
    assert pop.query == "13912345678"
