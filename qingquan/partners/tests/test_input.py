"""Input on the partner API: the platform's rules (core.validation), refused with a 422
naming the field and its limit in the API's error format; never cut, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.partners import services
from qingquan.partners.errors import PartnerError
from qingquan.tickets.errors import TicketError
from qingquan.tickets.models import CaseKind, Contact, Ticket

pytestmark = pytest.mark.django_db

BASE = "/api/partner/v1"
CASE = {"kind": "repair-leak", "subject": "小区门口漏水"}


@pytest.fixture
def english_api(partner: tuple[Any, str]) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {partner[1]}", HTTP_ACCEPT_LANGUAGE="en")


def create(api: Client, body: str, key: str = "k1") -> Any:
    return api.post(
        f"{BASE}/cases", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


def invalid(response: Any, *words: str) -> str:
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    for word in words:
        assert word in error["message"], error["message"]
    return str(error["message"])


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("caller_phone", "abc", ("caller_phone",)),
        ("caller_phone", "1" * 21, ("caller_phone",)),
        ("caller_phone", "<b>13800138000</b>", ("caller_phone",)),
        ("caller_phone", "1" * 41, ("caller_phone", "40")),
        ("subject", "x" * 201, ("subject", "200")),
        ("description", "x" * 4001, ("description", "4000")),
        ("description", "x" * 1_000_000, ("description", "4000")),
        ("caller_name", "a\x00b", ("caller_name", "control")),
        ("description", "a\x00b", ("description", "control")),
        ("external_id", "e" * 101, ("external_id", "100")),
    ],
)
def test_bad_case_input_is_a_422_naming_the_field(
    english_api: Client, field: str, value: str, words: tuple[str, ...]
) -> None:
    message = invalid(create(english_api, json.dumps({**CASE, field: value})), *words)
    assert not message.startswith(f"{field}: {field}")  # named once
    assert not Ticket.objects.exists()


def test_a_lone_surrogate_is_a_422(english_api: Client) -> None:
    body = json.dumps(CASE)[:-1] + ', "description": "\\ud800"}'
    invalid(create(english_api, body), "description")


def test_full_width_digits_are_read_and_the_number_stored_e164(english_api: Client) -> None:
    body = json.dumps({**CASE, "caller_phone": "１３８　００１３　８０００"}, ensure_ascii=False)
    assert create(english_api, body).status_code == 201
    assert Ticket.objects.get().caller_phone == "+8613800138000"
    assert Contact.objects.get().from_address == "+8613800138000"


@pytest.mark.parametrize(
    "query",
    [
        "page=9223372036854775808",
        "page=100001",
        "page_size=9223372036854775808",
        "created_from=9999-12-31T23:59:59-14:00",
        "updated_since=0001-01-01T00:00:00%2B14:00",
        "external_id=a%00b",
    ],
)
def test_list_parameters_out_of_range_are_422(english_api: Client, query: str) -> None:
    invalid(english_api.get(f"{BASE}/cases?{query}"))


def test_the_service_refuses_what_it_used_to_cut(partner: tuple[Any, str]) -> None:
    """Open311 and any later caller of the intake service meet the same rules."""
    kind = CaseKind.objects.get(code="repair")
    extras: list[dict[str, Any]] = [
        {"media_url": "https://example.com/" + "x" * 500},
        {"address_id": "a" * 101},
        {"external_id": "e" * 101},
        {"caller_phone": "abc"},
    ]
    for extra in extras:
        with pytest.raises((TicketError, PartnerError)):
            services.partner_case_create(client=partner[0], kind=kind, subject="s", **extra)
    assert not Ticket.objects.exists()
    case, _ = services.partner_case_create(client=partner[0], kind=kind, subject="s")
    with pytest.raises(TicketError):
        services.partner_case_note(client=partner[0], number=case.ticket.number, note="x" * 4001)
