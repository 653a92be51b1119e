"""The partner REST API: keys, scopes, rate limits, idempotency, cases, customers, bills."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from qingquan.core.actors import SYSTEM
from qingquan.partners import services
from qingquan.partners.models import ApiKey, IdempotencyRecord, PartnerCase
from qingquan.staff.roles import Role
from qingquan.tickets import services as ticket_services
from qingquan.tickets.models import Ticket

pytestmark = pytest.mark.django_db

BASE = "/api/partner/v1"
CASE = {"kind": "repair-leak", "subject": "小区门口漏水", "caller_phone": "13800001111"}


def post(api: Client, path: str, body: dict[str, Any], key: str = "k1", **extra: Any) -> Any:
    headers: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    headers.update(extra)
    return api.post(f"{BASE}{path}", json.dumps(body), content_type="application/json", **headers)


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body


def test_key_is_stored_hashed_and_authenticates(partner):
    client, plaintext = partner
    key = ApiKey.objects.get(client=client)
    assert plaintext.startswith(f"qq_{key.prefix}_")
    assert plaintext not in key.key_hash and len(key.key_hash) == 64
    assert services.authenticate(plaintext) == key
    assert services.authenticate(plaintext + "x") is None


def test_missing_wrong_and_revoked_keys_answer_401(partner, api):
    assert_error(Client().get(f"{BASE}/cases"), 401, "unauthorized")
    bad = Client(HTTP_AUTHORIZATION="Bearer qq_deadbeef_nope")
    assert_error(bad.get(f"{BASE}/cases"), 401, "unauthorized")
    assert api.get(f"{BASE}/cases").status_code == 200
    services.api_key_revoke(actor=SYSTEM, key=ApiKey.objects.get(client=partner[0]))
    assert_error(api.get(f"{BASE}/cases"), 401, "unauthorized")


def test_inactive_client_is_refused(partner, api):
    services.partner_client_update(actor=SYSTEM, client=partner[0], is_active=False)
    assert_error(api.get(f"{BASE}/cases"), 401)


def test_scopes_are_enforced(make_client):
    _client, key = make_client("reader", scopes=["cases:read"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get(f"{BASE}/cases").status_code == 200
    assert_error(post(api, "/cases", CASE), 403, "forbidden")
    assert_error(api.get(f"{BASE}/accounts/verify?account_number=1&phone=1"), 403)


def test_rate_limit_answers_429_with_retry_after(make_client):
    _client, key = make_client("small", rate_limit_per_minute=3)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    for _ in range(3):
        assert api.get(f"{BASE}/kinds").status_code == 200
    response = api.get(f"{BASE}/kinds")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60


def test_create_case_owned_by_the_inbox_owner(partner, api, inbox):
    response = post(api, "/cases", {**CASE, "external_id": "ZLB-1"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["external_id"] == "ZLB-1" and body["status"] == "open"
    assert body["created_at"].endswith("+08:00")
    ticket = Ticket.objects.get(number=body["number"])
    assert ticket.owner == inbox
    assert ticket.channel == "provincial"
    assert ticket.contacts.get().agent == inbox
    assert body["notes"][0]["action"] == "create"


def test_retry_with_same_key_replays_and_creates_one_case(api):
    first = post(api, "/cases", CASE, key="retry-1")
    second = post(api, "/cases", CASE, key="retry-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert first.json() == second.json()
    assert Ticket.objects.count() == 1


def test_same_key_different_body_is_422(api):
    assert post(api, "/cases", CASE, key="k").status_code == 201
    assert_error(
        post(api, "/cases", {**CASE, "subject": "别的"}, key="k"), 422, "idempotency_key_reused"
    )
    assert Ticket.objects.count() == 1


def test_idempotency_key_is_required(api):
    assert_error(post(api, "/cases", CASE, key=""), 422)
    assert Ticket.objects.count() == 0


def test_failed_create_stores_nothing_and_can_be_retried(api):
    assert_error(post(api, "/cases", {**CASE, "kind": "nope"}, key="x"), 404, "unknown_kind")
    assert not IdempotencyRecord.objects.exists()
    assert_error(post(api, "/cases", {**CASE, "account_number": "999"}, key="y"), 400)
    assert not Ticket.objects.exists() and not IdempotencyRecord.objects.exists()


def test_same_external_id_twice_is_one_case(api):
    first = post(api, "/cases", {**CASE, "external_id": "E1"}, key="a")
    second = post(api, "/cases", {**CASE, "external_id": "E1"}, key="b")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["number"] == second.json()["number"]
    assert PartnerCase.objects.count() == 1


def test_bad_input_is_4xx_in_one_error_format(api):
    assert_error(post(api, "/cases", {"kind": "repair-leak"}), 422, "invalid_request")
    assert_error(post(api, "/cases", {**CASE, "subject": ""}, key="z"), 422)
    response = api.post(
        f"{BASE}/cases", "{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="j"
    )
    assert 400 <= response.status_code < 500
    assert_error(api.get(f"{BASE}/cases?page=0"), 422)
    assert_error(api.get(f"{BASE}/cases?status=maybe"), 422)
    assert_error(api.get(f"{BASE}/cases?updated_since=0.5"), 422)
    assert_error(api.get(f"{BASE}/cases?created_from=2026-01-01T00:00:00"), 422)
    assert_error(api.get(f"{BASE}/cases/20990101-0001"), 404, "not_found")


def test_list_filters_and_pagination(api):
    for i in range(5):
        post(api, "/cases", {**CASE, "external_id": f"P{i}"}, key=f"p{i}")
    post(api, "/cases", {**CASE, "kind": "bill-amount", "external_id": "B"}, key="b")
    page = api.get(f"{BASE}/cases?page_size=2&page=2").json()
    assert page["count"] == 6 and page["page"] == 2 and len(page["items"]) == 2
    assert api.get(f"{BASE}/cases?kind=bill").json()["count"] == 1
    assert api.get(f"{BASE}/cases?kind=repair").json()["count"] == 5
    assert api.get(f"{BASE}/cases?external_id=P3").json()["items"][0]["external_id"] == "P3"
    assert api.get(f"{BASE}/cases?status=closed").json()["count"] == 0
    assert api.get(f"{BASE}/cases?created_from=2000-01-01T00:00:00%2B08:00").json()["count"] == 6


def test_a_client_sees_only_its_own_cases(api, make_client):
    number = post(api, "/cases", CASE).json()["number"]
    _other, key = make_client("wechat", channel="wechat")
    other = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert other.get(f"{BASE}/cases").json()["count"] == 0
    assert_error(other.get(f"{BASE}/cases/{number}"), 404)
    assert_error(post(other, f"/cases/{number}/notes", {"note": "x"}), 404)


def test_note_remind_and_reopen(api, inbox, org, make_user):
    number = post(api, "/cases", CASE).json()["number"]
    response = post(api, f"/cases/{number}/notes", {"note": "照片已补充"}, key="n1")
    assert response.status_code == 201
    ticket = Ticket.objects.get(number=number)
    assert ticket.contacts.count() == 2
    contacts = api.get(f"{BASE}/cases/{number}/contacts").json()
    assert [c["note"] for c in contacts][1] == "照片已补充"
    assert all(c["channel"] == "provincial" for c in contacts)
    assert ticket.events.filter(action="contact").exists()
    make_user(Role.DISPATCHER, department=org["repair"])
    # Nobody handles it yet: a reminder is a conflict, not a 500.
    assert_error(post(api, f"/cases/{number}/reminders", {}, key="r1"), 409)
    ticket_services.ticket_dispatch(
        actor=SYSTEM, ticket=ticket, version=None, department=org["repair"]
    )
    assert post(api, f"/cases/{number}/reminders", {"note": "请尽快"}, key="r2").status_code == 201
    assert Ticket.objects.get(number=number).reminder_count == 1
    # Reopening an open case is a conflict; after resolution it works.
    assert_error(post(api, f"/cases/{number}/reopen", {"reason": "没修好"}, key="o1"), 409)
    ticket_services.ticket_resolve(actor=SYSTEM, ticket=ticket, version=None, resolution="已修复")
    body = api.get(f"{BASE}/cases/{number}").json()
    assert body["status"] == "closed" and body["resolution"] == "已修复"
    response = post(api, f"/cases/{number}/reopen", {"reason": "没修好"}, key="o2")
    assert response.status_code == 201 and response.json()["state"] == "received"


def test_inbox_owner_must_be_able_to_own_cases(make_client, make_user):
    from qingquan.tickets.errors import InvalidInput

    with pytest.raises(InvalidInput):
        make_client("crewowned", intake_owner=make_user(Role.CREW))


def test_kinds_are_listed(api):
    codes = {k["code"] for k in api.get(f"{BASE}/kinds").json()}
    assert {"repair", "repair-burst", "bill"} <= codes


def test_openapi_is_published_at_a_stable_url():
    response = Client().get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/partner/v1/cases" in schema["paths"]
    assert "PartnerKeyAuth" in schema["components"]["securitySchemes"]


def test_old_idempotency_records_and_deliveries_are_purged(api):
    import datetime as dt

    from qingquan.core import clock

    post(api, "/cases", CASE, key="old")
    assert services.purge_old_records()["idempotency_records"] == 0
    later = clock.now() + dt.timedelta(days=31)
    assert services.purge_old_records(now=later)["idempotency_records"] == 1
    assert not IdempotencyRecord.objects.exists()
