"""The staff pages and the online hall's pages: forms refuse bad input with a message
(nothing written), the owner's actions, another applicant's number is a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from qingquan.connections.models import Application, AppState, FeeItem
from qingquan.payments.models import OrderStatus
from qingquan.portal.tests.conftest import portal_login

from .conftest import a_uscc, document, sh

pytestmark = pytest.mark.django_db


def form(**overrides: Any) -> dict[str, Any]:
    data = {
        "applicant_kind": "enterprise",
        "applicant_name": "宁波清泉餐饮有限公司",
        "phone": "13900002222",
        "document_kind": "licence",
        "document_number": a_uscc(),
        "address": "宁波市海曙区药行街99号",
        "use": "business",
        "m3_per_day": "5",
        "pipe_mm": "25",
        "channel": "counter",
    }
    data.update(overrides)
    return data


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_counter_form_refuses_two_documents_and_a_wrong_code(people: Any) -> None:
    client = logged_in(people["agent"])
    r = client.post("/connections/new/", {**form(), "document": [document(), document("b.pdf")]})
    assert r.status_code == 200
    assert "Only one document" in r.content.decode() or "只需一件材料" in r.content.decode()
    r = client.post(
        "/connections/new/", {**form(document_number="91330203MA2AAAAAA1"), "document": document()}
    )
    assert r.status_code == 200 and not Application.objects.exists()
    r = client.post("/connections/new/", {**form(), "document": document()})
    assert r.status_code == 302
    app = Application.objects.get()
    assert app.channel == "counter" and app.manager.role == "customer_manager"


def test_manager_walks_the_application_to_water_on(at: Any, people: Any, apply: Any) -> None:
    at(sh(2026, 3, 2, 9))
    app = apply()
    manager, engineer = logged_in(people["manager"]), logged_in(people["engineer"])
    page = manager.get("/connections/")
    assert app.number in page.content.decode()
    assert manager.get(f"/connections/{app.number}/").status_code == 200
    assert logged_in(people["manager2"]).get(f"/connections/{app.number}/").status_code == 404
    base = f"/connections/{app.number}/act"
    # The engineer does not own the first step: refused with a message, nothing moves.
    engineer.post(f"{base}/step/", {"version": app.version})
    app.refresh_from_db()
    assert app.step == 1
    manager.post(f"{base}/step/", {"version": app.version, "engineer": people["engineer"].pk})
    app.refresh_from_db()
    assert app.step == 2
    item = FeeItem.objects.get(code="tap")
    engineer.post(f"{base}/quote/", {"version": app.version, f"qty-{item.pk}": "1"})
    app.refresh_from_db()
    manager.post(f"{base}/sign/", {"version": app.version, "signer": "钱总", "provider": "alipay"})
    quote = app.quote
    quote.refresh_from_db()
    assert quote.order is not None and quote.order.provider == "alipay"
    r = manager.get(f"/connections/{app.number}/contract.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    # The sandbox cashier pays; the notify resumes the clock.
    Client().post(f"/payments/sandbox/{quote.order.out_trade_no}/")
    quote.order.refresh_from_db()
    assert quote.order.status == OrderStatus.PAID
    app.refresh_from_db()
    assert app.deadline is not None
    engineer.post(f"{base}/step/", {"version": app.version, "note": "已开栓"})
    app.refresh_from_db()
    assert app.state == AppState.WATER_ON
    r = manager.get(f"/connections/{app.number}/document/")
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")  # type: ignore[attr-defined]


def test_portal_applicant_applies_and_follows(at: Any, people: Any) -> None:
    client = portal_login(Client())
    r = client.get("/portal/connections/new/")
    assert r.status_code == 200
    r = client.post(
        "/portal/connections/new/",
        {**form(phone="", document_number="123"), "document": document()},
    )
    assert r.status_code == 200 and not Application.objects.exists()
    r = client.post("/portal/connections/new/", {**form(), "document": document()})
    assert r.status_code == 302
    app = Application.objects.get()
    assert app.channel == "portal" and app.resident is not None
    assert app.phone == "+8613911112222"  # the verified login number
    page = client.get(f"/portal/connections/{app.number}/").content.decode()
    assert app.number in page and app.manager.get_full_name() in page
    other = portal_login(Client(), phone="13911113333")
    assert other.get(f"/portal/connections/{app.number}/").status_code == 404


def test_api_lists_with_clocks_and_refuses_a_step_by_a_non_owner(
    at: Any, people: Any, apply: Any
) -> None:
    at(sh(2026, 3, 2, 9))
    app = apply()
    manager = logged_in(people["manager"])
    r = manager.get("/api/v1/connections/")
    assert r.status_code == 200
    item = r.json()["items"][0]
    assert item["number"] == app.number and item["waiting_on"] == "utility"
    assert item["budget_working_days"] == 2.0
    r = logged_in(people["engineer"]).post(
        f"/api/v1/connections/{app.number}/step",
        {"version": app.version},
        content_type="application/json",
    )
    assert r.status_code == 404  # not among the engineer's applications yet
    r = manager.post(
        f"/api/v1/connections/{app.number}/step",
        {"version": app.version + 5, "engineer_id": people["engineer"].pk},
        content_type="application/json",
    )
    assert r.status_code == 409
    r = manager.post(
        f"/api/v1/connections/{app.number}/step",
        {"version": app.version, "engineer_id": people["engineer"].pk},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["step"] == 2
    r = manager.post(
        f"/api/v1/connections/{app.number}/step",
        {"version": r.json()["version"]},
        content_type="application/json",
    )
    assert r.status_code == 403
